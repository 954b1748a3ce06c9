/**
 * `publish_awaited`: `EventBus.publish`, one at a time, each waiting for its entry id; against
 * `raw_sequential`: plain ioredis awaiting one `XADD key MAXLEN ~ 100000 * data <body>` at a time.
 * Round-trip bound: what counts is the library's own cost on top of one round trip.
 */
import { EventBus, StreamBackend } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import * as Effect from "effect/Effect"
import { input, rawBody } from "../body.js"
import { type Case, sizedCase } from "../case.js"
import { type Side, secondsSince } from "../harness.js"
import { checkAndDelete, freshKey, rawClient } from "../redis.js"

const maxlen = 100_000

const library = (url: string, events: number): Side => ({
  keys: ["publish_awaited"],
  run: async () => {
    const key = freshKey("publish_awaited")
    const rate = await Effect.runPromise(
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        yield* Effect.orDie((yield* StreamBackend.StreamBackend).info(key))
        let notWritten = 0
        const start = performance.now()
        for (let i = 0; i < events; i++) {
          const result = yield* bus.publish(input)
          if (result._tag !== "Written") notWritten++
        }
        const rate = events / secondsSince(start)
        if (notWritten > 0) return yield* Effect.die(`publish_awaited: ${notWritten} events not written`)
        return rate
      }).pipe(Effect.provide(RedisEventBus.layer({ url, stream: key, maxlen })))
    )
    await checkAndDelete(url, key, events, "publish_awaited")
    return { publish_awaited: rate }
  }
})

const raw = (url: string, events: number): Side => ({
  keys: ["raw_sequential"],
  run: async () => {
    const key = freshKey("raw_sequential")
    const client = await rawClient(url)
    const limit = String(maxlen)
    const start = performance.now()
    for (let i = 0; i < events; i++) await client.xadd(key, "MAXLEN", "~", limit, "*", "data", rawBody)
    const rate = events / secondsSince(start)
    client.disconnect()
    await checkAndDelete(url, key, events, "raw_sequential")
    return { raw_sequential: rate }
  }
})

export const publishAwaited: Case = sizedCase({
  name: "awaited",
  keys: ["publish_awaited", "raw_sequential"],
  sizes: { quick: 2_000, full: 3_000 },
  unit: "events",
  rounds: { quick: { warmup: 1, rounds: 7 }, full: { warmup: 3, rounds: 21 } },
  sides: (ctx, events) => [library(ctx.url, events), raw(ctx.url, events)]
})
