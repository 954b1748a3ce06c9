import { describe, expect, it } from "@effect/vitest"
import {
  EventBus,
  MemoryStreamBackend,
  PublishMetrics,
  PublishResult,
  StreamBackend,
  WireCodec
} from "@maf/events"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { captureLogs } from "./helpers/logs.js"

const wireOf = (entry: StreamBackend.StreamEntry) => JSON.parse(entry.fields[1]!) as Record<string, unknown>

/** A backend whose appends are decided by the test: pass through to memory, fail, or never answer. */
const controlledBackend = (behaviour: { mode: "ok" | "fail" | "hang" }) =>
  Layer.effect(
    StreamBackend.StreamBackend,
    Effect.map(MemoryStreamBackend.MemoryStreamBackend, (memory) => ({
      ...memory,
      append: (stream: string, bodies: ReadonlyArray<string>, options: StreamBackend.AppendOptions) =>
        behaviour.mode === "ok"
          ? memory.append(stream, bodies, options)
          : behaviour.mode === "hang"
            ? Effect.never
            : Effect.fail(
                new StreamBackend.StreamBackendError({ reason: "Unavailable", message: "connection refused" })
              )
    }))
  ).pipe(Layer.provideMerge(MemoryStreamBackend.layer))

describe("EventBus on the memory backend", () => {
  it.scoped("publish writes one entry with the wire shape and answers Written with its id", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      const result = yield* bus.publish({
        kind: "phase.complete",
        arena: "trading_intelligence",
        phase: "analysis",
        correlationId: "c0ffee",
        payload: { score: 0.9 }
      })
      const entries = yield* memory.entries("maf:events")
      expect(entries).toHaveLength(1)
      expect(result).toEqual(PublishResult.Written({ id: entries[0]!.id }))
      expect(entries[0]!.fields[0]).toBe("data")
      const body = wireOf(entries[0]!)
      expect(Object.keys(body)).toEqual([...WireCodec.bodyKeys])
      expect(body).toMatchObject({
        schema_version: "1",
        kind: "phase.complete",
        arena: "trading_intelligence",
        arena_id: "",
        phase: "analysis",
        correlation_id: "c0ffee",
        payload: { score: 0.9 }
      })
      expect(body.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/)
    }).pipe(Effect.provide(EventBus.layerMemory()))
  )

  it.scoped("publishNowait keeps the order of one publisher across batches, and flush waits for all", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      for (let i = 0; i < 1234; i++) {
        expect(yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })).toBe(true)
      }
      yield* bus.flush
      const entries = yield* memory.entries("maf:events")
      expect(entries.map((e) => (wireOf(e).payload as { i: number }).i)).toEqual(
        Array.from({ length: 1234 }, (_, i) => i)
      )
    }).pipe(Effect.provide(EventBus.layerMemory({ batchSize: 100 })))
  )

  it.scoped("an awaited publish lands after the events published before it without waiting", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      for (let i = 0; i < 120; i++) yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })
      const result = yield* bus.publish({ kind: "phase.complete", payload: { i: 120 } })
      const entries = yield* memory.entries("maf:events")
      expect(entries.map((e) => (wireOf(e).payload as { i: number }).i)).toEqual(
        Array.from({ length: 121 }, (_, i) => i)
      )
      expect(result).toEqual(PublishResult.Written({ id: entries[120]!.id }))
    }).pipe(Effect.provide(EventBus.layerMemory({ batchSize: 50 })))
  )

  it.effect("closing the scope drains the buffered events into the stream", () =>
    Effect.gen(function* () {
      const memory = yield* MemoryStreamBackend.make
      yield* Effect.scoped(
        Effect.gen(function* () {
          const bus = yield* EventBus.make({ batchSize: 7 })
          for (let i = 0; i < 100; i++) yield* bus.publishNowait({ kind: "llm.call", payload: { i } })
        }).pipe(Effect.provideService(StreamBackend.StreamBackend, memory))
      )
      expect(yield* memory.entries("maf:events")).toHaveLength(100)
    })
  )

  it.live(
    "under the live clock, a published event's ts is the time it was published, in microseconds, within a millisecond",
    () =>
      Effect.gen(function* () {
        const memory = yield* MemoryStreamBackend.MemoryStreamBackend
        const bus = yield* EventBus.EventBus
        const micros = (ts: string) => {
          const [, seconds, fraction] = /^(.{19})\.(\d{6})\+00:00$/.exec(ts) ?? []
          expect(fraction, ts).toBeDefined()
          return Date.parse(`${seconds}Z`) * 1000 + Number(fraction)
        }
        const before = Date.now() * 1000
        yield* bus.publish({ kind: "arena.start" })
        for (let i = 0; i < 20; i++) yield* bus.publishNowait({ kind: "llm.call", payload: { i } })
        yield* bus.flush
        const after = Date.now() * 1000 + 1000
        const stamps = (yield* memory.entries("maf:events")).map((entry) =>
          micros(wireOf(entry).ts as string)
        )
        expect(stamps).toHaveLength(21)
        for (const stamp of stamps) {
          expect(stamp).toBeGreaterThanOrEqual(before - 1000)
          expect(stamp).toBeLessThanOrEqual(after + 1000)
        }
        // In order, and finer than milliseconds: not every stamp on a whole millisecond.
        expect([...stamps].sort((a, b) => a - b)).toEqual(stamps)
        expect(stamps.some((stamp) => stamp % 1000 !== 0)).toBe(true)
      }).pipe(Effect.scoped, Effect.provide(EventBus.layerMemory()))
  )

  it.scoped("publishing an unknown kind is allowed (forward compatibility)", () =>
    Effect.gen(function* () {
      const result = yield* EventBus.publish({ kind: "trade.fill", payload: { qty: 3 } })
      expect(PublishResult.isWritten(result)).toBe(true)
    }).pipe(Effect.provide(EventBus.layerMemory()))
  )

  it.scoped("the stream option names the stream", () =>
    Effect.gen(function* () {
      yield* EventBus.publish({ kind: "arena.start" })
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      expect(yield* memory.entries("other")).toHaveLength(1)
      expect(yield* memory.entries("maf:events")).toHaveLength(0)
    }).pipe(Effect.provide(EventBus.layerMemory({ stream: "other" })))
  )

  it.scoped("maxlen trims the stream approximately, never below the cap", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      for (let i = 0; i < 1000; i++) yield* bus.publishNowait({ kind: "llm.call" })
      yield* bus.flush
      const info = yield* (yield* StreamBackend.StreamBackend).info("maf:events")
      expect(info.length).toBeGreaterThanOrEqual(250)
      expect(info.length).toBeLessThan(250 + MemoryStreamBackend.nodeSize)
      expect(info.entriesAdded).toBe(1000)
    }).pipe(Effect.provide(EventBus.layerMemory({ maxlen: 250 })))
  )
})

