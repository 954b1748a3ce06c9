#!/usr/bin/env node
// How much resident memory a process gains while it reads 1,000,000 entries, by the way the reading
// loop is written: the library's reader against plain ioredis loops. A probe for docs/benchmarks.md
// ("What remains"), not a bench case. Run after `pnpm bench` has built bench/dist:
//
//   REDIS_URL=redis://127.0.0.1:6379/0 node --expose-gc bench/probes/rss-loops.mjs <mode> [--trace]
//
// mode: toplevel (XREAD + JSON.parse in a loop at module top level), async (the same loop inside an
// async function, as the bench's raw side and most programs are written), emptied (`async`, emptying
// each reply once read, as the library's Redis cursor does), then (the same with `.then`), lib (the
// library's reader, as `read_rss_growth_mb`). The stream `probe:rss` is filled
// once (1,000,000 entries of the bench body) and left for the next run.
import { EventReader } from "@maf/events"
import { RedisEventReader } from "@maf/events-redis"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Redis } from "ioredis"
import { rawBody } from "../dist/body.js"
import { preload } from "../dist/redis.js"
import { startRssPeak } from "../dist/rssPeak.js"

const mode = process.argv[2]
const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0"
const stream = "probe:rss"
const entries = 1_000_000
const count = 500
if (!["toplevel", "async", "emptied", "then", "lib"].includes(mode)) {
  process.stderr.write("usage: node --expose-gc bench/probes/rss-loops.mjs toplevel|async|emptied|then|lib\n")
  process.exit(2)
}
const client = new Redis(url)
if ((await client.xlen(stream)) !== entries) {
  await client.del(stream)
  await preload(url, stream, entries, rawBody)
}
const mb = (bytes) => Math.round(bytes / 104857.6) / 10
const rss = startRssPeak()
const start = performance.now()
let known = 0
const parse = (batch) => {
  for (const [, fields] of batch) if (typeof JSON.parse(fields[1]).kind === "string") known++
}
if (mode === "toplevel") {
  let last = "0"
  for (let read = 0; read < entries; ) {
    const reply = await client.xread("COUNT", count, "STREAMS", stream, last)
    const batch = reply[0][1]
    parse(batch)
    read += batch.length
    last = batch[batch.length - 1][0]
  }
} else if (mode === "async" || mode === "emptied" || mode === "then") {
  let last = "0"
  const step =
    mode !== "then"
      ? async () => {
          const reply = await client.xread("COUNT", count, "STREAMS", stream, last)
          const batch = reply[0][1]
          parse(batch)
          last = batch[batch.length - 1][0]
          const read = batch.length
          if (mode === "emptied") {
            batch.length = 0
            reply.length = 0
          }
          return read
        }
      : () =>
          client.xread("COUNT", count, "STREAMS", stream, last).then((reply) => {
            const batch = reply[0][1]
            parse(batch)
            last = batch[batch.length - 1][0]
            return batch.length
          })
  for (let read = 0; read < entries; ) read += await step()
} else {
  known = await Effect.runPromise(
    Effect.flatMap(EventReader.EventReader, (reader) =>
      reader.stream({ stream, from: "0", count }).pipe(
        Stream.take(entries),
        Stream.runFold(0, (n, r) => (r._tag === "KnownEvent" ? n + 1 : n))
      )
    ).pipe(Effect.provide(RedisEventReader.layer({ url })))
  )
}
const { base, peak } = rss.stop()
process.stdout.write(
  `${mode}: rss growth ${mb(peak - base)} MB (base ${mb(base)} MB), ${known} bodies, ${((performance.now() - start) / 1000).toFixed(1)} s\n`
)
client.disconnect()
process.exit(0)
