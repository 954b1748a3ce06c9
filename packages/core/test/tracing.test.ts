/**
 * Tracing through Effect's own tracer, on the in-memory backend, with a tracer that records what it
 * is given: the spans' names, kinds, attributes (OpenTelemetry's messaging conventions), parents and
 * links; the `traceparent` field beside `data` that carries the producer's context across the bus;
 * the results and deliveries that expose it; propagation turned off; nothing written or made where
 * no span would be seen.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import {
  EventBus,
  EventConsumer,
  EventReader,
  MemoryStreamBackend,
  PublishResult,
  StreamBackend,
  Tracing
} from "../src/index.js"
import { wrappedCursors } from "./helpers/reader.js"
import * as RecordingTracer from "./helpers/recordingTracer.js"

const memory = MemoryStreamBackend.MemoryStreamBackend
const entriesOf = (stream: string) => Effect.flatMap(memory, (m) => m.entries(stream))

const env = (options: EventBus.Options = {}) =>
  Layer.mergeAll(EventBus.layer(options), EventReader.layer, EventConsumer.layer).pipe(
    Layer.provideMerge(MemoryStreamBackend.layer)
  )

/** Polls `check` until it holds (every 5 ms, up to 5 s). */
const until = <R>(what: string, check: Effect.Effect<boolean, unknown, R>) =>
  check.pipe(
    Effect.filterOrFail(
      (ok) => ok,
      () => new Error(`not yet: ${what}`)
    ),
    Effect.retry(Schedule.spaced(Duration.millis(5)).pipe(Schedule.upTo(Duration.seconds(5))))
  )

const messaging = (stream: string, type: string, name: string) => ({
  "messaging.system": "memory",
  "messaging.destination.name": stream,
  "messaging.operation.type": type,
  "messaging.operation.name": name
})

const attributesOf = (span: RecordingTracer.RecordedSpan) => Object.fromEntries(span.attributes)

