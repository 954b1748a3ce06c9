/**
 * The `maf-events` command: `tail`, `publish`, `consume`, `group`, `dead-letters`, `demo` and
 * `serve`, built with `@effect/cli`, and
 * how failures are reported (one line on stderr, an exit code; never a stack trace for an expected
 * failure, never a password).
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import { CliError } from "./CliError.js"
import * as ConsumeCommand from "./ConsumeCommand.js"
import * as DeadLettersCommand from "./DeadLettersCommand.js"
import * as DemoCommand from "./DemoCommand.js"
import * as GroupCommand from "./GroupCommand.js"
import * as PublishCommand from "./PublishCommand.js"
import * as RedisUrl from "./RedisUrl.js"
import * as ServeCommand from "./ServeCommand.js"
import * as TailCommand from "./TailCommand.js"

/**
 * The version printed by `--version`.
 *
 * @since 0.1.0
 * @category constants
 */
export const version = "0.1.0"

/**
 * The command tree.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("maf-events").pipe(
  Command.withDescription(
    "Tail, publish, consume in groups, demo and a live dashboard for @maf/events streams on Redis."
  ),
  Command.withSubcommands([
    TailCommand.command,
    PublishCommand.command,
    ConsumeCommand.command,
    GroupCommand.command,
    DeadLettersCommand.command,
    DemoCommand.command,
    ServeCommand.command
  ])
)

/**
 * Log lines on stderr (standard output is for results), one line each, credentials removed. The
 * reader's notices about single entries (an unknown kind, a malformed entry: annotated with their
 * `streamId`) are left out: `tail` and the dashboard show those entries themselves.
 *
 * @since 0.1.0
 * @category logging
 */
export const logger: Logger.Logger<unknown, void> = Logger.make(({ annotations, logLevel, message }) => {
  if (HashMap.has(annotations, "streamId")) return
  const parts = Array.isArray(message) ? message : [message]
  const text = parts.map((m) => (typeof m === "string" ? m : Cause.isCause(m) ? Cause.pretty(m) : String(m)))
  process.stderr.write(`maf-events: ${logLevel.label.toLowerCase()}: ${RedisUrl.scrub(text.join(" "))}\n`)
})

/**
 * Reports a failure and gives the exit code: a `CliError` as its message (its code), a command-line
 * error (printed by `@effect/cli` already) as 2, anything else as an unexpected error (1).
 *
 * @since 0.1.0
 * @category running
 */
export const report = (cause: Cause.Cause<unknown>): Effect.Effect<number> =>
  Effect.sync(() => {
    if (Cause.isInterruptedOnly(cause)) return 130
    const failure = Option.getOrUndefined(Cause.failureOption(cause))
    if (failure instanceof CliError) {
      process.stderr.write(`maf-events: ${RedisUrl.scrub(failure.message)}\n`)
      return failure.exitCode
    }
    if (ValidationError.isValidationError(failure)) return ValidationError.isHelpRequested(failure) ? 0 : 2
    process.stderr.write(`maf-events: unexpected error: ${RedisUrl.scrub(Cause.pretty(cause))}\n`)
    return 1
  })

const cli = Command.run(command, { name: "maf-events", version })

/**
 * Runs the command line (`process.argv`) and succeeds with the exit code.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>) =>
  cli(argv).pipe(
    Effect.as(0),
    Effect.catchAllCause(report),
    Logger.withMinimumLogLevel(LogLevel.Info),
    Effect.provide(Logger.replace(Logger.defaultLogger, logger))
  )
