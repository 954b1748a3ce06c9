// examples/src/testing.test.ts — testing code that publishes events
import { describe, expect, it } from "@effect/vitest"
import { EventBus, EventReader, PublishResult, ReadResult } from "@maf/events"
import { Chunk, Effect, Layer, Stream } from "effect"

// The code under test publishes through the context.
const placeOrder = (symbol: string) =>
  Effect.gen(function* () {
    yield* EventBus.publishNowait({ kind: "action.emit", arena: "trading", payload: { symbol } })
    return "placed"
  })

describe("placeOrder", () => {
  // Events are not the point of this test: the Null bus publishes nothing and costs next to nothing.
  it.effect("places the order", () =>
    Effect.gen(function* () {
      expect(yield* placeOrder("AAPL")).toBe("placed")
    }).pipe(Effect.provide(EventBus.layerNull))
  )

  // Events are the point: the in-memory backend keeps them; read them back as a consumer would.
  it.effect("announces the order", () =>
    Effect.gen(function* () {
      yield* placeOrder("AAPL")
      yield* (yield* EventBus.EventBus).flush
      const results = yield* EventReader.stream({ from: "0" }).pipe(Stream.take(1), Stream.runCollect)
      const first = Chunk.unsafeHead(results)
      expect(ReadResult.isKnownEvent(first) && first.event.payload).toEqual({ symbol: "AAPL" })
    }).pipe(Effect.provide(EventReader.layer.pipe(Layer.provideMerge(EventBus.layerMemory()))))
  )

  it.effect("the Null bus says it wrote nothing", () =>
    Effect.gen(function* () {
      const result = yield* EventBus.publish({ kind: "arena.start" })
      expect(PublishResult.isWritten(result)).toBe(false)
    }).pipe(Effect.provide(EventBus.layerNull))
  )
})