describe("Tracing: publishing", () => {
  it.live("an awaited publish is a send span (producer) whose context the entry carries beside data", () => {
    const { tracer, named } = RecordingTracer.make()
    return Effect.gen(function* () {
      const result = yield* EventBus.publish({ kind: "arena.start", arena: "a" }).pipe(
        Effect.withSpan("caller")
      )
      expect(result._tag).toBe("Written")
      const [send] = named("send maf:events")
      const [caller] = named("caller")
      expect(send!.kind).toBe("producer")
      expect(send!.parentSpanId).toBe(caller!.spanId)
      expect(send!.traceId).toBe(caller!.traceId)
      expect(attributesOf(send!)).toEqual({
        ...messaging("maf:events", "send", "publish"),
        "messaging.message.id": (result as { id: string }).id
      })
      expect(send!.ended && !send!.failed).toBe(true)
      const [entry] = yield* entriesOf("maf:events")
      expect(entry!.fields[0]).toBe("data")
      expect(entry!.fields.slice(2)).toEqual(["traceparent", send!.traceparent])
    }).pipe(Effect.provide(env()), Effect.withTracer(tracer))
  })

  it.live("an awaited publish that is not written ends its send span failed, with error.type", () => {
    const { tracer, named } = RecordingTracer.make()
    const failing = Layer.effect(
      StreamBackend.StreamBackend,
      Effect.map(memory, (m) => ({
        ...m,
        append: () =>
          Effect.fail(new StreamBackend.StreamBackendError({ reason: "Unavailable", message: "down" }))
      }))
    ).pipe(Layer.provideMerge(MemoryStreamBackend.layer))
    return Effect.gen(function* () {
      const result = yield* EventBus.publish({ kind: "arena.start" })
      expect(result).toEqual(PublishResult.NotWritten({ reason: "Unavailable", message: "down" }))
      const [send] = named("send maf:events")
      expect(send!.failed).toBe(true)
      expect(send!.attributes.get("error.type")).toBe("Unavailable")
    }).pipe(Effect.provide(EventBus.layer().pipe(Layer.provide(failing))), Effect.withTracer(tracer))
  })

  it.live(
    "fire-and-forget events carry the span they were published in; their batch is a send span linking to it",
    () => {
      const { tracer, named } = RecordingTracer.make()
      return Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        yield* Effect.gen(function* () {
          for (let i = 0; i < 3; i++) yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })
        }).pipe(Effect.withSpan("handler"))
        yield* bus.publishNowait({ kind: "agent.signal", payload: { i: 3 } }).pipe(Effect.withSpan("other"))
        yield* bus.flush
        const [handler] = named("handler")
        const [other] = named("other")
        const entries = yield* entriesOf("maf:events")
        expect(entries.map((e) => e.fields[3])).toEqual([
          handler!.traceparent,
          handler!.traceparent,
          handler!.traceparent,
          other!.traceparent
        ])
        const batches = named("send maf:events")
        expect(batches.length).toBeGreaterThanOrEqual(1)
        for (const batch of batches) {
          expect(batch.kind).toBe("producer")
          expect(batch.parentSpanId).toBeUndefined()
          expect(batch.attributes.get("messaging.operation.name")).toBe("publish_batch")
          expect(batch.ended && !batch.failed).toBe(true)
        }
        expect(
          batches.reduce((n, b) => n + (b.attributes.get("messaging.batch.message_count") as number), 0)
        ).toBe(4)
        expect(new Set(batches.flatMap((b) => b.linkedSpanIds))).toEqual(
          new Set([handler!.spanId, other!.spanId])
        )
      }).pipe(Effect.provide(env()), Effect.withTracer(tracer))
    }
  )

  it.live(
    "a batch retried after a failure: each attempt is a send span, the first failed, the entries traced",
    () => {
      const { tracer, named } = RecordingTracer.make()
      let appends = 0
      const failingOnce = Layer.effect(
        StreamBackend.StreamBackend,
        Effect.map(memory, (m) => ({
          ...m,
          append: (stream: string, bodies: ReadonlyArray<string>, options: StreamBackend.AppendOptions) =>
            ++appends === 1
              ? Effect.fail(new StreamBackend.StreamBackendError({ reason: "Unavailable", message: "down" }))
              : m.append(stream, bodies, options)
        }))
      ).pipe(Layer.provideMerge(MemoryStreamBackend.layer))
      return Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        yield* Effect.gen(function* () {
          yield* bus.publishNowait({ kind: "agent.signal", payload: { i: 0 } })
          yield* bus.publishNowait({ kind: "agent.signal", payload: { i: 1 } })
        }).pipe(Effect.withSpan("handler"))
        yield* bus.flush
        const [handler] = named("handler")
        const attempts = named("send maf:events")
        expect(attempts.map((a) => a.failed)).toEqual([true, false])
        expect(attempts.map((a) => a.linkedSpanIds)).toEqual([[handler!.spanId], [handler!.spanId]])
        const entries = yield* entriesOf("maf:events")
        expect(entries.map((e) => e.fields[3])).toEqual([handler!.traceparent, handler!.traceparent])
      }).pipe(
        Effect.provide(
          EventBus.layer({ retrySchedule: Schedule.spaced("5 millis") }).pipe(Layer.provideMerge(failingOnce))
        ),
        Effect.withTracer(tracer)
      )
    }
  )

  it.live("propagateTrace: false writes data alone; the spans are still made", () => {
    const { tracer, named } = RecordingTracer.make()
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.publish({ kind: "arena.start" })
      yield* bus.publishNowait({ kind: "arena.start" })
      yield* bus.flush
      const entries = yield* entriesOf("maf:events")
      expect(entries.map((e) => e.fields.length)).toEqual([2, 2])
      expect(named("send maf:events").length).toBeGreaterThanOrEqual(2)
    }).pipe(
      Effect.withSpan("caller"),
      Effect.provide(env({ propagateTrace: false })),
      Effect.withTracer(tracer)
    )
  })

  it.live("without a tracer and outside any span, nothing is traced: entries are data alone", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.publish({ kind: "arena.start" })
      yield* bus.publishNowait({ kind: "arena.start" })
      yield* bus.flush
      const entries = yield* entriesOf("maf:events")
      expect(entries.map((e) => e.fields.length)).toEqual([2, 2])
    }).pipe(Effect.provide(env()))
  )

  it.live(
    "without a tracer but inside a span (Effect's built-in tracer), the entry continues that span's trace",
    () =>
      Effect.gen(function* () {
        const outer = yield* Effect.currentSpan
        yield* EventBus.publish({ kind: "arena.start" })
        const [entry] = yield* entriesOf("maf:events")
        const carried = Tracing.fromFields(entry!.fields)
        expect(Option.map(carried, (span) => span.traceId)).toEqual(Option.some(outer.traceId))
        // A span of its own: the send span, not the caller's.
        expect(Option.map(carried, (span) => span.spanId)).not.toEqual(Option.some(outer.spanId))
      }).pipe(Effect.withSpan("outer"), Effect.provide(env()))
  )

  it.live("Effect.withTracerEnabled(false): no spans, no traceparent", () => {
    const { tracer, spans } = RecordingTracer.make()
    return Effect.gen(function* () {
      yield* EventBus.publish({ kind: "arena.start" })
      const [entry] = yield* entriesOf("maf:events")
      expect(entry!.fields.length).toBe(2)
      expect(spans.filter((s) => s.name.startsWith("send"))).toEqual([])
    }).pipe(Effect.provide(env()), Effect.withTracerEnabled(false), Effect.withTracer(tracer))
  })
})

