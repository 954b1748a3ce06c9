/**
 * What the bus says, word for word: the message of each `NotWritten` reason (closed, the outbox
 * full, a bound run out before the event was sent, no answer, an event that cannot be encoded, a
 * waiting event dropped to make room) and the log lines beside them: the first line of the publish
 * failures' streak, the first line of the dropped fire-and-forget events' streak (the bus closed,
 * the buffer full, the oldest dropped, an event that cannot be encoded) and its recovery. On the
 * scripted backend under the `TestClock` (`helpers/publisherKit.ts`).
 */
import { describe, expect, it } from "@effect/vitest"
import type { EventBus } from "@maf/events"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { captureLogs } from "./helpers/logs.js"
import { answerNow, busOn, event, forkPublish, letFibersRun, occupy } from "./helpers/publisherKit.js"
import { Answer, make as scriptedBackend } from "./helpers/scriptedBackend.js"

/** The lines logged while `effect` runs, each with its annotations. */
const logged = <A, E, R>(effect: (lines: Array<string>) => Effect.Effect<A, E, R>) => {
  const logs = captureLogs({ annotations: true })
  return effect(logs.lines).pipe(Effect.provide(logs.layer))
}

const streak = "(while it goes on failing, a line at most every 100 failures and 5 s)"

/** The first line of a failure streak of the bus on `stream`. */
const firstFailure = (
  what: "EventBus publish" | "EventBus buffer (full, dropping events)",
  stream: string,
  text: string
) => `WARN ${what} failed: ${text} ${streak} ${JSON.stringify({ failures: 1, stream })}`

const notWritten = (reason: string, message: string) => ({ _tag: "NotWritten", reason, message })

/** An input whose `ts` getter throws `thrown`: an event that cannot be made, nor encoded. */
const unreadable = (thrown: unknown) => ({
  kind: "llm.call",
  get ts(): string {
    throw thrown
  }
})

/** A bus whose outbox holds `capacity` events in flight (one held batch) on `stream`. */
const occupied = (stream: string, capacity: number, options: Partial<EventBus.Options> = {}) =>
  Effect.gen(function* () {
    const scripted = yield* scriptedBackend({ otherwise: Answer.hold })
    const bus = yield* busOn(scripted, { stream, bufferCapacity: capacity, batchSize: capacity, ...options })
    yield* occupy(bus, scripted, capacity)
    return { scripted, bus }
  })

