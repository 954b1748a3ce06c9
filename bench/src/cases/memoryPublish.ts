/**
 * `memory_publish`: fire-and-forget publishing on the in-memory backend (`EventBus.layerMemory`),
 * 200k events until `flush`: the library's own cost per event, without Redis.
 */
import { EventBus } from "@maf/events"
import * as Effect from "effect/Effect"
import { input } from "../body.js"
import type { BenchContext, Case } from "../case.js"
import { runRounds, type Side, secondsSince } from "../harness.js"

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

export const memoryPublish: Case = {
  name: "memory",
  keys: ["memory_publish"],
  run: async (ctx: BenchContext) => {
    const events = ctx.quick ? 50_000 : 200_000
    const stats = await runRounds(
      [round(events)],
      ctx.quick ? { warmup: 1, rounds: 3 } : { warmup: 2, rounds: 7 },
      ctx.log
    )
    return { stats, notes: [`memory_publish: ${events.toLocaleString("en-US")} events a round`] }
  }
}