describe("Tracing: reading", () => {
  it.live(
    "a read is a receive span (client) linking to the producers; each result carries its producer's span",
    () => {
      const { tracer, named } = RecordingTracer.make()
      return Effect.gen(function* () {
        yield* EventBus.publish({ kind: "arena.start" }).pipe(Effect.withSpan("p1"))
        yield* EventBus.publish({ kind: "arena.complete" }).pipe(Effect.withSpan("p2"))
        const results = yield* EventReader.stream({ from: "0" }).pipe(Stream.take(2), Stream.runCollect)
        const sends = named("send maf:events")
        expect(Array.from(results, (r) => (r._tag === "Gap" ? undefined : r.producerSpan?.spanId))).toEqual(
          sends.map((s) => s.spanId)
        )
        const [receive] = named("receive maf:events")
        expect(receive!.kind).toBe("client")
        expect(attributesOf(receive!)).toEqual({
          ...messaging("maf:events", "receive", "read"),
          "messaging.batch.message_count": 2
        })
        expect(receive!.linkedSpanIds).toEqual(sends.map((s) => s.spanId))
        expect(receive!.traceId).not.toBe(sends[0]!.traceId)
      }).pipe(Effect.provide(env()), Effect.withTracer(tracer))
    }
  )

  it.live("a reader with propagateTrace: false neither exposes nor links the producer's span", () => {
    const { tracer, named } = RecordingTracer.make()
    return Effect.gen(function* () {
      yield* EventBus.publish({ kind: "arena.start" }).pipe(Effect.withSpan("p1"))
      const [result] = yield* EventReader.stream({ from: "0", propagateTrace: false }).pipe(
        Stream.take(1),
        Stream.runCollect
      )
      expect(result!._tag === "KnownEvent" && result!.producerSpan).toBe(undefined)
      const [receive] = named("receive maf:events")
      expect(receive!.links).toEqual([])
      expect(receive!.attributes.get("messaging.message.id")).toBe(result!.streamId)
    }).pipe(Effect.provide(env()), Effect.withTracer(tracer))
  })

  it.live("reads that find nothing are not spans", () => {
    const { tracer, named } = RecordingTracer.make()
    let reads = 0
    const counted = wrappedCursors((cursor) => ({
      ...cursor,
      read: (stream, after, options) =>
        Effect.ensuring(
          cursor.read(stream, after, options),
          Effect.sync(() => reads++)
        )
    }))
    return Effect.gen(function* () {
      const fiber = yield* EventReader.stream({ from: "0", block: "5 millis" }).pipe(
        Stream.runDrain,
        Effect.fork
      )
      yield* until(
        "three empty reads",
        Effect.sync(() => reads >= 3)
      )
      yield* Fiber.interrupt(fiber)
      expect(named("receive maf:events")).toEqual([])
    }).pipe(Effect.provide(EventReader.layer.pipe(Layer.provide(counted))), Effect.withTracer(tracer))
  })
})

