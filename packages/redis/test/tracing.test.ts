/**
 * Tracing on a real redis-server: an entry published in a span has the field `traceparent` after
 * `data` (one awaited `XADD`, a batch by the append script or by pipelined `XADD`s, traced and
 * untraced events mixed in one batch); the reader and a group member on Redis expose the producer's
 * span and link to it; the spans name `redis` and the server's address and port. (That the Python
 * reference reads traced entries exactly as untraced ones: `pythonInterop.test.ts`.)
 */
import { expect, layer } from "@effect/vitest"
import { EventBus, EventConsumer, EventReader, PublishResult, Tracing } from "@maf/events"
import { RedisEventBus, RedisEventConsumer, RedisEventReader } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"

type Entry = [string, Array<string>]

/** A tracer recording the spans made with it (names, kinds, attributes, links, ids). */
const recorder = () => {
  const spans: Array<{
    readonly name: string
    readonly kind: Tracer.SpanKind
    readonly attributes: Map<string, unknown>
    readonly links: ReadonlyArray<Tracer.SpanLink>
    readonly spanId: string
    readonly traceId: string
  }> = []
  let n = 0
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const spanId = (++n).toString(16).padStart(16, "c")
      const traceId = Option.isSome(parent) ? parent.value.traceId : n.toString(16).padStart(32, "d")
      const attributes = new Map<string, unknown>()
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId,
        traceId,
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links: [...links],
        sampled: true,
        kind,
        end: () => {},
        attribute: (key, value) => attributes.set(key, value),
        event: () => {},
        addLinks: () => {}
      }
      spans.push({ name, kind, attributes, links: span.links, spanId, traceId })
      return span
    },
    context: (f) => f()
  })
  return { tracer, spans }
}

const traceparentOf = (fields: ReadonlyArray<string>) =>
  Option.getOrUndefined(Option.flatMap(Tracing.fromFields(fields), Tracing.toTraceparent))

const until = <R>(what: string, check: Effect.Effect<boolean, unknown, R>) =>
  check.pipe(
    Effect.filterOrFail(
      (ok) => ok,
      () => new Error(`not yet: ${what}`)
    ),
    Effect.retry(Schedule.spaced(Duration.millis(10)).pipe(Schedule.upTo(Duration.seconds(10))))
  )

layer(RedisTestServer.layer(), { excludeTestServices: true })("Tracing on Redis", (it) => {
  for (const appendMode of ["script", "pipeline"] as const) {
    it.scoped(`entries published in a span carry traceparent after data (batches by ${appendMode})`, () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const { tracer, spans } = recorder()
        const stream = `test:tracing:${appendMode}`
        yield* Effect.scoped(
          Effect.gen(function* () {
            const bus = yield* EventBus.EventBus
            // One awaited XADD of its own, then a batch mixing traced and untraced events.
            const written = yield* bus.publish({ kind: "arena.start" }).pipe(Effect.withSpan("awaited"))
            expect(PublishResult.isWritten(written)).toBe(true)
            yield* bus
              .publishNowait({ kind: "agent.signal", payload: { i: 0 } })
              .pipe(Effect.withSpan("first"))
            yield* bus
              .publishNowait({ kind: "agent.signal", payload: { i: 1 } })
              .pipe(Effect.withTracerEnabled(false))
            yield* bus
              .publishNowait({ kind: "agent.signal", payload: { i: 2 } })
              .pipe(Effect.withSpan("third"))
            yield* bus.flush
          }).pipe(
            Effect.provide(
              RedisEventBus.layer({ url: server.url, stream, appendMode, publishTimeout: "5 seconds" })
            ),
            Effect.withTracer(tracer)
          )
        )
        const entries = (yield* server.command("XRANGE", stream, "-", "+")) as Array<Entry>
        const spanNamed = (name: string) => spans.find((s) => s.name === name)!
        const send = spans.find(
          (s) => s.name === `send ${stream}` && s.attributes.get("messaging.operation.name") === "publish"
        )!
        expect(entries.map(([, fields]) => fields.filter((_, i) => i % 2 === 0))).toEqual([
          ["data", "traceparent"],
          ["data", "traceparent"],
          ["data"],
          ["data", "traceparent"]
        ])
        expect(entries.map(([, fields]) => traceparentOf(fields))).toEqual([
          `00-${send.traceId}-${send.spanId}-01`,
          `00-${spanNamed("first").traceId}-${spanNamed("first").spanId}-01`,
          undefined,
          `00-${spanNamed("third").traceId}-${spanNamed("third").spanId}-01`
        ])
        expect(Object.fromEntries(send.attributes)).toMatchObject({
          "messaging.system": "redis",
          "messaging.destination.name": stream,
          "messaging.message.id": entries[0]![0],
          "server.address": "127.0.0.1",
          "server.port": server.port
        })
      })
    )
  }

  it.scoped("the reader and a group member on Redis expose the producer's span and link to it", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const { tracer, spans } = recorder()
      const stream = "test:tracing:read"
      const written = yield* EventBus.publish({ kind: "arena.start" }).pipe(
        Effect.withSpan("producer"),
        Effect.provide(RedisEventBus.layer({ url: server.url, stream })),
        Effect.withTracer(tracer)
      )
      const send = spans.find((s) => s.name === `send ${stream}`)!
      const [result] = yield* EventReader.stream({ stream, from: "0" }).pipe(
        Stream.take(1),
        Stream.runCollect,
        Effect.provide(RedisEventReader.layer({ url: server.url })),
        Effect.withTracer(tracer)
      )
      expect(result!._tag === "KnownEvent" && result!.producerSpan?.spanId).toBe(send.spanId)
      const receive = spans.find((s) => s.name === `receive ${stream}`)!
      expect(receive.links.map((l) => l.span.spanId)).toEqual([send.spanId])
      expect(receive.attributes.get("messaging.system")).toBe("redis")

      const handled: Array<string | undefined> = []
      const member = yield* EventConsumer.consume({
        stream,
        group: "g",
        from: "0",
        handler: (message) =>
          Effect.sync(() => {
            handled.push(message._tag === "Gap" ? undefined : message.producerSpan?.spanId)
          })
      }).pipe(
        Effect.provide(RedisEventConsumer.layer({ url: server.url })),
        Effect.withTracer(tracer),
        Effect.fork
      )
      yield* until(
        "handled",
        Effect.sync(() => handled.length > 0)
      )
      yield* Fiber.interrupt(member)
      expect(handled).toEqual([send.spanId])
      const process = spans.find((s) => s.name === `process ${stream}`)!
      expect(process.kind).toBe("consumer")
      expect(process.links.map((l) => l.span.spanId)).toEqual([send.spanId])
      expect(Object.fromEntries(process.attributes)).toMatchObject({
        "messaging.system": "redis",
        "messaging.consumer.group.name": "g",
        "messaging.message.id": (written as { id: string }).id,
        "server.address": "127.0.0.1",
        "server.port": server.port
      })
    })
  )
})
