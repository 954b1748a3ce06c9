/**
 * EventConsumer, what a handler's outcome does (memory backend, `TestClock`): a success acknowledges,
 * and nothing is acknowledged before it; a typed failure or a defect retries the entry, by the member
 * that holds it, after the retry schedule's delay, as a new delivery with the server's count;
 * `Outcome.Ack`, `Outcome.Retry({ after })` and `Outcome.DeadLetter({ reason })` say so explicitly;
 * malformed entries and unknown kinds reach the handler as values.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { EventConsumer, MemoryStreamBackend } from "../src/index.js"
import {
  append,
  body,
  entriesOf,
  env,
  eventually,
  fieldsOf,
  fill,
  gate,
  info,
  knownBody,
  pendingOf,
  quiet
} from "./helpers/consumerKit.js"

/** 100 ms, 200 ms, 400 ms…: no jitter, so that a test can name the instant. */
const exponential = Schedule.exponential(Duration.millis(100)) as Schedule.Schedule<Duration.Duration>

class Oops {
  readonly _tag = "Oops"
}

class NoCost extends Data.TaggedError("NoCost")<{ readonly streamId: string }> {}
class Refused extends Data.TaggedError("Refused")<{ readonly message: string }> {}

describe("EventConsumer outcomes (memory backend, TestClock)", () => {
  it.effect("a success acknowledges; nothing is acknowledged before the handler succeeds", () =>
    Effect.gen(function* () {
      yield* fill("o1", 1)
      const done = yield* gate
      let handled = 0
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "o1",
          group: "g",
          consumer: "a",
          from: "0",
          handler: () =>
            Effect.zipRight(
              Effect.sync(() => void handled++),
              done.wait
            )
        })
      )
      yield* eventually(
        "handed to the handler",
        Effect.sync(() => handled === 1)
      )
      // A minute later (twice minIdle), the handler still running: held, not acknowledged.
      yield* TestClock.adjust("1 minute")
      const during = yield* info("o1", "g")
      expect(during.pending).toBe(1)
      expect(during.consumers.find((c) => c.name === "a")?.pending).toBe(1)
      yield* done.open
      yield* eventually(
        "acknowledged",
        Effect.map(pendingOf("o1", "g"), (n) => n === 0)
      )
      expect(handled).toBe(1)
    }).pipe(Effect.provide(env))
  )

  it.effect("Outcome.Ack acknowledges, as a plain success does", () =>
    Effect.gen(function* () {
      yield* fill("o2", 2)
      let handled = 0
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "o2",
          group: "g",
          from: "0",
          handler: () => Effect.sync(() => void handled++).pipe(Effect.as(EventConsumer.Outcome.Ack()))
        })
      )
      yield* eventually(
        "both acknowledged",
        Effect.map(pendingOf("o2", "g"), (n) => n === 0 && handled === 2)
      )
    }).pipe(Effect.provide(env))
  )

  it.effect(
    "a typed failure retries: the holder takes it again after the schedule's delay, a new delivery",
    () =>
      Effect.gen(function* () {
        yield* fill("o3", 1)
        const deliveries: Array<string> = []
        yield* Effect.fork(
          EventConsumer.consume({
            stream: "o3",
            group: "g",
            consumer: "a",
            from: "0",
            retrySchedule: exponential,
            handler: (m) =>
              m._tag === "Gap"
                ? Effect.void
                : Effect.suspend(() => {
                    deliveries.push(`${m.consumer}#${m.deliveryCount}`)
                    return m.deliveryCount < 3 ? Effect.fail(new Oops()) : Effect.void
                  })
          })
        )
        yield* eventually(
          "first delivery",
          Effect.sync(() => deliveries.length === 1)
        )
        // The first retry after 100 ms, the second 200 ms after it; minIdle (30 s) plays no part.
        yield* TestClock.adjust("99 millis")
        yield* quiet
        expect(deliveries).toEqual(["a#1"])
        yield* TestClock.adjust("1 millis")
        yield* eventually(
          "second delivery",
          Effect.sync(() => deliveries.length === 2)
        )
        yield* TestClock.adjust("199 millis")
        yield* quiet
        expect(deliveries.length).toBe(2)
        yield* TestClock.adjust("1 millis")
        yield* eventually(
          "third delivery, acknowledged",
          Effect.map(pendingOf("o3", "g"), (n) => n === 0)
        )
        expect(deliveries).toEqual(["a#1", "a#2", "a#3"])
      }).pipe(Effect.provide(env))
  )

  it.effect("the default retry schedule: about 100 ms (jittered), then doubling", () =>
    Effect.gen(function* () {
      yield* fill("o4", 1)
      const counts: Array<number> = []
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "o4",
          group: "g",
          from: "0",
          handler: (m) =>
            m._tag === "Gap"
              ? Effect.void
              : Effect.suspend(() => {
                  counts.push(m.deliveryCount)
                  return m.deliveryCount < 2 ? Effect.fail("not yet") : Effect.void
                })
        })
      )
      yield* eventually(
        "first delivery",
        Effect.sync(() => counts.length === 1)
      )
      yield* TestClock.adjust("79 millis")
      yield* quiet
      expect(counts).toEqual([1])
      yield* TestClock.adjust("41 millis")
      yield* eventually(
        "retried within 80 to 120 ms",
        Effect.sync(() => counts.length === 2)
      )
    }).pipe(Effect.provide(env))
  )

  it.effect("a defect retries as a failure does, and its text is the dead letter's error", () =>
    Effect.gen(function* () {
      yield* fill("o5", 1)
      const counts: Array<number> = []
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "o5",
          group: "g",
          from: "0",
          maxDeliveries: 2,
          retrySchedule: exponential,
          handler: (m) =>
            m._tag === "Gap"
              ? Effect.void
              : Effect.suspend(() => {
                  counts.push(m.deliveryCount)
                  return Effect.die(new Error("kaboom"))
                })
        })
      )
      yield* eventually(
        "first delivery",
        Effect.sync(() => counts.length === 1)
      )
      yield* TestClock.adjust("100 millis")
      yield* eventually(
        "dead-lettered",
        Effect.map(entriesOf("o5:dead"), (dead) => dead.length === 1)
      )
      expect(counts).toEqual([1, 2])
      const [dead] = yield* entriesOf("o5:dead")
      expect(fieldsOf(dead!.fields).get("error")).toContain("kaboom")
      expect(yield* pendingOf("o5", "g")).toBe(0)
    }).pipe(Effect.provide(env))
  )

  it.effect("Outcome.Retry({ after }) retries after exactly that delay", () =>
    Effect.gen(function* () {
      yield* fill("o6", 1)
      const counts: Array<number> = []
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "o6",
          group: "g",
          from: "0",
          handler: (m) =>
            m._tag === "Gap"
              ? Effect.void
              : Effect.sync(() => {
                  counts.push(m.deliveryCount)
                  return m.deliveryCount === 1
                    ? EventConsumer.Outcome.Retry({ after: "3 seconds" })
                    : undefined
                })
        })
      )
      yield* eventually(
        "first delivery",
        Effect.sync(() => counts.length === 1)
      )
      yield* TestClock.adjust("2999 millis")
      yield* quiet
      expect(counts).toEqual([1])
      yield* TestClock.adjust("1 millis")
      yield* eventually(
        "retried, then acknowledged",
        Effect.map(pendingOf("o6", "g"), (n) => n === 0)
      )
      expect(counts).toEqual([1, 2])
    }).pipe(Effect.provide(env))
  )

  it.effect(
    "Outcome.DeadLetter({ reason }) moves the entry at once: data intact, its fields, acknowledged",
    () =>
      Effect.gen(function* () {
        const [id] = yield* fill("o7", 1)
        yield* Effect.fork(
          EventConsumer.consume({
            stream: "o7",
            group: "g",
            consumer: "a",
            from: "0",
            handler: () => Effect.succeed(EventConsumer.Outcome.DeadLetter({ reason: "not for us" }))
          })
        )
        yield* eventually(
          "dead-lettered",
          Effect.map(entriesOf("o7:dead"), (dead) => dead.length === 1)
        )
        const [dead] = yield* entriesOf("o7:dead")
        expect(dead!.fields.slice(0, 2)).toEqual(["data", body(0)])
        expect(Object.fromEntries(fieldsOf(dead!.fields.slice(2)))).toEqual({
          original_id: id,
          group: "g",
          consumer: "a",
          delivery_count: "1",
          error: "not for us"
        })
        expect(yield* pendingOf("o7", "g")).toBe(0)
      }).pipe(Effect.provide(env))
  )

  it.effect("malformed entries and unknown kinds reach the handler as values, and are acknowledged", () =>
    Effect.gen(function* () {
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      yield* memory.appendFields("o8", [["other", "x"]])
      yield* append("o8", "{not json", body(1), knownBody("arena-1"))
      const seen: Array<string> = []
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "o8",
          group: "g",
          from: "0",
          concurrency: 4,
          handler: (m) =>
            Effect.sync(() => {
              seen.push(
                m._tag === "Malformed"
                  ? `Malformed ${m.reason}`
                  : m._tag === "UnknownKind"
                    ? `UnknownKind ${m.kind}`
                    : m._tag === "KnownEvent"
                      ? `KnownEvent ${m.event.kind} ${m.event.arena}`
                      : m._tag
              )
            })
        })
      )
      yield* eventually(
        "all acknowledged",
        Effect.map(pendingOf("o8", "g"), (n) => n === 0 && seen.length === 4)
      )
      expect(seen).toEqual([
        "Malformed no_data_field",
        "Malformed json_decode",
        "UnknownKind custom.thing",
        "KnownEvent arena.start arena-1"
      ])
      expect(yield* entriesOf("o8:dead")).toEqual([])
    }).pipe(Effect.provide(env))
  )

  it.effect("the delivery count is the server's: it goes on across a claim, and the claimer retries it", () =>
    Effect.gen(function* () {
      yield* fill("o9", 1)
      const deliveries: Array<string> = []
      const record = (m: EventConsumer.Message) =>
        Effect.sync(() => {
          if (m._tag !== "Gap") deliveries.push(`${m.consumer}#${m.deliveryCount}`)
          return m._tag === "Gap" ? 0 : m.deliveryCount
        })
      const a = yield* Effect.fork(
        EventConsumer.consume({
          stream: "o9",
          group: "g",
          consumer: "a",
          from: "0",
          drainTimeout: Duration.zero,
          handler: (m) => Effect.zipRight(record(m), Effect.never)
        })
      )
      yield* eventually(
        "taken by a",
        Effect.sync(() => deliveries.length === 1)
      )
      yield* Fiber.interrupt(a)
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "o9",
          group: "g",
          consumer: "b",
          retrySchedule: exponential,
          handler: (m) =>
            Effect.flatMap(record(m), (count) => (count === 2 ? Effect.fail(new Oops()) : Effect.void))
        })
      )
      // b claims it once idle for minIdle (30 s); its failure is retried by b 100 ms later.
      yield* TestClock.adjust("30 seconds")
      yield* eventually(
        "claimed by b",
        Effect.sync(() => deliveries.length === 2)
      )
      yield* TestClock.adjust("100 millis")
      yield* eventually(
        "retried by b, acknowledged",
        Effect.map(pendingOf("o9", "g"), (n) => n === 0)
      )
      expect(deliveries).toEqual(["a#1", "b#2", "b#3"])
    }).pipe(Effect.provide(env))
  )

  it.effect(
    "an entry claimed past maxDeliveries without an outcome (its members died) is dead-lettered",
    () =>
      Effect.gen(function* () {
        yield* fill("o10", 1)
        let handled = 0
        const dying = (name: string) =>
          Effect.gen(function* () {
            const member = yield* Effect.fork(
              EventConsumer.consume({
                stream: "o10",
                group: "g",
                consumer: name,
                from: "0",
                maxDeliveries: 2,
                drainTimeout: Duration.zero,
                handler: () =>
                  Effect.zipRight(
                    Effect.sync(() => void handled++),
                    Effect.never
                  )
              })
            )
            const before = handled
            // Its first turn, or its claim once the entry is idle for minIdle.
            yield* TestClock.adjust("30 seconds")
            yield* eventually(
              `taken by ${name}`,
              Effect.sync(() => handled === before + 1)
            )
            yield* Fiber.interrupt(member)
          })
        yield* dying("a")
        yield* dying("b")
        yield* Effect.fork(
          EventConsumer.consume({
            stream: "o10",
            group: "g",
            consumer: "c",
            maxDeliveries: 2,
            handler: () => Effect.void
          })
        )
        yield* TestClock.adjust("30 seconds")
        yield* eventually(
          "dead-lettered",
          Effect.map(entriesOf("o10:dead"), (dead) => dead.length === 1)
        )
        expect(handled).toBe(2)
        const [dead] = yield* entriesOf("o10:dead")
        expect(fieldsOf(dead!.fields).get("delivery_count")).toBe("3")
        expect(fieldsOf(dead!.fields).get("error")).toContain("without an outcome")
      }).pipe(Effect.provide(env))
  )

  it.effect("the dead letter's error names a typed failure: its tag and message, or its tag and fields", () =>
    Effect.gen(function* () {
      yield* fill("o11", 3)
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "o11",
          group: "g",
          from: "0",
          maxDeliveries: 1,
          concurrency: 3,
          handler: (m) =>
            m._tag !== "UnknownKind"
              ? Effect.void
              : [
                  Effect.fail(new NoCost({ streamId: m.streamId })),
                  Effect.fail(new Refused({ message: "the ledger is closed" })),
                  Effect.fail("plain words")
                ][(m.body.payload as { n: number }).n]!
        })
      )
      yield* eventually(
        "dead-lettered",
        Effect.map(entriesOf("o11:dead"), (dead) => dead.length === 3)
      )
      const errors = (yield* entriesOf("o11:dead")).map((dead) => fieldsOf(dead.fields).get("error"))
      const [first] = yield* entriesOf("o11")
      expect(errors.sort()).toEqual(
        [`NoCost {"streamId":"${first!.id}"}`, "Refused: the ledger is closed", "plain words"].sort()
      )
    }).pipe(Effect.provide(env))
  )
})