describe("Tracing: consumer groups", () => {
  const fast = { minIdle: Duration.millis(300), block: Duration.millis(20), from: "0", group: "g" } as const

  /** Runs a member of group `g` (from `"0"`) until `done` holds, then stops it. */
  const memberUntil = <R>(
    what: string,
    options: Omit<EventConsumer.ConsumeOptions<any, R>, "group">,
    done: () => boolean
  ) =>
    Effect.gen(function* () {
      const fiber = yield* EventConsumer.consume({ ...fast, ...options }).pipe(Effect.fork)
      yield* until(what, Effect.sync(done))
      yield* Fiber.interrupt(fiber)
    })

  it.live(
    "a handler runs in a process span (consumer) linking to the producer's send span; its acks are a settle span",
    () => {
      const { tracer, named } = RecordingTracer.make()
      return Effect.gen(function* () {
        const written = yield* EventBus.publish({ kind: "arena.start" }).pipe(Effect.withSpan("producer"))
        const seen: Array<Option.Option<Tracer.AnySpan>> = []
        yield* memberUntil(
          "acked",
          {
            handler: (message) =>
              Effect.map(Effect.option(Effect.currentSpan), (span) => {
                seen.push(span)
                expect(message._tag !== "Gap" && message.producerSpan?.spanId).toBe(
                  named("send maf:events")[0]!.spanId
                )
              })
          },
          () => named("settle maf:events").some((s) => s.ended)
        )
        const [send] = named("send maf:events")
        const [process] = named("process maf:events")
        expect(process!.kind).toBe("consumer")
        expect(attributesOf(process!)).toEqual({
          ...messaging("maf:events", "process", "process"),
          "messaging.consumer.group.name": "g",
          "messaging.message.id": (written as { id: string }).id
        })
        expect(process!.linkedSpanIds).toEqual([send!.spanId])
        expect(process!.traceId).not.toBe(send!.traceId)
        // The handler runs in its process span.
        expect(Option.map(seen[0]!, (s) => s.spanId)).toEqual(Option.some(process!.spanId))
        const [settle] = named("settle maf:events")
        expect(settle!.kind).toBe("client")
        expect(attributesOf(settle!)).toEqual({
          ...messaging("maf:events", "settle", "ack"),
          "messaging.consumer.group.name": "g",
          "messaging.batch.message_count": 1
        })
      }).pipe(Effect.provide(env()), Effect.withTracer(tracer))
    }
  )

  it.live("parentOnProducer: the process span is a child of the producer's span, in its trace", () => {
    const { tracer, named } = RecordingTracer.make()
    return Effect.gen(function* () {
      yield* EventBus.publish({ kind: "arena.start" }).pipe(Effect.withSpan("producer"))
      yield* memberUntil(
        "handled",
        {
          parentOnProducer: true,
          handler: () => Effect.void
        },
        () => named("process maf:events").some((s) => s.ended)
      )
      const [send] = named("send maf:events")
      const [process] = named("process maf:events")
      expect(process!.parentSpanId).toBe(send!.spanId)
      expect(process!.traceId).toBe(send!.traceId)
      expect(process!.links).toEqual([])
    }).pipe(Effect.provide(env()), Effect.withTracer(tracer))
  })

  it.live("parentOnProducer without a tracer: the handler still runs in the producer's trace", () =>
    Effect.gen(function* () {
      const outer = yield* EventBus.publish({ kind: "arena.start" }).pipe(
        Effect.zipRight(Effect.currentSpan),
        Effect.withSpan("producer")
      )
      const traces: Array<string> = []
      yield* memberUntil(
        "handled",
        {
          parentOnProducer: true,
          handler: () =>
            Effect.map(Effect.orDie(Effect.currentSpan), (span) => {
              traces.push(span.traceId)
            })
        },
        () => traces.length > 0
      )
      expect(traces).toEqual([outer.traceId])
    }).pipe(Effect.provide(env()))
  )

  it.live("a consumer with propagateTrace: false neither exposes nor links the producer's span", () => {
    const { tracer, named } = RecordingTracer.make()
    return Effect.gen(function* () {
      yield* EventBus.publish({ kind: "arena.start" }).pipe(Effect.withSpan("producer"))
      const producers: Array<unknown> = []
      yield* memberUntil(
        "handled",
        {
          propagateTrace: false,
          handler: (message) =>
            Effect.sync(() => {
              producers.push(message._tag === "Gap" ? "gap" : message.producerSpan)
            })
        },
        () => named("process maf:events").some((s) => s.ended)
      )
      expect(producers).toEqual([undefined])
      expect(named("process maf:events")[0]!.links).toEqual([])
    }).pipe(Effect.provide(env()), Effect.withTracer(tracer))
  })

  it.live(
    "a failing handler's process span ends failed; the dead letter is a settle span naming the entry",
    () => {
      const { tracer, named } = RecordingTracer.make()
      return Effect.gen(function* () {
        const written = yield* EventBus.publish({ kind: "arena.start" })
        const id = (written as { id: string }).id
        yield* memberUntil(
          "dead-lettered",
          {
            maxDeliveries: 1,
            handler: () => Effect.fail("boom")
          },
          () =>
            named("settle maf:events").some(
              (s) => s.attributes.get("messaging.operation.name") === "dead_letter" && s.ended
            )
        )
        expect(named("process maf:events")[0]!.failed).toBe(true)
        const dead = named("settle maf:events").find(
          (s) => s.attributes.get("messaging.operation.name") === "dead_letter"
        )!
        expect(dead.attributes.get("messaging.message.id")).toBe(id)
        expect(dead.attributes.get("messaging.consumer.group.name")).toBe("g")
      }).pipe(Effect.provide(env()), Effect.withTracer(tracer))
    }
  )
})

