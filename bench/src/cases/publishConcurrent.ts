/**
 * `publish_concurrent`: 100 fibers, each publishing with `EventBus.publish` one event at a time and
 * awaiting it, 100,000 events a round in all; against `raw_concurrent`: plain ioredis, 100 concurrent
 * loops of `await client.xadd(key, "MAXLEN", "~", "100000", "*", "data", body)` on one connection,
 * the same total. What an application with many concurrent requests, each publishing, gets: the
 * library may put the awaited publishes in flight together into fewer, larger writes (group commit).
 *
 * The bus has its default options; every publish is checked to have answered `Written`, and both
 * sides' streams (`entries-added`) to have received every event.
 */
import { EventBus, StreamBackend } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import * as Effect from "effect/Effect"
import { input, rawBody } from "../body.js"
import { type Case, sizedCase } from "../case.js"
import { type Side, secondsSince } from "../harness.js"
import { checkAndDelete, freshKey, rawClient } from "../redis.js"

/** Publishers at once, on each side. */
export const concurrency = 100

const maxlen = 100_000

const library = (url: string, events: number): Side => ({
  keys: ["publish_concurrent"],
  run: async () => {
    const key = freshKey("publish_concurrent")
    const perFiber = events / concurrency
    const rate = await Effect.runPromise(
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        // Connected before the clock starts, as the raw client is.
        yield* Effect.orDie((yield* StreamBackend.StreamBackend).info(key))
        let notWritten = 0
        const publisher = Effect.gen(function* () {
          for (let i = 0; i < perFiber; i++) {
            const result = yield* bus.publish(input)
            if (result._tag !== "Written") notWritten++
          }
        })
        const start = performance.now()
        yield* Effect.all(
          Array.from({ length: concurrency }, () => publisher),
          {
            concurrency: "unbounded",
            discard: true
          }
        )
        const rate = events / secondsSince(start)
        if (notWritten > 0) return yield* Effect.die(`publish_concurrent: ${notWritten} events not written`)
        return rate
      }).pipe(Effect.provide(RedisEventBus.layer({ url, stream: key })))
    )
    await checkAndDelete(url, key, events, "publish_concurrent")
    return { publish_concurrent: rate }
  }
})

const raw = (url: string, events: number): Side => ({
  keys: ["raw_concurrent"],
  run: async () => {
    const key = freshKey("raw_concurrent")
    const perLoop = events / concurrency
    const client = await rawClient(url)
    const limit = String(maxlen)
    const loop = async () => {
      for (let i = 0; i < perLoop; i++) await client.xadd(key, "MAXLEN", "~", limit, "*", "data", rawBody)
    }
    const start = performance.now()
    await Promise.all(Array.from({ length: concurrency }, loop))
    const rate = events / secondsSince(start)
    client.disconnect()
    await checkAndDelete(url, key, events, "raw_concurrent")
    return { raw_concurrent: rate }
  }
})

export const publishConcurrent: Case = sizedCase({
  name: "concurrent",
  keys: ["publish_concurrent", "raw_concurrent"],
  sizes: { quick: 20_000, full: 100_000 },
  unit: `events (${concurrency} publishers)`,
  rounds: { quick: { warmup: 1, rounds: 3 }, full: { warmup: 1, rounds: 7 } },
  sides: (ctx, events) => [library(ctx.url, events), raw(ctx.url, events)]
})
