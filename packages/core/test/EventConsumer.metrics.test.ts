/**
 * EventConsumer's metrics (memory backend, `TestClock`), each tagged with `stream` and `group`:
 * handled (each delivery), acked, retried, dead-lettered, claimed, lost (pending entries removed
 * from the stream), missing group, consumers removed, the pending and lag gauges (the lag keeps
 * its last value while the server cannot tell), and the handler's duration.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { ConsumerMetrics, EventConsumer, GroupBackend, MemoryStreamBackend } from "../src/index.js"
import { env, eventually, fill, info, pendingOf, quiet } from "./helpers/consumerKit.js"

const of = <M extends Metric.Metric<any, any, any>>(metric: M, stream: string, group = "g"): M =>
  metric.pipe(Metric.tagged("stream", stream), Metric.tagged("group", group)) as M

const count = (metric: Metric.Metric.Counter<number>, stream: string) =>
  Effect.map(Metric.value(of(metric, stream)), (state) => state.count)

const gauge = (metric: Metric.Metric.Gauge<number>, stream: string) =>
  Effect.map(Metric.value(of(metric, stream)), (state) => state.value)

describe("EventConsumer metrics (memory backend, TestClock)", () => {
  it.effect("each outcome is counted, tagged with stream and group; the handler's duration is measured", () =>
    Effect.gen(function* () {
      const stream = "m1"
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      const groups = yield* GroupBackend.GroupBackend
      const [claimable, removed] = yield* fill(stream, 2)
      // A member that died holding two entries; one of them is then deleted from the stream.
      yield* groups.create(stream, "g", "0")
      const cursor = yield* Effect.scoped(groups.openCursor)
      yield* cursor.read(stream, "g", "dead", { count: 2, blockMillis: undefined, timeoutMillis: 1_000 })
      yield* memory.deleteEntries(stream, [removed!])
      // Then: one acknowledged, one failing once, one dead-lettered.
      yield* fill(stream, 3)
      yield* Effect.fork(
        EventConsumer.consume({
          stream,
          group: "g",
          consumer: "alive",
          retrySchedule: Schedule.exponential(Duration.millis(100)) as Schedule.Schedule<Duration.Duration>,
          handler: (m) =>
            Effect.zipRight(
              Effect.sleep("5 millis"),
              m._tag !== "UnknownKind"
                ? Effect.void
                : (m.body.payload as { n: number }).n === 1 && m.deliveryCount === 1
                  ? Effect.fail("once")
                  : (m.body.payload as { n: number }).n === 2
                    ? Effect.succeed(EventConsumer.Outcome.DeadLetter({ reason: "no" }))
                    : Effect.void
            )
        })
      )
      for (let i = 0; i < 40; i++) {
        yield* quiet
        yield* TestClock.adjust("1 second")
      }
      yield* eventually(
        "all settled",
        Effect.map(pendingOf(stream, "g"), (n) => n === 0)
      )
      expect(claimable).toBeDefined()
      // Deliveries: the claimed one, the three new ones, and the retry.
      expect(yield* count(ConsumerMetrics.handled, stream)).toBe(5)
      expect(yield* count(ConsumerMetrics.acked, stream)).toBe(3)
      expect(yield* count(ConsumerMetrics.retried, stream)).toBe(1)
      expect(yield* count(ConsumerMetrics.deadLettered, stream)).toBe(1)
      expect(yield* count(ConsumerMetrics.claimed, stream)).toBe(1)
      expect(yield* count(ConsumerMetrics.lost, stream)).toBe(1)
      // The gauges, as of the last full claim scan.
      expect(yield* gauge(ConsumerMetrics.pending, stream)).toBe(0)
      expect(yield* gauge(ConsumerMetrics.lag, stream)).toBe(0)
      // Each delivery and the gap were handed to the handler, 5 ms each by the TestClock.
      const durations = yield* Metric.value(of(ConsumerMetrics.handlerDuration, stream))
      expect(durations.count).toBe(6)
      expect(durations.min).toBe(5)
      expect(durations.max).toBe(5)
      // Another group's metrics are its own.
      expect(
        yield* Effect.map(Metric.value(of(ConsumerMetrics.handled, stream, "other")), (s) => s.count)
      ).toBe(0)
    }).pipe(Effect.provide(env))
  )

  it.effect(
    "the pending gauge follows the group; the lag keeps its last value while the server cannot tell",
    () =>
      Effect.gen(function* () {
        const stream = "m2"
        const memory = yield* MemoryStreamBackend.MemoryStreamBackend
        yield* fill(stream, 1)
        const member = yield* Effect.fork(
          EventConsumer.consume({
            stream,
            group: "g",
            from: "0",
            handler: () => Effect.never,
            drainTimeout: Duration.zero
          })
        )
        yield* quiet
        // Held: one pending; three more added behind it, not delivered (concurrency 1).
        const behind = yield* fill(stream, 3)
        yield* TestClock.adjust("15 seconds")
        yield* quiet
        expect(yield* gauge(ConsumerMetrics.pending, stream)).toBe(1)
        expect(yield* gauge(ConsumerMetrics.lag, stream)).toBe(3)
        // An entry after the group's position deleted: Redis 7.0 cannot tell the lag any more.
        yield* memory.deleteEntries(stream, [behind[1]!])
        expect((yield* info(stream, "g")).lag).toBeUndefined()
        yield* TestClock.adjust("15 seconds")
        yield* quiet
        expect(yield* gauge(ConsumerMetrics.lag, stream)).toBe(3)
        yield* Fiber.interrupt(member)
      }).pipe(Effect.provide(env))
  )

  it.effect("a missing group and housekeeping's removals are counted", () =>
    Effect.gen(function* () {
      const stream = "m3"
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      const groups = yield* GroupBackend.GroupBackend
      yield* groups.create(stream, "g", "0")
      const [id] = yield* fill(stream, 1)
      const cursor = yield* Effect.scoped(groups.openCursor)
      yield* cursor.read(stream, "g", "gone", { count: 1, blockMillis: undefined, timeoutMillis: 1_000 })
      yield* groups.ack(stream, "g", [id!])
      yield* Effect.fork(
        EventConsumer.consume({
          stream,
          group: "g",
          removeIdleConsumersAfter: Duration.zero,
          handler: () => Effect.void
        })
      )
      yield* eventually(
        "gone removed",
        Effect.flatMap(count(ConsumerMetrics.consumersRemoved, stream), (n) => Effect.succeed(n === 1))
      )
      yield* memory.destroyGroup(stream, "g")
      yield* TestClock.adjust("1 second")
      yield* eventually(
        "missing counted",
        Effect.map(count(ConsumerMetrics.missingGroup, stream), (n) => n >= 1)
      )
    }).pipe(Effect.provide(env))
  )
})