describe("what the bus says, word for word", () => {
  it.effect('closed: publish answers "the bus is closed"; publishNowait drops it, and says so once', () =>
    logged((lines) =>
      Effect.gen(function* () {
        const stream = "words-closed"
        const scripted = yield* scriptedBackend()
        const scope = yield* Scope.make()
        const bus = yield* busOn(scripted, { stream }).pipe(Scope.extend(scope))
        yield* Scope.close(scope, Exit.void)
        expect(yield* bus.publish(event("late"))).toEqual(notWritten("Closed", "the bus is closed"))
        expect(yield* bus.publishNowait(event("late-nowait"))).toBe(false)
        expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
          firstFailure("EventBus publish", stream, "Closed: the bus is closed"),
          firstFailure("EventBus buffer (full, dropping events)", stream, "the bus is closed")
        ])
      })
    )
  )

  it.scoped("the outbox full: an awaited publish is answered Overloaded with the capacity, not queued", () =>
    Effect.gen(function* () {
      const { bus } = yield* occupied("words-full", 3)
      for (const label of ["w0", "w1", "w2"]) yield* bus.publishNowait(event(label))
      const answer = yield* bus.publish(event("late"))
      expect(answer).toEqual(
        notWritten("Overloaded", "the outbox is full (3 events waiting or in flight): not written")
      )
    })
  )

  it.scoped(
    "a bound that runs out before the event was sent: NotSent, saying why (a burst, or events before it unwritten)",
    () =>
      Effect.gen(function* () {
        const { bus } = yield* occupied("words-not-sent", 3, { publishTimeout: "2 seconds" })
        const waiting = yield* forkPublish(bus, "waiting")
        yield* TestClock.adjust("2 seconds")
        expect(yield* Fiber.join(waiting)).toEqual(
          notWritten(
            "NotSent",
            "the bound of 2000 ms ran out while it waited to be sent (a burst, or events published before it still unwritten): not written"
          )
        )
      })
  )

  it.scoped("sent and not answered within the bound: Timeout, with the bound in ms", () =>
    logged((lines) =>
      Effect.gen(function* () {
        const stream = "words-timeout"
        const scripted = yield* scriptedBackend({ otherwise: Answer.hang })
        const bus = yield* busOn(scripted, { stream, publishTimeout: "1500 millis" })
        // The first goes straight to the backend; the second waits behind it and is sent with the
        // next batch, which hangs too.
        const first = yield* forkPublish(bus, "first")
        const second = yield* forkPublish(bus, "second")
        yield* TestClock.adjust("1500 millis")
        expect(yield* Fiber.join(first)).toEqual(notWritten("Timeout", "no answer within 1500 ms"))
        yield* TestClock.adjust("1500 millis")
        expect(yield* Fiber.join(second)).toEqual(notWritten("Timeout", "no answer within 1500 ms"))
        expect(lines.filter((line) => line.startsWith("WARN"))[0]).toBe(
          firstFailure("EventBus publish", stream, "Timeout: no answer within 1500 ms")
        )
      })
    )
  )

  it.scoped(
    "an event that cannot be encoded: Rejected, with what was thrown; dropped, and said, without waiting",
    () =>
      logged((lines) =>
        Effect.gen(function* () {
          const stream = "words-unencodable"
          const scripted = yield* scriptedBackend()
          const bus = yield* busOn(scripted, { stream })
          expect(yield* bus.publish(unreadable(new Error("no secret here")))).toEqual(
            notWritten("Rejected", "the event could not be encoded: no secret here")
          )
          expect(yield* bus.publish(unreadable("a bare string"))).toEqual(
            notWritten("Rejected", "the event could not be encoded: a bare string")
          )
          expect(yield* bus.publishNowait(unreadable(new Error("no secret here")))).toBe(false)
          expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
            firstFailure(
              "EventBus publish",
              stream,
              "Rejected: the event could not be encoded: no secret here"
            ),
            firstFailure(
              "EventBus buffer (full, dropping events)",
              stream,
              "the event could not be encoded: no secret here"
            )
          ])
          expect(scripted.calls).toEqual([])
        })
      )
  )

  it.scoped(
    'the buffer full under "dropNewest": the event dropped and said with the capacity; the first event taken again says the recovery',
    () =>
      logged((lines) =>
        Effect.gen(function* () {
          const stream = "words-drop-newest"
          const { scripted, bus } = yield* occupied(stream, 3)
          for (const label of ["w0", "w1", "w2"]) expect(yield* bus.publishNowait(event(label))).toBe(true)
          expect(yield* bus.publishNowait(event("dropped-1"))).toBe(false)
          expect(yield* bus.publishNowait(event("dropped-2"))).toBe(false)
          scripted.otherwise = Answer.write
          yield* scripted.release
          yield* bus.flush
          expect(yield* bus.publishNowait(event("again"))).toBe(true)
          expect(lines).toEqual([
            firstFailure("EventBus buffer (full, dropping events)", stream, "buffer full (3 events)"),
            `INFO EventBus buffer (full, dropping events) recovered after 2 failures ${JSON.stringify({ failures: 2, stream })}`
          ])
        })
      )
  )

  it.scoped(
    'the buffer full under "dropOldest": the oldest event dropped and said; a waiting awaited one answered "dropped from the full outbox … to make room"',
    () =>
      logged((lines) =>
        Effect.gen(function* () {
          const stream = "words-drop-oldest"
          const { bus } = yield* occupied(stream, 3, { overflow: "dropOldest" })
          const oldest = yield* forkPublish(bus, "oldest")
          for (const label of ["w0", "w1"]) expect(yield* bus.publishNowait(event(label))).toBe(true)
          // Full: the waiting ticket makes room, then w0.
          expect(yield* bus.publishNowait(event("w2"))).toBe(true)
          yield* letFibersRun
          expect(answerNow(oldest)).toEqual(
            notWritten("Overloaded", "dropped from the full outbox (3 events) to make room: not written")
          )
          expect(yield* bus.publishNowait(event("w3"))).toBe(true)
          // The room made (said by the buffer's streak) before the ticket was answered (the publish's).
          expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
            firstFailure(
              "EventBus buffer (full, dropping events)",
              stream,
              "buffer full (3 events), oldest dropped"
            ),
            firstFailure(
              "EventBus publish",
              stream,
              "Overloaded: dropped from the full outbox (3 events) to make room: not written"
            )
          ])
        })
      )
  )
})
