/**
 * `consume --exec`: a shell command run for one entry (`/bin/sh -c <command>`), the entry's JSON
 * line on its standard input. Its standard output is the command's own (inherited); its standard
 * error is passed on to ours as it comes, and its last line kept for the failure's text.
 *
 * The command runs in a process group of its own: a Ctrl+C at the terminal reaches `maf-events`
 * alone, which lets running commands finish (the drain), and a command stopped early (the drain's
 * deadline passed, `--exec-timeout`, or its entry taken over by another member) is stopped with
 * whatever it started: `SIGTERM` to its group, `SIGKILL` {@link killGraceMillis} later if it is
 * still there.
 *
 * @since 0.2.0
 */
import { spawn } from "node:child_process"
import * as Effect from "effect/Effect"

/**
 * How a command ended.
 *
 * @since 0.2.0
 * @category models
 */
export interface Ended {
  /** The exit code; `null` when a signal ended it. */
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  /** The last non-empty line it wrote to standard error, trimmed and cut to {@link maxErrorLine}. */
  readonly lastErrorLine: string | undefined
}

/**
 * The longest error line kept, in characters.
 *
 * @since 0.2.0
 * @category constants
 */
export const maxErrorLine = 400

/**
 * How long a command stopped early is given between `SIGTERM` and `SIGKILL`, in milliseconds.
 *
 * @since 0.2.0
 * @category constants
 */
export const killGraceMillis = 2_000

/** What is kept of standard error to find its last line. */
const stderrKept = 8_192

const lastLine = (text: string): string | undefined => {
  const line = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .at(-1)
  return line === undefined || line.length <= maxErrorLine ? line : `${line.slice(0, maxErrorLine - 1)}…`
}

/**
 * The failure's text of a command that did not succeed (`undefined` when it exited 0): `exit code 3:
 * <last stderr line>`, or `killed by SIGKILL` (with the line, when there is one).
 *
 * @since 0.2.0
 * @category getters
 */
export const describeFailure = (ended: Ended): string | undefined => {
  if (ended.code === 0) return undefined
  const how = ended.code !== null ? `exit code ${ended.code}` : `killed by ${ended.signal ?? "a signal"}`
  return ended.lastErrorLine === undefined ? how : `${how}: ${ended.lastErrorLine}`
}

/**
 * Runs `command` through `/bin/sh -c` with `input` on its standard input and `env` added to ours;
 * succeeds with how it ended (a spawn failure is an exit code 127 with its reason). Interrupted, it
 * stops the command and its group (`SIGTERM`, then `SIGKILL`) and waits for it to end.
 *
 * @since 0.2.0
 * @category running
 */
export const run = (
  command: string,
  input: string,
  env: Readonly<Record<string, string>>
): Effect.Effect<Ended> =>
  Effect.async<Ended>((resume) => {
    const child = spawn("/bin/sh", ["-c", command], {
      env: { ...process.env, ...env },
      stdio: ["pipe", "inherit", "pipe"],
      detached: true
    })
    let stderr = ""
    let closed = false
    const closeWaiters: Array<() => void> = []
    child.stderr!.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk)
      stderr = (stderr + chunk.toString("utf8")).slice(-stderrKept)
    })
    // A command that does not read its input (or exits first) closes the pipe: not a failure.
    child.stdin!.on("error", () => {})
    child.stdin!.end(input)
    child.on("error", (error) => {
      if (closed) return
      closed = true
      resume(Effect.succeed({ code: 127, signal: null, lastErrorLine: lastLine(error.message) }))
    })
    child.on("close", (code, signal) => {
      const first = !closed
      closed = true
      for (const waiter of closeWaiters.splice(0)) waiter()
      if (first) resume(Effect.succeed({ code, signal, lastErrorLine: lastLine(stderr) }))
    })
    const signalGroup = (signal: NodeJS.Signals) => {
      if (closed || child.pid === undefined) return
      try {
        process.kill(-child.pid, signal)
      } catch {
        // The group is gone already.
      }
    }
    return Effect.async<void>((ended) => {
      if (closed) return ended(Effect.void)
      closeWaiters.push(() => ended(Effect.void))
      signalGroup("SIGTERM")
      const timer = setTimeout(() => signalGroup("SIGKILL"), killGraceMillis)
      closeWaiters.push(() => clearTimeout(timer))
    })
  })
