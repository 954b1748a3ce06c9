// examples/src/tracing.ts — traces across the bus: a consumer's work linked to the producer's
import { EventBus, EventConsumer, MemoryStreamBackend } from "@maf/events"
import { Effect, Layer } from "effect"

// Published inside a span: the awaited publish is a `send` span, a child of it, and the entry carries
// the send span's context (a field `traceparent` beside `data`).
const placeOrder = Effect.fn("place order")(function* (arena: string) {
  yield* EventBus.publish({ kind: "arena.start", arena })
})

// Each handler runs in a `process` span that links to the producer's `send` span (with
// `parentOnProducer: true`, in the producer's trace instead). The message carries that span context.
const auditor = EventConsumer.consume({
  group: "auditor",
  from: "0",
  handler: (message) =>
    message._tag === "Gap" || message.producerSpan === undefined
      ? Effect.void
      : Effect.log(`${message.streamId} was published in trace ${message.producerSpan.traceId}`)
})

const program = Effect.gen(function* () {
  yield* placeOrder("trading")
  yield* auditor.pipe(Effect.timeout("500 millis"), Effect.ignore)
})

// Any Effect tracer records the spans: provide e.g. `NodeSdk.layer(…)` of `@effect/opentelemetry`.
Effect.runPromise(
  program.pipe(
    Effect.provide(
      Layer.mergeAll(EventBus.layer(), EventConsumer.layer).pipe(
        Layer.provideMerge(MemoryStreamBackend.layer)
      )
    )
  )
)