describe("Tracing.withSpanWhenTraced", () => {
  const publishTwo = Effect.flatMap(EventBus.EventBus, (bus) =>
    Effect.zipRight(
      Effect.all([bus.publishNowait({ kind: "agent.signal" }), bus.publishNowait({ kind: "agent.signal" })]),
      bus.flush
    )
  )

  it.live("with a tracer: a span, which the events published in it carry", () => {
    const { tracer, named } = RecordingTracer.make()
    return Effect.gen(function* () {
      yield* publishTwo.pipe(Tracing.withSpanWhenTraced("import"))
      const [run] = named("import")
      const entries = yield* entriesOf("maf:events")
      expect(entries.map((e) => e.fields[3])).toEqual([run!.traceparent, run!.traceparent])
    }).pipe(Effect.provide(env()), Effect.withTracer(tracer))
  })

  it.live("without a tracer and outside any span: no span, and the events carry nothing", () =>
    Effect.gen(function* () {
      const inside = yield* Effect.option(Effect.currentSpan).pipe(Tracing.withSpanWhenTraced("import"))
      expect(Option.isNone(inside)).toBe(true)
      yield* publishTwo.pipe(Tracing.withSpanWhenTraced("import"))
      const entries = yield* entriesOf("maf:events")
      expect(entries.map((e) => e.fields.length)).toEqual([2, 2])
    }).pipe(Effect.provide(env()))
  )
})

describe("Tracing: the traceparent field", () => {
  const ok = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
  it.each([
    [ok, { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", sampled: true }],
    [
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
      { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", sampled: false }
    ],
    // A later version is read by its first four parts.
    [
      "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more",
      { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", sampled: true }
    ],
    [`  ${ok}\n`, { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", sampled: true }],
    ["ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", undefined],
    ["00-00000000000000000000000000000000-b7ad6b7169203331-01", undefined],
    ["00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", undefined],
    ["00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", undefined],
    ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more", undefined],
    ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01", undefined],
    ["", undefined]
  ])("fromTraceparent(%j)", (text, expected) => {
    const parsed = Tracing.fromTraceparent(text)
    expect(
      Option.getOrUndefined(
        Option.map(parsed, ({ sampled, spanId, traceId }) => ({ traceId, spanId, sampled }))
      )
    ).toEqual(expected)
  })

  it("toTraceparent writes a span's context; ids that are not W3C ids write none", () => {
    const span = Tracer.externalSpan({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331"
    })
    expect(Tracing.toTraceparent(span)).toEqual(Option.some(ok))
    expect(Tracing.toTraceparent(Tracer.externalSpan({ traceId: "native", spanId: "x" }))).toEqual(
      Option.none()
    )
  })

  it("fromFields reads the traceparent field of an entry; data alone has none", () => {
    expect(Option.isSome(Tracing.fromFields(["data", "{}", "traceparent", ok]))).toBe(true)
    expect(Tracing.fromFields(["data", "{}"])).toEqual(Option.none())
    expect(Tracing.fromFields(["data", "{}", "traceparent", "junk"])).toEqual(Option.none())
  })
})