describe("EventBus never breaks the program", () => {
  it.scoped("publish answers NotWritten within the bound when the backend never answers", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(EventBus.publish({ kind: "arena.start" }))
      yield* TestClock.adjust("499 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      expect(result).toMatchObject({ _tag: "NotWritten", reason: "Timeout" })
    }).pipe(Effect.provide(EventBus.layer().pipe(Layer.provide(controlledBackend({ mode: "hang" })))))
  )

  it.scoped("publish answers NotWritten with the backend's reason when it fails", () =>
    Effect.gen(function* () {
      const result = yield* EventBus.publish({ kind: "arena.start" })
      expect(result).toEqual(
        PublishResult.NotWritten({ reason: "Unavailable", message: "connection refused" })
      )
    }).pipe(Effect.provide(EventBus.layer().pipe(Layer.provide(controlledBackend({ mode: "fail" })))))
  )

  it.effect("buffered events survive an outage and arrive in order after it", () =>
    Effect.gen(function* () {
      const behaviour: { mode: "ok" | "fail" | "hang" } = { mode: "fail" }
      const layer = EventBus.layer({ retrySchedule: Schedule.spaced("10 millis") }).pipe(
        Layer.provideMerge(controlledBackend(behaviour))
      )
      yield* Effect.scoped(
        Effect.gen(function* () {
          const bus = yield* EventBus.EventBus
          const memory = yield* MemoryStreamBackend.MemoryStreamBackend
          for (let i = 0; i < 50; i++) yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })
          yield* TestClock.adjust("1 second")
          expect(yield* memory.entries("maf:events")).toHaveLength(0)
          behaviour.mode = "ok"
          yield* TestClock.adjust("10 millis")
          yield* bus.flush
          const entries = yield* memory.entries("maf:events")
          expect(entries.map((e) => (wireOf(e).payload as { i: number }).i)).toEqual(
            Array.from({ length: 50 }, (_, i) => i)
          )
        }).pipe(Effect.provide(layer))
      )
    })
  )

  for (const [clock, run] of [
    ["the live clock (the caller's fiber)", it.live],
    ["the TestClock (a fiber of the bus's own)", it.effect]
  ] as const) {
    run(
      `an awaited publish counts in the stream's total and latency, with the fiber's labels: ${clock}`,
      () =>
        Effect.gen(function* () {
          const stream = `metrics-awaited-${clock.length}`
          const bus = yield* EventBus.EventBus
          const ofStream = <M extends Metric.Metric<any, any, any>>(metric: M) =>
            metric.pipe(Metric.tagged("stream", stream)) as M
          const published = ofStream(PublishMetrics.published)
          const latency = ofStream(PublishMetrics.publishLatency)
          const labelled = ofStream(PublishMetrics.published).pipe(Metric.tagged("team", "risk"))
          expect((yield* bus.publish({ kind: "phase.start" }))._tag).toBe("Written")
          expect(
            (yield* bus.publish({ kind: "phase.start" }).pipe(Effect.tagMetrics("team", "risk")))._tag
          ).toBe("Written")
          expect((yield* Metric.value(published)).count).toBe(1)
          expect((yield* Metric.value(labelled)).count).toBe(1)
          expect((yield* Metric.value(latency)).count).toBe(1)
        }).pipe(Effect.provide(EventBus.layerMemory({ stream: `metrics-awaited-${clock.length}` })))
    )
  }

  /** The memory backend with every append answered `millis` later, by the fiber's clock. */
  const slowBackend = (millis: number) =>
    Layer.effect(
      StreamBackend.StreamBackend,
      Effect.map(MemoryStreamBackend.MemoryStreamBackend, (memory) => ({
        ...memory,
        append: (stream: string, bodies: ReadonlyArray<string>, options: StreamBackend.AppendOptions) =>
          Effect.delay(memory.append(stream, bodies, options), `${millis} millis`)
      }))
    ).pipe(Layer.provideMerge(MemoryStreamBackend.layer))

  const latencyOf = (stream: string) =>
    Effect.map(
      Metric.value(PublishMetrics.publishLatency.pipe(Metric.tagged("stream", stream))),
      (state) => ({ count: state.count, sum: state.sum })
    )

  it.effect("the publish latency is the time the append took by the TestClock", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const publishing = yield* Effect.fork(bus.publish({ kind: "phase.start" }))
      yield* TestClock.adjust("250 millis")
      expect((yield* Fiber.join(publishing))._tag).toBe("Written")
      expect(yield* latencyOf("latency-test-clock")).toEqual({ count: 1, sum: 250 })
    }).pipe(
      Effect.provide(
        EventBus.layer({ stream: "latency-test-clock" }).pipe(Layer.provideMerge(slowBackend(250)))
      )
    )
  )

  it.live("the publish latency is the time the append took by the live clock", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      expect((yield* bus.publish({ kind: "phase.start" }))._tag).toBe("Written")
      const { count, sum } = yield* latencyOf("latency-live-clock")
      expect(count).toBe(1)
      // A 40 ms timer fires after 40 ms at the earliest (a millisecond's leeway for the timer's own
      // rounding), and a loaded machine can make it later.
      expect(sum).toBeGreaterThanOrEqual(39)
      expect(sum).toBeLessThan(5_000)
    }).pipe(
      Effect.provide(
        EventBus.layer({ stream: "latency-live-clock" }).pipe(Layer.provideMerge(slowBackend(40)))
      )
    )
  )

  it.live("a full buffer drops the newest events, counts them, and never blocks", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const dropped = PublishMetrics.dropped.pipe(Metric.tagged("stream", "overflow-newest"))
      const before = (yield* Metric.value(dropped)).count
      const taken: Array<boolean> = []
      for (let i = 0; i < 30; i++) taken.push(yield* bus.publishNowait({ kind: "llm.call", payload: { i } }))
      // The writer holds one batch (up to 5) in flight; the buffer holds 10 more.
      expect(taken.filter((t) => !t).length).toBeGreaterThanOrEqual(15)
      expect((yield* Metric.value(dropped)).count - before).toBe(taken.filter((t) => !t).length)
    }).pipe(
      Effect.provide(
        EventBus.layer({
          stream: "overflow-newest",
          bufferCapacity: 10,
          batchSize: 5,
          drainTimeout: "1 millis"
        }).pipe(Layer.provide(controlledBackend({ mode: "hang" })))
      )
    )
  )

  it.live(
    "a tight publishNowait loop lets the event loop run while batches go unanswered, once a batch's worth of events",
    () => {
      // Counts turns of the event loop's check phase while the loop below runs: a loop of Effect steps
      // alone never gives one (Effect yields to microtasks).
      const turns = { count: 0, stop: false }
      const turn = () => {
        turns.count++
        if (!turns.stop) setImmediate(turn)
      }
      const loop = (n: number) =>
        Effect.gen(function* () {
          const bus = yield* EventBus.EventBus
          turns.count = 0
          turns.stop = false
          setImmediate(turn)
          for (let i = 0; i < n; i++) yield* bus.publishNowait({ kind: "llm.call", payload: { i } })
          turns.stop = true
          return turns.count
        })
      const bus = (mode: "ok" | "hang", bufferCapacity = 100_000) =>
        EventBus.layer({
          stream: `yield-${mode}-${bufferCapacity}`,
          batchSize: 100,
          bufferCapacity,
          drainTimeout: "1 millis"
        }).pipe(Layer.provide(controlledBackend({ mode })))
      // A turn every 100 events after the first two batches: 48 of them. Effect's scheduler may add
      // turns of its own (a `setTimeout` after 2,048 yields to microtasks in a row): up to about
      // twice as many were seen with the whole suite running. A turn an event would be 5,000.
      const perBatch = (turns: number) => {
        expect(turns).toBeGreaterThanOrEqual(40)
        expect(turns).toBeLessThanOrEqual(150)
      }
      return Effect.gen(function* () {
        // Unanswered batches.
        perBatch(yield* loop(5_000).pipe(Effect.provide(bus("hang"))))
        // The same once the buffer is full and events are dropped.
        perBatch(yield* loop(5_000).pipe(Effect.provide(bus("hang", 300))))
        // Batches answered at once: nothing to wait for, no turn given.
        expect(yield* loop(5_000).pipe(Effect.provide(bus("ok")))).toBe(0)
      })
    }
  )

  it.effect("dropOldest keeps the newest events when the buffer overflows", () =>
    Effect.gen(function* () {
      const behaviour: { mode: "ok" | "fail" | "hang" } = { mode: "fail" }
      const layer = EventBus.layer({
        stream: "overflow-oldest",
        bufferCapacity: 10,
        batchSize: 10,
        overflow: "dropOldest",
        retrySchedule: Schedule.spaced("10 millis")
      }).pipe(Layer.provideMerge(controlledBackend(behaviour)))
      yield* Effect.scoped(
        Effect.gen(function* () {
          const bus = yield* EventBus.EventBus
          const memory = yield* MemoryStreamBackend.MemoryStreamBackend
          // The first event is taken by the writer at once and waits for the backend in its batch.
          yield* bus.publishNowait({ kind: "llm.call", payload: { i: 0 } })
          yield* TestClock.adjust("1 millis")
          for (let i = 1; i < 40; i++)
            expect(yield* bus.publishNowait({ kind: "llm.call", payload: { i } })).toBe(true)
          behaviour.mode = "ok"
          yield* TestClock.adjust("1 second")
          yield* bus.flush
          const written = (yield* memory.entries("overflow-oldest")).map(
            (e) => (wireOf(e).payload as { i: number }).i
          )
          expect(written).toEqual([0, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39])
        }).pipe(Effect.provide(layer))
      )
    })
  )

  it.effect(
    "closing gives up after the drain deadline when the backend never answers, counting the loss",
    () =>
      Effect.gen(function* () {
        const dropped = PublishMetrics.dropped.pipe(Metric.tagged("stream", "drain-deadline"))
        const before = (yield* Metric.value(dropped)).count
        const layer = EventBus.layer({
          stream: "drain-deadline",
          drainTimeout: "2 seconds",
          batchSize: 10
        }).pipe(Layer.provide(controlledBackend({ mode: "hang" })))
        const run = Effect.scoped(
          Effect.gen(function* () {
            const bus = yield* EventBus.EventBus
            for (let i = 0; i < 25; i++) yield* bus.publishNowait({ kind: "llm.call" })
          }).pipe(Effect.provide(layer))
        )
        const fiber = yield* Effect.fork(run)
        // Wait until closing has begun: its deadline is the one sleep due at 2 s.
        while (!Chunk.some(yield* TestClock.sleeps(), (due) => due === 2000)) yield* Effect.yieldNow()
        yield* TestClock.adjust("1999 millis")
        expect(fiber.unsafePoll()).toBeNull()
        yield* TestClock.adjust("1 millis")
        yield* Fiber.join(fiber)
        expect((yield* Metric.value(dropped)).count - before).toBe(25)
      })
  )

  it.effect(
    "closing while failed batches are being retried: the drain deadline counts their events as dropped",
    () =>
      Effect.gen(function* () {
        const dropped = PublishMetrics.dropped.pipe(Metric.tagged("stream", "drain-retrying"))
        const before = (yield* Metric.value(dropped)).count
        // Every append fails: the writer holds the failed batches in its retries (out of flight).
        const layer = EventBus.layer({
          stream: "drain-retrying",
          drainTimeout: "2 seconds",
          batchSize: 10,
          retrySchedule: Schedule.spaced("10 seconds")
        }).pipe(Layer.provide(controlledBackend({ mode: "fail" })))
        const run = Effect.scoped(
          Effect.gen(function* () {
            const bus = yield* EventBus.EventBus
            for (let i = 0; i < 25; i++) yield* bus.publishNowait({ kind: "llm.call" })
            // The first attempts fail; the retries wait 10 s.
            yield* TestClock.adjust("1 millis")
          }).pipe(Effect.provide(layer))
        )
        const fiber = yield* Effect.fork(run)
        while (!Chunk.some(yield* TestClock.sleeps(), (due) => due === 2001)) yield* Effect.yieldNow()
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.join(fiber)
        // Taken, never written, and every one counted: none vanishes with the retries cut.
        expect((yield* Metric.value(dropped)).count - before).toBe(25)
      })
  )

  it.effect(
    "failures are logged at the start of a streak, then at most every 100 failures and 5 s, recovery once",
    () =>
      Effect.gen(function* () {
        const logs = captureLogs()
        const behaviour: { mode: "ok" | "fail" | "hang" } = { mode: "fail" }
        const layer = EventBus.layer().pipe(Layer.provide(controlledBackend(behaviour)))
        yield* Effect.scoped(
          Effect.gen(function* () {
            const bus = yield* EventBus.EventBus
            // 250 failures 50 ms apart: lines at the 1st, the 101st (5 s later) and the 201st.
            for (let i = 0; i < 250; i++) {
              yield* bus.publish({ kind: "llm.call" })
              yield* TestClock.adjust("50 millis")
            }
            behaviour.mode = "ok"
            yield* bus.publish({ kind: "llm.call" })
            yield* bus.publish({ kind: "llm.call" })
          }).pipe(Effect.provide(layer))
        ).pipe(Effect.provide(logs.layer))
        const publishLines = logs.lines.filter((l) => l.includes("EventBus publish"))
        expect(publishLines).toHaveLength(4)
        expect(publishLines[0]).toMatch(/^WARN EventBus publish failed: Unavailable: connection refused/)
        expect(publishLines[1]).toMatch(
          /^WARN EventBus publish still failing after 101 attempts \(100 since the last line\)/
        )
        expect(publishLines[2]).toMatch(
          /^WARN EventBus publish still failing after 201 attempts \(100 since the last line\)/
        )
        expect(publishLines[3]).toMatch(/^INFO EventBus publish recovered after 250 failures/)
      })
  )

  it.effect("a burst of failures within one interval logs one line, and the recovery counts them all", () =>
    Effect.gen(function* () {
      const logs = captureLogs()
      const behaviour: { mode: "ok" | "fail" | "hang" } = { mode: "fail" }
      const layer = EventBus.layer().pipe(Layer.provide(controlledBackend(behaviour)))
      yield* Effect.scoped(
        Effect.gen(function* () {
          const bus = yield* EventBus.EventBus
          for (let i = 0; i < 5_000; i++) yield* bus.publish({ kind: "llm.call" })
          yield* TestClock.adjust("4999 millis")
          yield* bus.publish({ kind: "llm.call" })
          yield* TestClock.adjust("1 millis")
          // The 5,002nd failure, 5 s after the first line: the second line, counting what it stands for.
          yield* bus.publish({ kind: "llm.call" })
          behaviour.mode = "ok"
          yield* bus.publish({ kind: "llm.call" })
        }).pipe(Effect.provide(layer))
      ).pipe(Effect.provide(logs.layer))
      const publishLines = logs.lines.filter((l) => l.includes("EventBus publish"))
      expect(publishLines).toHaveLength(3)
      expect(publishLines[1]).toMatch(/still failing after 5002 attempts \(5001 since the last line\)/)
      expect(publishLines[2]).toMatch(/^INFO EventBus publish recovered after 5002 failures/)
    })
  )

  it.effect("invalid options are a defect found when the layer is built", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.scoped(EventBus.make({ batchSize: 0 }).pipe(Effect.provide(MemoryStreamBackend.layer)))
      )
      expect(exit._tag).toBe("Failure")
      expect(String(exit._tag === "Failure" ? exit.cause : "")).toMatch(
        /batchSize must be an integer >= 1, got 0/
      )
    })
  )
})

