/**
 * The reading process of `read_rss_growth_mb`, run by `cases/readRss.ts` as a child of its own so
 * that no other case's heap is in the figure. Arguments: `<url> <stream> <entries>`. Reads the
 * stream from `"0"` with the library's reader, sampling `process.memoryUsage().rss` every 20 ms, and
 * prints one JSON line: `{ growthMb, baseMb, peakMb, seconds, known }`.
 */
import { EventReader } from "@maf/events"
import { RedisEventReader } from "@maf/events-redis"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { startRssPeak } from "./rssPeak.js"

const [url, stream, entriesText] = process.argv.slice(2)
const entries = Number(entriesText)
const mb = (bytes: number) => bytes / (1024 * 1024)

const program = Effect.gen(function* () {
  const reader = yield* EventReader.EventReader
  const rss = startRssPeak()
  const start = performance.now()
  const known = yield* reader.stream({ stream: stream!, from: "0" }).pipe(
    Stream.take(entries),
    Stream.runFold(0, (n, result) => (result._tag === "KnownEvent" ? n + 1 : n))
  )
  const seconds = (performance.now() - start) / 1000
  const { base, peak } = rss.stop()
  return { growthMb: mb(peak - base), baseMb: mb(base), peakMb: mb(peak), seconds, known }
}).pipe(Effect.provide(RedisEventReader.layer({ url: url! })))

Effect.runPromise(program).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`)
    process.exit(0)
  },
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
