/**
 * `null_publish_ns`: the cost of one awaited `publish` on `EventBus.layerNull`, in nanoseconds: the
 * price a program pays for instrumentation it has switched off. Measured in an `Effect.gen` loop,
 * as a program calls it.
 */
import { EventBus } from "@maf/events"
import * as Effect from "effect/Effect"
import { input } from "../body.js"
import { type Case, sizedCase } from "../case.js"
import type { Side } from "../harness.js"

const round = (calls: number): Side => ({
  keys: ["null_publish_ns"],
  run: () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const start = performance.now()
        for (let i = 0; i < calls; i++) yield* bus.publish(input)
        return { null_publish_ns: ((performance.now() - start) * 1e6) / calls }
      }).pipe(Effect.provide(EventBus.layerNull))
    )
})

export const nullPublish: Case = sizedCase({
  name: "null",
  keys: ["null_publish_ns"],
  sizes: { quick: 200_000, full: 1_000_000 },
  // No ratio rests on this figure: the rounds of the bench before its ratio targets suffice.
  rounds: { quick: { warmup: 1, rounds: 3 }, full: { warmup: 2, rounds: 7 } },
  unit: "calls",
  sides: (_ctx, calls) => [round(calls)]
})
