/**
 * The failure of a command: a one-line message for stderr and the process' exit code.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A command's failure, reported as `maf-events: <message>` on stderr, exiting with `exitCode`
 * (1: the work could not be done; 2: the command line is wrong).
 *
 * @since 0.1.0
 * @category errors
 */
export class CliError extends Data.TaggedError("CliError")<{
  readonly message: string
  readonly exitCode: 1 | 2
}> {}

/**
 * A usage error (exit code 2).
 *
 * @since 0.1.0
 * @category constructors
 */
export const usage = (message: string): CliError => new CliError({ message, exitCode: 2 })

/**
 * A failure to do the work (exit code 1).
 *
 * @since 0.1.0
 * @category constructors
 */
export const failed = (message: string): CliError => new CliError({ message, exitCode: 1 })
