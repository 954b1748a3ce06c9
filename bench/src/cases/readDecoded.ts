/**
 * `read_decoded`: `EventReader.stream({ from: "0" })` over a round's entries (100k in a full run),
 * every one decoded and validated by the canonical Schema to a `KnownEvent`; against `raw_read`:
 * plain ioredis looping `XREAD COUNT 1000` and `JSON.parse` of each entry's `data`. Both read the
 * same stream, preloaded server-side with the bench body, 1000 entries a read.
 */
import { EventReader } from "@maf/events"
import { RedisEventReader } from "@maf/events-redis"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { type Case, preloadedCase } from "../case.js"
import { type Side, secondsSince } from "../harness.js"
import { rawClient } from "../redis.js"

const count = 1000

const library = (url: string, key: string, entries: number): Side => ({
  keys: ["read_decoded"],
  run: () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const reader = yield* EventReader.EventReader
        const start = performance.now()
        const known = yield* reader.stream({ stream: key, from: "0", count }).pipe(
          Stream.take(entries),
          Stream.runFold(0, (n, result) => (result._tag === "KnownEvent" ? n + 1 : n))
        )
        const rate = entries / secondsSince(start)
        if (known !== entries) return yield* Effect.die(`read_decoded: ${known} known events of ${entries}`)
        return { read_decoded: rate }
      }).pipe(Effect.provide(RedisEventReader.layer({ url })))
    )
})

type XReadReply = Array<[string, Array<[string, Array<string>]>]> | null

const raw = (url: string, key: string, entries: number): Side => ({
  keys: ["raw_read"],
  run: async () => {
    const client = await rawClient(url)
    let last = "0"
    let read = 0
    let known = 0
    const start = performance.now()
    while (read < entries) {
      const reply = (await client.xread("COUNT", count, "STREAMS", key, last)) as XReadReply
      const batch = reply?.[0]?.[1] ?? []
      if (batch.length === 0) break
      for (const [, fields] of batch) {
        const body = JSON.parse(fields[1]!)
        if (typeof body.kind === "string") known++
      }
      read += batch.length
      last = batch[batch.length - 1]![0]
    }
    const rate = entries / secondsSince(start)
    client.disconnect()
    if (known !== entries) throw new Error(`raw_read: ${known} bodies of ${entries}`)
    return { raw_read: rate }
  }
})

export const readDecoded: Case = preloadedCase({
  name: "read",
  keys: ["read_decoded", "raw_read"],
  sizes: { quick: 30_000, full: 100_000 },
  note: `${count} a read`,
  sides: (ctx, { key, entries }) => [library(ctx.url, key, entries), raw(ctx.url, key, entries)]
})
