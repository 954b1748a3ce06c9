/**
 * The built `maf-events` executable run as a real process, for the command tests.
 */

import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

export const binPath = fileURLToPath(new URL("../../dist/bin.js", import.meta.url))

export const assertBuilt = () => {
  if (!existsSync(binPath)) {
    throw new Error(`${binPath} is missing: build first (npx tsc -b tsconfig.json), then run the tests`)
  }
}

/** Every output of every process, to check that no secret ever shows. */
export const allOutput: Array<string> = []

export interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

export class Timeout extends Data.TaggedError("Timeout")<{ readonly message: string }> {}

/** A running process: its output so far, a wait on a condition of it, its end. */
export interface Running {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly lines: () => Array<string>
  readonly until: (
    what: string,
    condition: () => boolean,
    timeout?: Duration.DurationInput
  ) => Effect.Effect<void, Timeout>
  readonly exit: Effect.Effect<Finished, Timeout>
}

const baseEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" }
  delete env.REDIS_URL
  delete env.FORCE_COLOR
  return env
}

/** Starts a command; `stdin: "pipe"` gives it a standard input to write to (`child.stdin`). */
export const start = (
  args: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv = {},
  stdin: "ignore" | "pipe" = "ignore"
): Effect.Effect<Running, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const started = Date.now()
      const child = spawn(process.execPath, [binPath, ...args], {
        env: { ...baseEnv(), ...env },
        stdio: [stdin, "pipe", "pipe"]
      })
      let out = ""
      let err = ""
      const listeners = new Set<() => void>()
      const changed = () => {
        for (const listener of listeners) listener()
      }
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk
        changed()
      })
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
        err += chunk
        changed()
      })
      const done = yield* Deferred.make<Finished>()
      child.on("close", (code) => {
        allOutput.push(out, err)
        Deferred.unsafeDone(
          done,
          Effect.succeed({ code, stdout: out, stderr: err, millis: Date.now() - started })
        )
        changed()
      })
      const until = (
        what: string,
        condition: () => boolean,
        timeout: Duration.DurationInput = "20 seconds"
      ) =>
        Effect.async<void>((resume) => {
          const check = () => {
            if (condition()) {
              listeners.delete(check)
              resume(Effect.void)
            }
          }
          listeners.add(check)
          check()
          return Effect.sync(() => listeners.delete(check))
        }).pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new Timeout({ message: `timed out waiting for ${what}\nstdout:\n${out}\nstderr:\n${err}` })
          })
        )
      const running: Running = {
        child,
        stdout: () => out,
        stderr: () => err,
        lines: () => out.split("\n").filter((l) => l !== ""),
        until,
        exit: Deferred.await(done).pipe(
          Effect.timeoutFail({
            duration: Duration.seconds(30),
            onTimeout: () =>
              new Timeout({ message: `the process did not exit\nstdout:\n${out}\nstderr:\n${err}` })
          })
        )
      }
      return running
    }),
    (running) =>
      Effect.sync(() => {
        if (running.child.exitCode === null && running.child.signalCode === null)
          running.child.kill("SIGKILL")
      })
  )

/** Runs a command to its end. */
export const run = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}) =>
  Effect.scoped(Effect.flatMap(start(args, env), (running) => running.exit))
