/**
 * EventConsumer's stream form (memory backend, `TestClock`): each message settled by the program
 * (`ack`, `retry(after)`, `deadLetter(reason)`) on the same member loop as `consume`: no more than
 * `concurrency` messages unsettled at once; the delivery limit holds; a message left unsettled when
 * the stream ends stays pending, and the end does not wait for it; the first settlement counts, and
 * one made after the end does nothing; a gap needs no settling; a missing group under
 * `onMissingGroup: "fail"` fails the stream with `MissingGroup`, typed.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { EventConsumer, GroupBackend, MemoryStreamBackend } from "../src/index.js"
import { entriesOf, env, eventually, fieldsOf, fill, info, pendingOf, quiet } from "./helpers/consumerKit.js"

const exponential = Schedule.exponential(Duration.millis(100)) as Schedule.Schedule<Duration.Duration>

type Delivered = Exclude<EventConsumer.Received, EventConsumer.Gap>

const numberOf = (m: Delivered): number =>
  m._tag === "UnknownKind" ? (m.body.payload as { n: number }).n : -1

describe("EventConsumer.stream (memory backend, TestClock)", () => {
  it.effect("ack acknowledges; retry brings the message out again, a new delivery; deadLetter moves it", () =>
    Effect.gen(function* () {
      const [, , third] = yield* fill("t1", 3)
      const seen: Array<string> = []
      yield* Effect.fork(
        EventConsumer.stream({ stream: "t1", group: "g", from: "0", retrySchedule: exponential }).pipe(
          Stream.mapEffect((m) => {
            if (m._tag === "Gap") return Effect.void
            seen.push(`${numberOf(m)}#${m.deliveryCount}`)
            const n = numberOf(m)
            return n === 0
              ? m.ack
              : n === 1
                ? m.deliveryCount === 1
                  ? m.retry()
                  : m.ack
                : m.deadLetter("not for us")
          }),
          Stream.runDrain
        )
      )
      yield* quiet
      yield* TestClock.adjust("100 millis")
      yield* eventually(
        "all settled",
        Effect.map(pendingOf("t1", "g"), (n) => n === 0 && seen.length === 4)
      )
      // Concurrency 1: the retried message comes out again before the next one.
      expect(seen).toEqual(["0#1", "1#1", "1#2", "2#1"])
      const [dead] = yield* entriesOf("t1:dead")
      expect(fieldsOf(dead!.fields).get("original_id")).toBe(third)
      expect(fieldsOf(dead!.fields).get("error")).toBe("not for us")
    }).pipe(Effect.provide(env))
  )

  it.effect("retry(after) brings it out again after exactly that delay", () =>
    Effect.gen(function* () {
      yield* fill("t2", 1)
      const counts: Array<number> = []
      yield* Effect.fork(
        EventConsumer.stream({ stream: "t2", group: "g", from: "0" }).pipe(
          Stream.mapEffect((m) => {
            if (m._tag === "Gap") return Effect.void
            counts.push(m.deliveryCount)
            return m.deliveryCount === 1 ? m.retry("2 seconds") : m.ack
          }),
          Stream.runDrain
        )
      )
      yield* quiet
      yield* TestClock.adjust("1999 millis")
      yield* quiet
      expect(counts).toEqual([1])
      yield* TestClock.adjust("1 millis")
      yield* eventually(
        "acknowledged",
        Effect.map(pendingOf("t2", "g"), (n) => n === 0)
      )
      expect(counts).toEqual([1, 2])
    }).pipe(Effect.provide(env))
  )

  it.effect("no more than `concurrency` messages unsettled at once: the member holds no more", () =>
    Effect.gen(function* () {
      yield* fill("t3", 10)
      const out: Array<Delivered> = []
      yield* Effect.fork(
        EventConsumer.stream({ stream: "t3", group: "g", consumer: "m", from: "0", concurrency: 3 }).pipe(
          Stream.runForEach((m) =>
            Effect.sync(() => {
              if (m._tag !== "Gap") out.push(m)
            })
          )
        )
      )
      yield* eventually(
        "three out",
        Effect.sync(() => out.length === 3)
      )
      yield* TestClock.adjust("1 minute")
      expect(out.length).toBe(3)
      expect((yield* info("t3", "g")).consumers.find((c) => c.name === "m")?.pending).toBe(3)
      // Each settlement lets one more out.
      yield* out[0]!.ack
      yield* eventually(
        "a fourth out",
        Effect.sync(() => out.length === 4)
      )
      yield* quiet
      expect(out.length).toBe(4)
      expect(out.map(numberOf)).toEqual([0, 1, 2, 3])
    }).pipe(Effect.provide(env))
  )

  it.effect("the delivery limit holds: a message retried until maxDeliveries is dead-lettered", () =>
    Effect.gen(function* () {
      yield* fill("t4", 1)
      const counts: Array<number> = []
      yield* Effect.fork(
        EventConsumer.stream({ stream: "t4", group: "g", from: "0", maxDeliveries: 3 }).pipe(
          Stream.mapEffect((m) => {
            if (m._tag === "Gap") return Effect.void
            counts.push(m.deliveryCount)
            return m.retry("1 second")
          }),
          Stream.runDrain
        )
      )
      for (let i = 0; i < 3; i++) {
        yield* quiet
        yield* TestClock.adjust("1 second")
      }
      yield* eventually(
        "dead-lettered",
        Effect.map(entriesOf("t4:dead"), (dead) => dead.length === 1)
      )
      expect(counts).toEqual([1, 2, 3])
      expect(yield* pendingOf("t4", "g")).toBe(0)
    }).pipe(Effect.provide(env))
  )

  it.effect("a message left unsettled when the stream ends stays pending; the end does not wait for it", () =>
    Effect.gen(function* () {
      yield* fill("t5", 2)
      // drainTimeout is 10 s by default: the TestClock never moves, so a wait for it would hang.
      const taken = yield* EventConsumer.stream({
        stream: "t5",
        group: "g",
        consumer: "m",
        from: "0",
        concurrency: 2
      }).pipe(
        Stream.take(2),
        Stream.mapEffect((m) =>
          m._tag !== "Gap" && numberOf(m) === 0 ? Effect.as(m.ack, m) : Effect.succeed(m)
        ),
        Stream.runCollect
      )
      expect(Chunk.size(taken)).toBe(2)
      const after = yield* info("t5", "g")
      // The first acknowledged; the second handed out and never settled: pending, held by "m".
      expect(after.pending).toBe(1)
      expect(after.consumers.find((c) => c.name === "m")?.pending).toBe(1)
      // Another member claims it once idle for minIdle.
      const again: Array<number> = []
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "t5",
          group: "g",
          consumer: "other",
          handler: (m) =>
            Effect.sync(() => {
              if (m._tag !== "Gap") again.push(m.deliveryCount)
            })
        })
      )
      yield* TestClock.adjust("30 seconds")
      yield* eventually(
        "claimed, handled, acknowledged",
        Effect.map(pendingOf("t5", "g"), (n) => n === 0)
      )
      expect(again).toEqual([2])
    }).pipe(Effect.provide(env))
  )

  it.effect(
    "a message retried at once as the stream ends is not handed out again: it stays pending, the end does not wait",
    () =>
      Effect.gen(function* () {
        yield* fill("t9", 1)
        // The retry is delivered again while the stream closes: nobody reads it any more, so it is
        // let go unsettled at once (the TestClock never moves: a wait for drainTimeout would hang).
        const taken = yield* EventConsumer.stream({
          stream: "t9",
          group: "g",
          consumer: "m",
          from: "0"
        }).pipe(
          Stream.take(1),
          Stream.mapEffect((m) => (m._tag === "Gap" ? Effect.void : m.retry(Duration.zero))),
          Stream.runCollect
        )
        expect(Chunk.size(taken)).toBe(1)
        yield* quiet
        expect(yield* pendingOf("t9", "g")).toBe(1)
        expect(yield* entriesOf("t9:dead")).toEqual([])
      }).pipe(Effect.provide(env))
  )

  it.effect("the first settlement counts; a settlement after the stream ended does nothing", () =>
    Effect.gen(function* () {
      yield* fill("t6", 2)
      const [first, second] = Chunk.toReadonlyArray(
        yield* EventConsumer.stream({ stream: "t6", group: "g", from: "0", concurrency: 2 }).pipe(
          Stream.take(2),
          Stream.mapEffect((m) =>
            m._tag === "Gap" || numberOf(m) === 1
              ? Effect.succeed(m)
              : Effect.zipRight(Effect.zipRight(m.ack, m.deadLetter("too late")), Effect.succeed(m))
          ),
          Stream.runCollect
        )
      ) as ReadonlyArray<Delivered>
      expect(numberOf(first!)).toBe(0)
      // The first acknowledged, not dead-lettered.
      expect(yield* entriesOf("t6:dead")).toEqual([])
      // The second, settled after the end: still pending, nothing dead-lettered.
      yield* second!.deadLetter("after the end")
      yield* second!.ack
      yield* quiet
      expect(yield* pendingOf("t6", "g")).toBe(1)
      expect(yield* entriesOf("t6:dead")).toEqual([])
    }).pipe(Effect.provide(env))
  )

  it.effect("a gap comes out as a Gap, with nothing to settle, and the stream goes on", () =>
    Effect.gen(function* () {
      const [first, second] = yield* fill("t7", 2)
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      const groups = yield* GroupBackend.GroupBackend
      // A member that died holding both; the first then deleted from the stream.
      yield* groups.create("t7", "g", "0")
      const cursor = yield* Effect.scoped(groups.openCursor)
      yield* cursor.read("t7", "g", "dead", { count: 2, blockMillis: undefined, timeoutMillis: 1_000 })
      yield* memory.deleteEntries("t7", [first!])
      const out: Array<string> = []
      yield* Effect.fork(
        EventConsumer.stream({ stream: "t7", group: "g", consumer: "alive" }).pipe(
          Stream.runForEach((m) =>
            m._tag === "Gap"
              ? Effect.sync(() => out.push(`gap ${m.ids.join(",")}`))
              : Effect.zipRight(
                  Effect.sync(() => out.push(m.streamId)),
                  m.ack
                )
          )
        )
      )
      yield* TestClock.adjust("30 seconds")
      // The claim scan, cut short by the free concurrency after the gap, goes on after the next read.
      yield* quiet
      yield* TestClock.adjust("1 millis")
      yield* eventually(
        "both out",
        Effect.map(pendingOf("t7", "g"), (n) => n === 0 && out.length === 2)
      )
      expect(out).toEqual([`gap ${first}`, second])
    }).pipe(Effect.provide(env))
  )

  it.effect('a missing group under onMissingGroup: "fail" fails the stream with MissingGroup', () =>
    Effect.gen(function* () {
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      const run = yield* Effect.fork(
        EventConsumer.stream({ stream: "t8", group: "g", onMissingGroup: "fail" }).pipe(Stream.runDrain)
      )
      yield* eventually(
        "group made",
        Effect.map(pendingOf("t8", "g"), (n) => n === 0)
      )
      yield* memory.destroyGroup("t8", "g")
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(Fiber.join(run))
      expect(error._tag).toBe("MissingGroup")
    }).pipe(Effect.provide(env))
  )
})
