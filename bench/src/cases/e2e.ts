/**
 * `e2e_p50_ms`, `e2e_p99_ms`: publish-to-delivery latency at a steady 5,000 events/s. A reader tails
 * the stream from `"$"`; a publisher in the same process sends with `publishNowait` on a 1 ms tick,
 * each event carrying its own `performance.now()` send time in the payload. Latency is the time the
 * reader's consumer gets the event minus that send time: buffer, batch, Redis, blocking `XREAD`,
 * decode. The first second of each round is warm-up and not counted.
 */
import { EventBus, EventReader, StreamBackend } from "@maf/events"
import { RedisEventBus, RedisEventReader } from "@maf/events-redis"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { input } from "../body.js"
import type { BenchContext, Case } from "../case.js"
import { quantile, runRounds, type Side } from "../harness.js"
import { deleteKey, freshKey } from "../redis.js"

const rate = 5_000
const warmupSeconds = 1

const round = (url: string, seconds: number): Side => ({
  keys: ["e2e_p50_ms", "e2e_p99_ms"],
  run: async () => {
    const key = freshKey("e2e")
    const total = rate * (warmupSeconds + seconds)
    const counted = rate * seconds
    const latencies = new Float64Array(counted)
    let delivered = 0
    const layers = Layer.merge(RedisEventBus.layer({ url, stream: key }), RedisEventReader.layer({ url }))
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const reader = yield* EventReader.EventReader
        yield* Effect.orDie((yield* StreamBackend.StreamBackend).info(key))
        const allDelivered = yield* Effect.makeLatch(false)
        const tail = yield* reader.stream({ stream: key, from: "$" }).pipe(
          Stream.runForEach((result) => {
            if (result._tag !== "KnownEvent") return Effect.die(`e2e: read ${result._tag}`)
            const now = performance.now()
            const { seq, sent } = result.event.payload as { seq: number; sent: number }
            if (seq >= total - counted) latencies[seq - (total - counted)] = now - sent
            delivered++
            return delivered === total ? allDelivered.open : Effect.void
          }),
          Effect.fork
        )
        // The tail is pinned at its first read: let it start before publishing.
        yield* Effect.sleep(Duration.millis(100))
        const start = performance.now()
        let sent = 0
        while (sent < total) {
          const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000))
          for (; sent < due; sent++) {
            yield* bus.publishNowait({
              ...input,
              payload: { ...input.payload, seq: sent, sent: performance.now() }
            })
          }
          yield* Effect.sleep(Duration.millis(1))
        }
        const done = yield* allDelivered.await.pipe(Effect.timeoutOption(Duration.seconds(10)))
        yield* Fiber.interrupt(tail)
        if (done._tag === "None") return yield* Effect.die(`e2e: ${delivered} of ${total} delivered`)
        latencies.sort()
        return { e2e_p50_ms: quantile(latencies, 0.5), e2e_p99_ms: quantile(latencies, 0.99) }
      }).pipe(Effect.provide(layers))
    )
    await deleteKey(url, key)
    return result
  }
})

export const e2e: Case = {
  name: "e2e",
  keys: ["e2e_p50_ms", "e2e_p99_ms"],
  run: async (ctx: BenchContext) => {
    const seconds = ctx.quick ? 3 : 5
    const stats = await runRounds(
      [round(ctx.url, seconds)],
      ctx.quick ? { warmup: 0, rounds: 1 } : { warmup: 1, rounds: 3 },
      ctx.log
    )
    return {
      stats,
      notes: [
        `e2e: ${rate.toLocaleString("en-US")} events/s for ${seconds} s a round (after ${warmupSeconds} s not counted); the bench body plus a sequence number and the send time`
      ]
    }
  }
}
