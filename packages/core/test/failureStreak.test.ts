/**
 * The failure streak's logging, on its own: the first failure logged with the streak's rules, then a
 * line at most every 100 failures and 5 s (by the fiber's clock) counting what it stands for, the
 * recovery once with the streak's length, and every line annotated with what the caller gave.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as TestClock from "effect/TestClock"
import * as FailureStreak from "../src/internal/failureStreak.js"

interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Record<string, unknown>
}

const captureLines = () => {
  const lines: Array<Line> = []
  const logger = Logger.make(({ annotations, logLevel, message }) => {
    lines.push({
      level: logLevel.label,
      message: Array.isArray(message) ? message.join(" ") : String(message),
      annotations: Object.fromEntries(HashMap.toEntries(annotations))
    })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

const failTimes = (streak: FailureStreak.FailureStreak, n: number) =>
  Effect.forEach(Array.from({ length: n }), () => streak.failure("boom"), { discard: true })

describe("FailureStreak", () => {
  it.effect("the first failure is one warning saying how the streak will be logged, annotated", () =>
    Effect.gen(function* () {
      const logs = captureLines()
      const streak = FailureStreak.make("Thing work", { stream: "s" })
      yield* streak.failure("boom").pipe(Effect.provide(logs.layer))
      expect(logs.lines).toEqual([
        {
          level: "WARN",
          message:
            "Thing work failed: boom (while it goes on failing, a line at most every 100 failures and 5 s)",
          annotations: { stream: "s", failures: 1 }
        }
      ])
      expect(streak.current()).toBe(1)
    })
  )

  it.effect("100 more failures at the same instant make no line, however late the streak began", () =>
    Effect.gen(function* () {
      const logs = captureLines()
      const streak = FailureStreak.make("Thing work", {})
      // The clock far from 0: the interval is measured from the streak's last line, not from 0.
      yield* TestClock.adjust("60 seconds")
      yield* failTimes(streak, 201).pipe(Effect.provide(logs.layer))
      expect(logs.lines.map((l) => l.message)).toEqual([
        "Thing work failed: boom (while it goes on failing, a line at most every 100 failures and 5 s)"
      ])
    })
  )

  it.effect("after 5 s and 100 failures, a line counting the failures it stands for, annotated", () =>
    Effect.gen(function* () {
      const logs = captureLines()
      const streak = FailureStreak.make("Thing work", { stream: "s" })
      yield* TestClock.adjust("60 seconds")
      yield* streak.failure("boom").pipe(Effect.provide(logs.layer))
      yield* failTimes(streak, 149).pipe(Effect.provide(logs.layer))
      yield* TestClock.adjust("5 seconds")
      yield* streak.failure("still boom").pipe(Effect.provide(logs.layer))
      expect(logs.lines.slice(1)).toEqual([
        {
          level: "WARN",
          message: "Thing work still failing after 151 attempts (150 since the last line): still boom",
          annotations: { stream: "s", failures: 151, suppressed: 149 }
        }
      ])
    })
  )

  it.effect("the recovery is logged once with the streak's length, annotated, and the count restarts", () =>
    Effect.gen(function* () {
      const logs = captureLines()
      const streak = FailureStreak.make("Thing work", { stream: "s" })
      yield* failTimes(streak, 3).pipe(Effect.provide(logs.layer))
      yield* streak.success.pipe(Effect.provide(logs.layer))
      yield* streak.success.pipe(Effect.provide(logs.layer))
      expect(logs.lines.slice(1)).toEqual([
        {
          level: "INFO",
          message: "Thing work recovered after 3 failures",
          annotations: { stream: "s", failures: 3 }
        }
      ])
      expect(streak.current()).toBe(0)
    })
  )

  it.effect("a success without a streak logs nothing (no 'recovered after 0 failures')", () =>
    Effect.gen(function* () {
      const logs = captureLines()
      const streak = FailureStreak.make("Thing work", {})
      yield* streak.success.pipe(Effect.provide(logs.layer))
      expect(logs.lines).toEqual([])
    })
  )
})
