/**
 * A backend for the publisher's tests: the in-memory backend behind an `append` whose every call is
 * recorded (its bodies, whether it is still running, how it ended) and answered as the test's script
 * says: written and answered at once, or written at once and answered after a delay (by the fiber's
 * `Clock`: the `TestClock` in tests), held until the test releases it, failed, hung for ever, or
 * written in part and then failed with `StreamBackendError { written, ids }`, as a pipeline cut in
 * the middle of a batch would.
 *
 * Writes happen in the order of the calls, as on the one connection of the Redis backend (a late
 * answer is a reply in transit, not a write put off: two writes put off to the same instant of the
 * `TestClock` would land in the order its sleeps wake, not the calls').
 */
import { MemoryStreamBackend, StreamBackend } from "@maf/events"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

type Outcome =
  | { readonly _tag: "Write" }
  | { readonly _tag: "WriteAnswerLate"; readonly delay: Duration.Duration }
  | { readonly _tag: "Fail"; readonly reason: StreamBackend.StreamBackendErrorReason }
  | {
      readonly _tag: "WritePartThenFail"
      readonly written: number
      readonly reason: StreamBackend.StreamBackendErrorReason
      readonly withIds: boolean
    }
  | { readonly _tag: "Hang" }

/** What one append does: wait (a delay, the release), then its outcome. */
export interface Answer {
  readonly delay: Duration.Duration | undefined
  readonly held: boolean
  readonly outcome: Outcome
}

const answer = (outcome: Outcome, delay?: Duration.DurationInput, held = false): Answer => ({
  delay: delay === undefined ? undefined : Duration.decode(delay),
  held,
  outcome
})

/** The answers an append can be given. */
export const Answer = {
  /** Writes every body at once. */
  write: answer({ _tag: "Write" }),
  /** Writes every body at once, and answers after `delay` (by the fiber's clock). */
  answerLate: (delay: Duration.DurationInput) =>
    answer({ _tag: "WriteAnswerLate", delay: Duration.decode(delay) }),
  /** Waits until the test calls `release`, then writes every body. */
  hold: answer({ _tag: "Write" }, undefined, true),
  /** Never answers (until interrupted). */
  hang: answer({ _tag: "Hang" }),
  /** Fails at once with `reason`, nothing written. */
  fail: (reason: StreamBackend.StreamBackendErrorReason) => answer({ _tag: "Fail", reason }),
  /** Fails after `delay` with `reason`, nothing written. */
  failAfter: (delay: Duration.DurationInput, reason: StreamBackend.StreamBackendErrorReason) =>
    answer({ _tag: "Fail", reason }, delay),
  /**
   * Writes the first `written` bodies, then fails with `reason`, saying `written` and (unless
   * `withIds` is false) the ids of what it wrote.
   */
  writePartThenFail: (
    written: number,
    reason: StreamBackend.StreamBackendErrorReason,
    options: { readonly withIds: boolean } = { withIds: true }
  ) => answer({ _tag: "WritePartThenFail", written, reason, withIds: options.withIds })
} as const

/** One call of `append`, as the backend saw it. */
export interface AppendCall {
  readonly bodies: ReadonlyArray<string>
  /** `undefined` while the call runs. */
  ended: "written" | "failed" | "interrupted" | undefined
}

export interface ScriptedBackend {
  /** The port, to give to `EventBus.make`. */
  readonly backend: StreamBackend.StreamBackendService
  /** The memory behind it: what was written. */
  readonly memory: MemoryStreamBackend.MemoryStreamBackendService
  /** Every call of `append`, in the order they started. */
  readonly calls: ReadonlyArray<AppendCall>
  /** The answers of the next calls, in order (taken as they start). */
  readonly script: Array<Answer>
  /** The answer of every call once `script` is used up. */
  otherwise: Answer
  /** Appends running now, and the most that ran at once. */
  readonly running: () => number
  readonly maxRunning: () => number
  /** Lets the held appends (and every later one given `Answer.hold`) go on. */
  readonly release: Effect.Effect<void>
}

/** The error message of a scripted failure. */
export const failureMessage = (reason: StreamBackend.StreamBackendErrorReason) => `scripted ${reason}`

export const make = (
  options: { readonly script?: ReadonlyArray<Answer>; readonly otherwise?: Answer } = {}
): Effect.Effect<ScriptedBackend> =>
  Effect.gen(function* () {
    const memory = yield* MemoryStreamBackend.make
    const gate = yield* Effect.makeLatch(false)
    const calls: Array<AppendCall> = []
    let running = 0
    let maxRunning = 0

    const run = (
      stream: string,
      bodies: ReadonlyArray<string>,
      appendOptions: StreamBackend.AppendOptions,
      outcome: Outcome
    ): Effect.Effect<ReadonlyArray<string>, StreamBackend.StreamBackendError> => {
      switch (outcome._tag) {
        case "Write":
          return memory.append(stream, bodies, appendOptions)
        case "WriteAnswerLate":
          return Effect.zipLeft(memory.append(stream, bodies, appendOptions), Effect.sleep(outcome.delay))
        case "Hang":
          return Effect.never
        case "Fail":
          return Effect.fail(
            new StreamBackend.StreamBackendError({
              reason: outcome.reason,
              message: failureMessage(outcome.reason)
            })
          )
        case "WritePartThenFail":
          return Effect.flatMap(
            memory.append(stream, bodies.slice(0, outcome.written), appendOptions),
            (ids) =>
              Effect.fail(
                new StreamBackend.StreamBackendError({
                  reason: outcome.reason,
                  message: failureMessage(outcome.reason),
                  written: ids.length,
                  ...(outcome.withIds ? { ids } : {})
                })
              )
          )
      }
    }

    const scripted: ScriptedBackend = {
      memory,
      calls,
      script: [...(options.script ?? [])],
      otherwise: options.otherwise ?? Answer.write,
      running: () => running,
      maxRunning: () => maxRunning,
      release: gate.open,
      backend: {
        ...memory,
        append: (stream, bodies, appendOptions) =>
          Effect.suspend(() => {
            const call: AppendCall = { bodies: [...bodies], ended: undefined }
            calls.push(call)
            running++
            maxRunning = Math.max(maxRunning, running)
            const { delay, held, outcome } = scripted.script.shift() ?? scripted.otherwise
            let effect = run(stream, bodies, appendOptions, outcome)
            if (delay !== undefined) effect = Effect.delay(effect, delay)
            if (held) effect = Effect.zipRight(gate.await, effect)
            return Effect.onExit(effect, (exit) =>
              Effect.sync(() => {
                running--
                call.ended =
                  exit._tag === "Success"
                    ? "written"
                    : Cause.isInterruptedOnly(exit.cause)
                      ? "interrupted"
                      : "failed"
              })
            )
          })
      }
    }
    return scripted
  })
