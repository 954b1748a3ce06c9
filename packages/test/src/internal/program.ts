/**
 * Runs a program to completion (`redis-cli --cluster create`, `openssl`), with its output kept for
 * the error message when it fails.
 *
 * @internal
 */
import * as Command from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { errorMessage, live, RedisTestServerError, type RedisTestServerErrorReason } from "./redisNode.js"

const collectText = <E>(stream: Stream.Stream<Uint8Array, E>): Effect.Effect<string, E> =>
  stream.pipe(
    Stream.decodeText(),
    Stream.runFold("", (all, text) => all + text)
  )

/**
 * Runs `executable args…` in `cwd` and succeeds with its standard output; a non-zero exit, a spawn
 * failure or the time-out fails with `reason` and the program's output.
 */
export const runProgram = (
  executable: string,
  args: ReadonlyArray<string>,
  options: {
    readonly cwd?: string | undefined
    readonly reason: RedisTestServerErrorReason
    readonly timeout?: Duration.DurationInput | undefined
  }
): Effect.Effect<string, RedisTestServerError, CommandExecutor.CommandExecutor> => {
  const timeout = Duration.decode(options.timeout ?? "30 seconds")
  const what = `${executable} ${args.slice(0, 2).join(" ")}`
  const command = Command.make(executable, ...args).pipe(
    options.cwd === undefined ? (self) => self : Command.workingDirectory(options.cwd)
  )
  return live(
    Effect.scoped(
      Effect.gen(function* () {
        const process = yield* Command.start(command)
        const [stdout, stderr, exitCode] = yield* Effect.all(
          [collectText(process.stdout), collectText(process.stderr), process.exitCode],
          { concurrency: 3 }
        )
        if (exitCode !== 0) {
          return yield* new RedisTestServerError({
            reason: options.reason,
            message: `${what} exited with code ${exitCode}:\n${`${stdout}\n${stderr}`.trim()}`
          })
        }
        return stdout
      })
    ).pipe(
      Effect.catchTag("SystemError", "BadArgument", (cause) =>
        Effect.fail(
          new RedisTestServerError({
            reason: options.reason,
            message: `${what} failed: ${errorMessage(cause)}`,
            cause
          })
        )
      ),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new RedisTestServerError({
            reason: options.reason,
            message: `${what} did not finish within ${Duration.format(timeout)}`
          })
      })
    )
  )
}