describe("EventBus.layerNull", () => {
  it.effect("publishes nothing and answers at once", () =>
    Effect.gen(function* () {
      expect(yield* EventBus.publish({ kind: "arena.start" })).toEqual(
        PublishResult.NotWritten({ reason: "Disabled", message: "the bus is disabled" })
      )
      expect(yield* EventBus.publishNowait({ kind: "arena.start" })).toBe(false)
    }).pipe(Effect.provide(EventBus.layerNull))
  )
})

describe("EventBus on hostile input and a faulty backend", () => {
  it.scoped(
    "an input whose getters throw: publish answers NotWritten, publishNowait false; nothing throws",
    () =>
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const hostile = {
          kind: "arena.start",
          get ts(): string {
            throw new Error("no time for you")
          }
        }
        expect(yield* bus.publish(hostile)).toMatchObject({ _tag: "NotWritten", reason: "Rejected" })
        expect(yield* bus.publishNowait(hostile)).toBe(false)
        expect(PublishResult.isWritten(yield* bus.publish({ kind: "arena.start" }))).toBe(true)
      }).pipe(Effect.provide(EventBus.layerMemory()))
  )

  it.live("a backend defect does not stop the writer: the batch is retried and written", () =>
    Effect.gen(function* () {
      let defects = 1
      const dying = Layer.effect(
        StreamBackend.StreamBackend,
        Effect.map(MemoryStreamBackend.MemoryStreamBackend, (memory) => ({
          ...memory,
          append: (stream: string, bodies: ReadonlyArray<string>, options: StreamBackend.AppendOptions) =>
            defects-- > 0
              ? Effect.die(new TypeError("reply of an unexpected shape"))
              : memory.append(stream, bodies, options)
        }))
      ).pipe(Layer.provideMerge(MemoryStreamBackend.layer))
      yield* Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const memory = yield* MemoryStreamBackend.MemoryStreamBackend
        for (let i = 0; i < 10; i++) yield* bus.publishNowait({ kind: "llm.call", payload: { i } })
        yield* bus.flush
        expect(
          (yield* memory.entries("maf:events")).map((e) => (wireOf(e).payload as { i: number }).i)
        ).toEqual(Array.from({ length: 10 }, (_, i) => i))
      }).pipe(
        Effect.provide(
          EventBus.layer({ retrySchedule: Schedule.spaced("5 millis") }).pipe(Layer.provideMerge(dying))
        ),
        Effect.scoped
      )
    })
  )
})

describe("EventBus with very long bounds", () => {
  it.live("a publish timeout beyond what a host timer can wait (30 days) is not cut short", () =>
    Effect.gen(function* () {
      // A backend that takes 30 ms: a bound clamped to 1 ms by the host timer would answer Timeout.
      const slow = Layer.effect(
        StreamBackend.StreamBackend,
        Effect.map(MemoryStreamBackend.MemoryStreamBackend, (memory) => ({
          ...memory,
          append: (stream: string, bodies: ReadonlyArray<string>, options: StreamBackend.AppendOptions) =>
            Effect.zipRight(Effect.sleep("30 millis"), memory.append(stream, bodies, options))
        }))
      ).pipe(Layer.provideMerge(MemoryStreamBackend.layer))
      const result = yield* EventBus.publish({ kind: "arena.start" }).pipe(
        Effect.provide(EventBus.layer({ publishTimeout: "30 days" }).pipe(Layer.provide(slow)))
      )
      expect(PublishResult.isWritten(result)).toBe(true)
    })
  )
})
