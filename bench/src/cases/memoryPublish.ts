/**
 * `memory_publish`: fire-and-forget publishing on the in-memory backend (`EventBus.layerMemory`),
 * 200k events until `flush`: the library's own cost per event, without Redis.
 */
import { EventBus } from "@maf/events"
import * as Effect from "effect/Effect"
import { input } from "../body.js"
import { type Case, sizedCase } from "../case.js"
import { type Side, secondsSince } from "../harness.js"

const round = (events: number): Side => ({
  keys: ["memory_publish"],
  run: () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const start = performance.now()
        for (let i = 0; i < events; i++) yield* bus.publishNowait(input)
        yield* bus.flush
        return { memory_publish: events / secondsSince(start) }
      }).pipe(Effect.provide(EventBus.layerMemory({ bufferCapacity: events })))
    )
})

export const memoryPublish: Case = sizedCase({
  name: "memory",
  keys: ["memory_publish"],
  sizes: { quick: 50_000, full: 200_000 },
  // No ratio rests on this figure: the rounds of the bench before its ratio targets suffice.
  rounds: { quick: { warmup: 1, rounds: 3 }, full: { warmup: 2, rounds: 7 } },
  unit: "events",
  sides: (_ctx, events) => [round(events)]
})
