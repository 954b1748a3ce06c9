// examples/src/typed-kinds.ts — your own kinds, with typed payloads
import { EventBus, EventCatalog, EventKind, EventReader } from "@maf/events"
import { Effect, Schema, Stream } from "effect"

// A kind of your own: its payload has a Schema (here with a transformation: a date on the wire as text).
const TradeFill = EventKind.make(
  "trade.fill",
  Schema.Struct({ symbol: Schema.String, qty: Schema.Number, at: Schema.DateFromString })
)
// The catalog a reader decodes with: the 19 canonical kinds, plus yours.
const catalog = EventCatalog.canonical.pipe(EventCatalog.add(TradeFill))

const program = Effect.gen(function* () {
  const bus = yield* EventBus.EventBus
  yield* bus.publish(
    TradeFill.make({ arena: "trading", payload: { symbol: "AAPL", qty: 10, at: new Date() } })
  )
  const [first] = yield* EventReader.stream({ from: "0", catalog }).pipe(Stream.take(1), Stream.runCollect)
  if (first?._tag === "KnownEvent" && first.event.kind === "trade.fill") {
    // Typed: `at` is a Date again, decoded by the kind's Schema.
    yield* Effect.log(
      `${first.event.payload.symbol} x${first.event.payload.qty} at ${first.event.payload.at.toISOString()}`
    )
  }
})

// The embedded in-memory backend: the bus and the reader share it. No Redis needed.
Effect.runPromise(
  program.pipe(Effect.provide(EventReader.layer), Effect.provide(EventBus.layerMemory({ catalog })))
)
