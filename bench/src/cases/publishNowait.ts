/**
 * `publish_nowait`: fire-and-forget publishing of a round's events through `EventBus.publishNowait`,
 * timed until `flush` says all are in Redis; against `raw_pipeline`: plain ioredis sending the same
 * bodies in pipelines of 500 `XADD key MAXLEN ~ 100000 * data <body>`, each awaited before the next;
 * and against `server_limit`: what the server takes of the same commands from redis-benchmark's deep
 * pipelines (`redisBenchmark.ts`). The three run in turn, round by round.
 *
 * The bus's buffer holds the whole round (`bufferCapacity`), so that nothing is dropped: the case
 * measures how fast events reach Redis, not the overflow policy. Every side is checked afterwards
 * (`entries-added` of the stream) to have written every event.
 */
import { EventBus, StreamBackend } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import * as Effect from "effect/Effect"
import { input, rawBody } from "../body.js"
import { type Case, sizedCase } from "../case.js"
import { type Side, secondsSince } from "../harness.js"
import { checkAndDelete, freshKey, rawClient } from "../redis.js"
import { serverLimitRound } from "../redisBenchmark.js"

const pipelineSize = 500
const maxlen = 100_000

const library = (url: string, events: number): Side => ({
  keys: ["publish_nowait"],
  run: async () => {
    const key = freshKey("publish_nowait")
    const rate = await Effect.runPromise(
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        // Connected before the clock starts, as the raw client is.
        yield* Effect.orDie((yield* StreamBackend.StreamBackend).info(key))
        const start = performance.now()
        for (let i = 0; i < events; i++) yield* bus.publishNowait(input)
        yield* bus.flush
        return events / secondsSince(start)
      }).pipe(
        Effect.provide(
          RedisEventBus.layer({
            url,
            stream: key,
            maxlen,
            bufferCapacity: events
          })
        )
      )
    )
    await checkAndDelete(url, key, events, "publish_nowait")
    return { publish_nowait: rate }
  }
})

const raw = (url: string, events: number): Side => ({
  keys: ["raw_pipeline"],
  run: async () => {
    const key = freshKey("raw_pipeline")
    const client = await rawClient(url)
    const limit = String(maxlen)
    const start = performance.now()
    for (let sent = 0; sent < events; sent += pipelineSize) {
      const pipeline = client.pipeline()
      for (let i = 0; i < pipelineSize && sent + i < events; i++) {
        pipeline.xadd(key, "MAXLEN", "~", limit, "*", "data", rawBody)
      }
      await pipeline.exec()
    }
    const rate = events / secondsSince(start)
    client.disconnect()
    await checkAndDelete(url, key, events, "raw_pipeline")
    return { raw_pipeline: rate }
  }
})

const server = (url: string, events: number, pinned: boolean): Side => ({
  keys: ["server_limit"],
  run: async () => ({
    server_limit: await serverLimitRound({ url, requests: events, maxlen, body: rawBody, pinned })
  })
})

export const publishNowait: Case = sizedCase({
  name: "publish",
  keys: ["publish_nowait", "raw_pipeline", "server_limit"],
  sizes: { quick: 30_000, full: 100_000 },
  unit: "events",
  sides: (ctx, events) => [
    library(ctx.url, events),
    raw(ctx.url, events),
    server(ctx.url, events, ctx.pinned)
  ]
})
