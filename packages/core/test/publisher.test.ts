/**
 * The publisher's specification, rule by rule: group commit of awaited publishes, each caller's own
 * bound, the outbox's capacity, program order across the two paths, batches written in part, retries
 * that run out, batches behind a failed one, flush, closing, the in-flight accounting, and tickets
 * never sent twice. Every test runs under the `TestClock`
 * on a scripted backend (`helpers/scriptedBackend.ts`: the memory backend, each append recorded and
 * answered as the test says), so that what happens when is decided by the test, not by a timer.
 */
import { describe, expect, it } from "@effect/vitest"
import { PublishMetrics, PublishResult } from "@maf/events"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Outbox from "../src/internal/outbox.js"
import {
  answerNow,
  busOn,
  callLabels,
  countOf,
  event,
  forkPublish,
  idOf,
  labels,
  letFibersRun,
  notWritten,
  occupy,
  stored,
  storedLabels
} from "./helpers/publisherKit.js"
import {
  Answer,
  failureMessage,
  type ScriptedBackend,
  make as scriptedBackend
} from "./helpers/scriptedBackend.js"

// ---- the rules ---------------------------------------------------------------------------------

describe("group commit of awaited publishes", () => {
  it.scoped(
    "N fibers publishing at once share a few appends: the first goes alone, the rest gather; each caller gets the id of its own entry",
    () =>
      Effect.gen(function* () {
        const stream = "publisher-group-commit"
        const scripted = yield* scriptedBackend({ otherwise: Answer.answerLate("10 millis") })
        const bus = yield* busOn(scripted, { stream })
        const publishers = labels("p", 50)
        const all = yield* Effect.fork(
          Effect.forEach(publishers, (label) => bus.publish(event(label)), { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("1 second")
        const results = yield* Fiber.join(all)

        // The first finds the outbox idle and goes straight to the backend; the 49 others queue
        // behind it and leave together (in one or two batches), not one append each.
        expect(scripted.calls[0]!.bodies).toHaveLength(1)
        expect(scripted.calls.length).toBeLessThanOrEqual(3)
        expect(callLabels(scripted).flat().sort()).toEqual([...publishers].sort())
        const entries = yield* stored(scripted, stream)
        expect(entries.map((entry) => entry.label).sort()).toEqual([...publishers].sort())
        publishers.forEach((label, i) => {
          expect(results[i], label).toEqual(PublishResult.Written({ id: idOf(entries, label) }))
        })
      })
  )

  it.scoped("one fiber publishing sequentially makes one append per event, each with a single body", () =>
    Effect.gen(function* () {
      const stream = "publisher-sequential"
      const scripted = yield* scriptedBackend({ otherwise: Answer.answerLate("10 millis") })
      const bus = yield* busOn(scripted, { stream })
      const sequence = labels("s", 5)
      const publishing = yield* Effect.fork(Effect.forEach(sequence, (label) => bus.publish(event(label))))
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.join(publishing)

      expect(callLabels(scripted)).toEqual(sequence.map((label) => [label]))
      const entries = yield* stored(scripted, stream)
      expect(entries.map((entry) => entry.label)).toEqual(sequence)
      sequence.forEach((label, i) => {
        expect(results[i]).toEqual(PublishResult.Written({ id: idOf(entries, label) }))
      })
    })
  )
})

describe("each caller keeps its own bound", () => {
  it.scoped(
    "a ticket still waiting in the outbox when its bound runs out answers NotSent, and is never written afterwards",
    () =>
      Effect.gen(function* () {
        const stream = "publisher-not-sent"
        const scripted = yield* scriptedBackend({ otherwise: Answer.hold })
        const bus = yield* busOn(scripted, {
          stream,
          bufferCapacity: 2,
          batchSize: 2,
          publishTimeout: "100 millis"
        })
        yield* occupy(bus, scripted, 2)
        const waiting = yield* forkPublish(bus, "late")
        expect(scripted.calls).toHaveLength(1)

        yield* TestClock.adjust("99 millis")
        expect(answerNow(waiting)).toBeUndefined()
        yield* TestClock.adjust("1 millis")
        const result = yield* Fiber.join(waiting)
        expect(result).toMatchObject(notWritten("NotSent"))
        expect(PublishResult.isOutcomeUnknown(result)).toBe(false)

        // The backend recovers and the outbox sends again: the expired ticket is not among what it sends.
        scripted.otherwise = Answer.write
        yield* scripted.release
        yield* bus.flush
        yield* bus.publishNowait(event("y"))
        yield* bus.flush
        expect(callLabels(scripted)).toEqual([["x0", "x1"], ["y"]])
        expect(yield* storedLabels(scripted, stream)).toEqual(["x0", "x1", "y"])
      })
  )

  it.scoped(
    "a ticket sent in a batch that goes unanswered answers Timeout (its outcome unknown) at its bound",
    () =>
      Effect.gen(function* () {
        const stream = "publisher-sent-timeout"
        const scripted = yield* scriptedBackend({ otherwise: Answer.hold })
        // Batches of one: every item is a full batch, sent at once.
        const bus = yield* busOn(scripted, { stream, batchSize: 1, publishTimeout: "100 millis" })
        yield* bus.publishNowait(event("x0"))
        // The outbox is not idle (x0 in flight): the publish is a ticket, sent in a batch of its own.
        const sent = yield* forkPublish(bus, "t")
        expect(callLabels(scripted)).toEqual([["x0"], ["t"]])

        yield* TestClock.adjust("99 millis")
        expect(answerNow(sent)).toBeUndefined()
        yield* TestClock.adjust("1 millis")
        const result = yield* Fiber.join(sent)
        expect(result).toMatchObject(notWritten("Timeout"))
        expect(PublishResult.isOutcomeUnknown(result)).toBe(true)

        // Unknown indeed: the backend answers late and the entry is there. Its caller's answer stands.
        yield* scripted.release
        yield* bus.flush
        expect(yield* storedLabels(scripted, stream)).toEqual(["x0", "t"])
      })
  )

  it.scoped("a caller interrupted while its ticket waits sends nothing", () =>
    Effect.gen(function* () {
      const stream = "publisher-ticket-abandoned"
      const scripted = yield* scriptedBackend({ otherwise: Answer.hold })
      const bus = yield* busOn(scripted, { stream, bufferCapacity: 2, batchSize: 2 })
      yield* occupy(bus, scripted, 2)
      const waiting = yield* forkPublish(bus, "gone")
      yield* Fiber.interrupt(waiting)

      scripted.otherwise = Answer.write
      yield* scripted.release
      yield* bus.publishNowait(event("y"))
      yield* bus.flush
      expect(callLabels(scripted)).toEqual([["x0", "x1"], ["y"]])
      expect(yield* storedLabels(scripted, stream)).toEqual(["x0", "x1", "y"])
    })
  )
  it.scoped(
    "a caller interrupted while its ticket waits uninterruptibly is answered NotSent, and nothing is sent",
    () =>
      Effect.gen(function* () {
        const stream = "publisher-ticket-interrupted-uninterruptible"
        const scripted = yield* scriptedBackend({ otherwise: Answer.hold })
        const bus = yield* busOn(scripted, { stream, bufferCapacity: 2, batchSize: 2 })
        yield* occupy(bus, scripted, 2)
        let answer: PublishResult.PublishResult | undefined
        const waiting = yield* Effect.tap(
          Effect.fork(
            Effect.uninterruptible(
              Effect.tap(bus.publish(event("gone")), (result) => {
                answer = result
              })
            )
          ),
          () => letFibersRun
        )
        // The interruption waits for the publish to end: the fiber is not awaited here.
        yield* Fiber.interruptFork(waiting)
        yield* letFibersRun

        scripted.otherwise = Answer.write
        yield* scripted.release
        const exit = yield* Fiber.await(waiting)
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(answer?._tag === "NotWritten" && answer.reason).toBe("NotSent")
        yield* bus.publishNowait(event("y"))
        yield* bus.flush
        expect(callLabels(scripted)).toEqual([["x0", "x1"], ["y"]])
        expect(yield* storedLabels(scripted, stream)).toEqual(["x0", "x1", "y"])
      })
  )
})

describe("Overloaded: the outbox's capacity", () => {
  it.scoped("an awaited publish on a full outbox answers Overloaded at once, and is not written", () =>
    Effect.gen(function* () {
      const stream = "publisher-overloaded"
      const scripted = yield* scriptedBackend({ otherwise: Answer.hold })
      const bus = yield* busOn(scripted, { stream, bufferCapacity: 3, batchSize: 3 })
      yield* occupy(bus, scripted, 3)
      for (const label of labels("e", 3)) expect(yield* bus.publishNowait(event(label))).toBe(true)
      expect(yield* bus.publishNowait(event("dropped"))).toBe(false)

      const refused = yield* forkPublish(bus, "refused")
      // Answered without the clock moving.
      const result = answerNow(refused)
      expect(result).toMatchObject(notWritten("Overloaded"))
      expect(PublishResult.isOutcomeUnknown(result as PublishResult.PublishResult)).toBe(false)

      scripted.otherwise = Answer.write
      yield* scripted.release
      yield* bus.flush
      expect(yield* storedLabels(scripted, stream)).toEqual([...labels("x", 3), ...labels("e", 3)])
    })
  )

  it.scoped(
    'under overflow "dropOldest", a waiting ticket dropped to make room answers Overloaded and is never written',
    () =>
      Effect.gen(function* () {
        const stream = "publisher-drop-oldest-ticket"
        const scripted = yield* scriptedBackend({ otherwise: Answer.hold })
        const bus = yield* busOn(scripted, {
          stream,
          bufferCapacity: 3,
          batchSize: 3,
          overflow: "dropOldest"
        })
        yield* occupy(bus, scripted, 3)
        const oldest = yield* forkPublish(bus, "oldest")
        expect(yield* bus.publishNowait(event("e0"))).toBe(true)
        expect(yield* bus.publishNowait(event("e1"))).toBe(true)
        yield* letFibersRun
        expect(answerNow(oldest)).toBeUndefined()
        // Full (the ticket, e0, e1): e2 takes the ticket's place.
        expect(yield* bus.publishNowait(event("e2"))).toBe(true)
        yield* letFibersRun
        expect(answerNow(oldest)).toMatchObject(notWritten("Overloaded"))

        scripted.otherwise = Answer.write
        yield* scripted.release
        yield* bus.flush
        expect(yield* storedLabels(scripted, stream)).toEqual([...labels("x", 3), ...labels("e", 3)])
        expect(callLabels(scripted).flat()).not.toContain("oldest")
      })
  )
})

describe("program order of one fiber across the two paths", () => {
  for (const [case_, inFlight] of [
    ["with earlier batches in flight", ["x0", "x1"]],
    ["with nothing in flight (a and b not sent yet)", []]
  ] as const) {
    it.scoped(`publishNowait a, b then publish c, ${case_}: c is sent and lands after a and b`, () =>
      Effect.gen(function* () {
        const stream = `publisher-program-order-${inFlight.length}`
        const scripted = yield* scriptedBackend({ otherwise: Answer.answerLate("10 millis") })
        const bus = yield* busOn(scripted, { stream })
        for (const label of inFlight) {
          yield* bus.publishNowait(event(label))
          yield* letFibersRun
        }
        expect(scripted.running()).toBe(inFlight.length)
        const program = yield* Effect.fork(
          Effect.gen(function* () {
            yield* bus.publishNowait(event("a"))
            yield* bus.publishNowait(event("b"))
            return yield* bus.publish(event("c"))
          })
        )
        yield* TestClock.adjust("1 second")
        const result = yield* Fiber.join(program)

        const order = [...inFlight, "a", "b", "c"]
        expect(callLabels(scripted).flat()).toEqual(order)
        const entries = yield* stored(scripted, stream)
        expect(entries.map((entry) => entry.label)).toEqual(order)
        expect(result).toEqual(PublishResult.Written({ id: idOf(entries, "c") }))
      })
    )
  }
})

describe("a batch written in part, then failed", () => {
  /** The outbox occupied by [x0..x7] until t = 10; then the mixed batch n0, t1, n2, t3, n4, n5, n6. */
  const mixedBatch = (scripted: ScriptedBackend, stream: string, ...after: ReadonlyArray<string>) =>
    Effect.gen(function* () {
      const bus = yield* busOn(scripted, {
        stream,
        bufferCapacity: 8,
        batchSize: 8,
        retrySchedule: Schedule.spaced("10 millis")
      })
      yield* occupy(bus, scripted, 8)
      yield* bus.publishNowait(event("n0"))
      const t1 = yield* forkPublish(bus, "t1")
      yield* bus.publishNowait(event("n2"))
      const t3 = yield* forkPublish(bus, "t3")
      for (const label of after) yield* bus.publishNowait(event(label))
      yield* TestClock.adjust("1 second")
      yield* bus.flush
      return { t1, t3 }
    })

  it.scoped(
    "its retries write only what is left, each event once; tickets in the written part answer Written with the ids given, those after it the failure's reason",
    () =>
      Effect.gen(function* () {
        const stream = "publisher-partial"
        const scripted = yield* scriptedBackend({
          script: [
            Answer.answerLate("10 millis"),
            // The mixed batch: n0, t1, n2 written, then the failure.
            Answer.writePartThenFail(3, "Unavailable"),
            // Its first retry (n4, n5, n6): n4 written, then the failure.
            Answer.writePartThenFail(1, "Unavailable")
          ],
          otherwise: Answer.write
        })
        const { t1, t3 } = yield* mixedBatch(scripted, stream, "n4", "n5", "n6")

        expect(callLabels(scripted)).toEqual([
          labels("x", 8),
          ["n0", "t1", "n2", "t3", "n4", "n5", "n6"],
          ["n4", "n5", "n6"],
          ["n5", "n6"]
        ])
        const entries = yield* stored(scripted, stream)
        expect(entries.map((entry) => entry.label)).toEqual([
          ...labels("x", 8),
          "n0",
          "t1",
          "n2",
          "n4",
          "n5",
          "n6"
        ])
        expect(yield* Fiber.join(t1)).toEqual(PublishResult.Written({ id: idOf(entries, "t1") }))
        expect(yield* Fiber.join(t3)).toEqual(
          PublishResult.NotWritten({ reason: "Unavailable", message: failureMessage("Unavailable") })
        )
      })
  )

  it.scoped(
    "a ticket in the written part of a failure that carries no ids is not told it is absent (Written or outcome unknown)",
    () =>
      Effect.gen(function* () {
        const stream = "publisher-partial-no-ids"
        const scripted = yield* scriptedBackend({
          script: [
            Answer.answerLate("10 millis"),
            Answer.writePartThenFail(2, "Unavailable", { withIds: false })
          ],
          otherwise: Answer.write
        })
        const { t1, t3 } = yield* mixedBatch(scripted, stream)

        expect(callLabels(scripted)).toEqual([labels("x", 8), ["n0", "t1", "n2", "t3"], ["n2"]])
        expect(yield* storedLabels(scripted, stream)).toEqual([...labels("x", 8), "n0", "t1", "n2"])
        expect(yield* Fiber.join(t3)).toMatchObject(notWritten("Unavailable"))
        // t1 is in the stream: every NotWritten reason but Timeout tells its caller that it is not,
        // and a caller who publishes it again then makes a duplicate.
        const result = yield* Fiber.join(t1)
        expect(
          PublishResult.isWritten(result) || PublishResult.isOutcomeUnknown(result),
          JSON.stringify(result)
        ).toBe(true)
      })
  )
})

describe("a retry schedule that runs out", () => {
  it.scoped(
    "gives the batch up after the schedule's attempts: its events counted as dropped, flush returns",
    () =>
      Effect.gen(function* () {
        const stream = "publisher-retries-exhausted"
        const scripted = yield* scriptedBackend({ otherwise: Answer.fail("Unavailable") })
        const bus = yield* busOn(scripted, {
          stream,
          batchSize: 3,
          // Two retries, 10 ms apart: the first attempt counts as the schedule's first.
          retrySchedule: Schedule.addDelay(Schedule.recurs(2), () => "10 millis")
        })
        const droppedBefore = yield* countOf(PublishMetrics.dropped, stream)
        for (const label of labels("e", 3)) yield* bus.publishNowait(event(label))
        const flushing = yield* Effect.fork(bus.flush)

        // t = 0: [e0, e1, e2] sent (a full batch) and failed; retried at 10 and 20, failed both times.
        yield* TestClock.adjust("19 millis")
        expect(flushing.unsafePoll()).toBeNull()
        expect(yield* countOf(PublishMetrics.dropped, stream)).toBe(droppedBefore)
        yield* TestClock.adjust("1 millis")
        yield* Fiber.join(flushing)

        expect(callLabels(scripted)).toEqual([labels("e", 3), labels("e", 3), labels("e", 3)])
        expect(yield* countOf(PublishMetrics.dropped, stream)).toBe(droppedBefore + 3)
        expect(yield* storedLabels(scripted, stream)).toEqual([])

        // The writer goes on: the next events are written.
        scripted.otherwise = Answer.write
        yield* bus.publishNowait(event("after"))
        yield* bus.flush
        expect(yield* storedLabels(scripted, stream)).toEqual(["after"])
      })
  )
})

describe("batches behind a failed one", () => {
  it.scoped("are tried again at once when the one before is written (the backend is back)", () =>
    Effect.gen(function* () {
      const stream = "publisher-retries-at-once"
      const scripted = yield* scriptedBackend({
        script: [Answer.failAfter("10 millis", "Unavailable"), Answer.failAfter("10 millis", "Unavailable")],
        otherwise: Answer.write
      })
      const bus = yield* busOn(scripted, {
        stream,
        batchSize: 1,
        retrySchedule: Schedule.spaced("10 millis")
      })
      yield* bus.publishNowait(event("b1"))
      yield* bus.publishNowait(event("b2"))
      yield* letFibersRun
      expect(callLabels(scripted)).toEqual([["b1"], ["b2"]])
      yield* TestClock.adjust("1 second")
      yield* bus.flush

      // Both failed at t = 10; b1 retried by the schedule at 20 and written; b2 at once, at 20 too
      // (the memory backend's ids are the TestClock's milliseconds).
      expect(callLabels(scripted)).toEqual([["b1"], ["b2"], ["b1"], ["b2"]])
      const entries = yield* stored(scripted, stream)
      expect(entries).toEqual([
        { label: "b1", id: "20-0" },
        { label: "b2", id: "20-1" }
      ])
    })
  )

  it.scoped(
    "are not tried at once when the one before was given up: each gets the schedule's attempts, no more",
    () =>
      Effect.gen(function* () {
        const stream = "publisher-retries-behind"
        const scripted = yield* scriptedBackend({
          script: [
            Answer.failAfter("10 millis", "Unavailable"),
            Answer.failAfter("10 millis", "Unavailable")
          ],
          otherwise: Answer.fail("Unavailable")
        })
        const bus = yield* busOn(scripted, {
          stream,
          batchSize: 1,
          retrySchedule: Schedule.addDelay(Schedule.recurs(2), () => "10 millis")
        })
        const droppedBefore = yield* countOf(PublishMetrics.dropped, stream)
        // Two batches in flight, both failing at t = 10.
        yield* bus.publishNowait(event("b1"))
        yield* bus.publishNowait(event("b2"))
        yield* letFibersRun
        expect(callLabels(scripted)).toEqual([["b1"], ["b2"]])
        yield* TestClock.adjust("1 second")
        yield* bus.flush

        expect(yield* countOf(PublishMetrics.dropped, stream)).toBe(droppedBefore + 2)
        const attempts = (label: string) => callLabels(scripted).filter((call) => call.includes(label)).length
        expect(attempts("b1")).toBe(3)
        expect(attempts("b2")).toBe(3)
      })
  )
})

describe("flush", () => {
  it.scoped("on a slow backend with several batches in flight, returns only once every one is answered", () =>
    Effect.gen(function* () {
      const stream = "publisher-flush-slow"
      const scripted = yield* scriptedBackend({ otherwise: Answer.answerLate("10 millis") })
      const bus = yield* busOn(scripted, { stream, batchSize: 2 })
      const events = labels("e", 7)
      for (const label of events) yield* bus.publishNowait(event(label))
      yield* letFibersRun
      // Three full batches in flight; e6, a partial one, waits for a slot (fewer than two in flight).
      expect(callLabels(scripted)).toEqual([
        ["e0", "e1"],
        ["e2", "e3"],
        ["e4", "e5"]
      ])
      expect(scripted.running()).toBe(3)
      const flushing = yield* Effect.fork(bus.flush)

      // t = 10: the three answered, e6 sent (written, its answer 10 ms away).
      yield* TestClock.adjust("10 millis")
      expect(flushing.unsafePoll()).toBeNull()
      expect(scripted.running()).toBe(1)
      expect(yield* storedLabels(scripted, stream)).toEqual(events)
      yield* TestClock.adjust("9 millis")
      expect(flushing.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(flushing)

      expect(scripted.running()).toBe(0)
      expect(scripted.calls.map((call) => call.ended)).toEqual(Array(4).fill("written"))
    })
  )

  it.scoped("interrupted flushes do not disturb a later one, which returns once the events are written", () =>
    Effect.gen(function* () {
      const stream = "publisher-flush-interrupted"
      const scripted = yield* scriptedBackend({ otherwise: Answer.hold })
      const bus = yield* busOn(scripted, { stream })
      yield* bus.publishNowait(event("e0"))
      for (let i = 0; i < 1000; i++) {
        const flushing = yield* Effect.fork(bus.flush)
        yield* Effect.yieldNow()
        expect(Exit.isInterrupted(yield* Fiber.interrupt(flushing))).toBe(true)
      }
      const flushing = yield* Effect.fork(bus.flush)
      yield* letFibersRun
      expect(flushing.unsafePoll()).toBeNull()
      yield* scripted.release
      yield* Fiber.join(flushing)
      expect(yield* storedLabels(scripted, stream)).toEqual(["e0"])
    })
  )

  // A waiter left behind is resolved, harmlessly, at the next settle: no behaviour of the bus shows it,
  // only the memory it holds while the backend is down. The outbox's own count shows it.
  it.effect("an interrupted flush leaves no waiter in the outbox", () =>
    Effect.gen(function* () {
      const outbox = new Outbox.Outbox(10, 5)
      outbox.push("a body")
      for (let i = 0; i < 100; i++) {
        const flushing = yield* Effect.fork(outbox.flushUpTo(outbox.taken))
        yield* Effect.yieldNow()
        expect(outbox.flushWaiting).toBe(1)
        yield* Fiber.interrupt(flushing)
        expect(outbox.flushWaiting).toBe(0)
      }
      const flushing = yield* Effect.fork(outbox.flushUpTo(outbox.taken))
      yield* Effect.yieldNow()
      outbox.settle(1)
      yield* Fiber.join(flushing)
      expect(outbox.flushWaiting).toBe(0)
    })
  )
})

describe("after the bus is closed", () => {
  it.effect(
    "publish answers NotWritten Closed, publishNowait false (counted as dropped), nothing is written",
    () =>
      Effect.gen(function* () {
        const stream = "publisher-closed"
        const scripted = yield* scriptedBackend()
        const scope = yield* Scope.make()
        const bus = yield* busOn(scripted, { stream }).pipe(Scope.extend(scope))
        yield* bus.publishNowait(event("before"))
        yield* Scope.close(scope, Exit.void)
        expect(yield* storedLabels(scripted, stream)).toEqual(["before"])
        const droppedBefore = yield* countOf(PublishMetrics.dropped, stream)

        expect(yield* bus.publish(event("late"))).toMatchObject(notWritten("Closed"))
        expect(yield* bus.publishNowait(event("late-nowait"))).toBe(false)
        yield* bus.flush

        expect(yield* countOf(PublishMetrics.dropped, stream)).toBe(droppedBefore + 1)
        expect(callLabels(scripted)).toEqual([["before"]])
        expect(yield* storedLabels(scripted, stream)).toEqual(["before"])
      })
  )
})

describe("while the bus closes", () => {
  it.effect(
    "every event offered is written or counted as dropped, none left in flight: flush returns after close",
    () =>
      Effect.gen(function* () {
        const stream = "publisher-closing"
        const scripted = yield* scriptedBackend()
        const scope = yield* Scope.make()
        const bus = yield* busOn(scripted, { stream }).pipe(Scope.extend(scope))
        const droppedBefore = yield* countOf(PublishMetrics.dropped, stream)
        // A publisher yielding between events: its offers fall before the close, during the drain
        // and after it. (The narrow window between the end of the writer and `closed`, mended in
        // the batch writer, is not reliably hit by this test.)
        const publisher = yield* Effect.fork(
          Effect.forEach(
            labels("c", 300),
            (label) => Effect.zipRight(bus.publishNowait(event(label)), Effect.yieldNow()),
            {
              discard: true
            }
          )
        )
        for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
        yield* Scope.close(scope, Exit.void)
        yield* Fiber.join(publisher)
        const flushed = yield* Effect.fork(bus.flush)
        for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
        expect(flushed.unsafePoll()).not.toBeNull()
        const written = (yield* storedLabels(scripted, stream)).length
        expect(written + (yield* countOf(PublishMetrics.dropped, stream)) - droppedBefore).toBe(300)
      })
  )
})

describe("the in-flight accounting against bufferCapacity", () => {
  it.scoped(
    "with batches unanswered, publishNowait takes bufferCapacity events plus one batch in flight beyond, then drops",
    () =>
      Effect.gen(function* () {
        const stream = "publisher-capacity"
        const scripted = yield* scriptedBackend({ otherwise: Answer.hold })
        const bus = yield* busOn(scripted, { stream, bufferCapacity: 10, batchSize: 4 })
        const droppedBefore = yield* countOf(PublishMetrics.dropped, stream)
        const events = labels("e", 20)
        const taken: Array<boolean> = []
        for (const label of events) taken.push(yield* bus.publishNowait(event(label)))
        yield* letFibersRun

        // 10 + 4 taken: three full batches in flight (12: the last went while fewer than 10 were),
        // e12 and e13 waiting (2 waiting + 8 in flight beyond the first batch = 10).
        expect(taken).toEqual([...Array(14).fill(true), ...Array(6).fill(false)])
        expect(scripted.calls.map((call) => call.bodies.length)).toEqual([4, 4, 4])
        expect(yield* countOf(PublishMetrics.dropped, stream)).toBe(droppedBefore + 6)

        scripted.otherwise = Answer.write
        yield* scripted.release
        yield* bus.flush
        expect(yield* storedLabels(scripted, stream)).toEqual(events.slice(0, 14))
      })
  )
})

describe("tickets are never sent twice", () => {
  it.scoped(
    "a mixed batch failing with Unavailable: its tickets answer Unavailable and stay out, its fire-and-forget events are retried and written once",
    () =>
      Effect.gen(function* () {
        const stream = "publisher-tickets-once"
        const scripted = yield* scriptedBackend({
          script: [Answer.answerLate("10 millis"), Answer.fail("Unavailable")],
          otherwise: Answer.write
        })
        const bus = yield* busOn(scripted, {
          stream,
          bufferCapacity: 2,
          batchSize: 2,
          retrySchedule: Schedule.spaced("10 millis")
        })
        yield* occupy(bus, scripted, 2)
        yield* bus.publishNowait(event("n0"))
        const first = yield* forkPublish(bus, "t1")
        yield* TestClock.adjust("1 second")
        yield* bus.flush

        const result = yield* Fiber.join(first)
        expect(result).toEqual(
          PublishResult.NotWritten({ reason: "Unavailable", message: failureMessage("Unavailable") })
        )
        expect(PublishResult.isOutcomeUnknown(result)).toBe(false)
        expect(callLabels(scripted)).toEqual([["x0", "x1"], ["n0", "t1"], ["n0"]])
        expect(yield* storedLabels(scripted, stream)).toEqual(["x0", "x1", "n0"])
      })
  )
})
