/**
 * `e2e_p50_ms`, `e2e_p99_ms`: publish-to-delivery latency at a steady 5,000 events/s. A reader tails
 * the stream from `"$"`; a publisher in the same process sends with `publishNowait` on a 1 ms tick,
 * each event carrying its own `performance.now()` send time in the payload. Latency is the time the
 * reader's consumer gets the event minus that send time: buffer, batch, Redis, blocking `XREAD`,
 * decode. Against `raw_e2e_p50_ms`, `raw_e2e_p99_ms`: the same with plain ioredis, an `XADD` of each
 * event's body at the same rate and ticks on one connection, `XREAD BLOCK` from `"$"` on a second
 * one, and `JSON.parse` of each body. The two sides alternate round by round; the first second of
 * each round is warm-up and not counted.
 */
import { EventBus, EventReader, StreamBackend } from "@maf/events"
import { RedisEventBus, RedisEventReader } from "@maf/events-redis"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { input, rawBody } from "../body.js"
import { type BenchContext, type Case, selectedSides } from "../case.js"
import { quantile, runRounds, type Side } from "../harness.js"
import { checkAndDelete, freshKey, rawClient } from "../redis.js"

const rate = 5_000
const warmupSeconds = 1
/** How long the last event may take to arrive before the round fails. */
const deliveryBoundMillis = 10_000
/** The library reader's defaults, for the raw reader: entries a read, and its block time. */
const readCount = 500
const blockMillis = 5_000
const maxlen = 100_000

/** The events of a round, the ones counted, and where a counted event's latency goes. */
const sizes = (seconds: number) => {
  const total = rate * (warmupSeconds + seconds)
  const counted = rate * seconds
  return { total, counted, firstCounted: total - counted, latencies: new Float64Array(counted) }
}

/** p50 and p99 of a round's latencies (sorted in place). */
const percentiles = (latencies: Float64Array) => {
  latencies.sort()
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) }
}

/** Events due by now since `start`, at the steady rate (at most `total`). */
const dueBy = (start: number, total: number): number =>
  Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000))

const library = (url: string, seconds: number): Side => ({
  keys: ["e2e_p50_ms", "e2e_p99_ms"],
  run: async () => {
    const key = freshKey("e2e")
    const { total, firstCounted, latencies } = sizes(seconds)
    let delivered = 0
    const layers = Layer.merge(
      RedisEventBus.layer({ url, stream: key, maxlen }),
      RedisEventReader.layer({ url })
    )
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
            if (seq >= firstCounted) latencies[seq - firstCounted] = now - sent
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
          for (const due = dueBy(start, total); sent < due; sent++) {
            yield* bus.publishNowait({
              ...input,
              payload: { ...input.payload, seq: sent, sent: performance.now() }
            })
          }
          yield* Effect.sleep(Duration.millis(1))
        }
        const done = yield* allDelivered.await.pipe(
          Effect.timeoutOption(Duration.millis(deliveryBoundMillis))
        )
        yield* Fiber.interrupt(tail)
        if (done._tag === "None") return yield* Effect.die(`e2e: ${delivered} of ${total} delivered`)
        const { p50, p99 } = percentiles(latencies)
        return { e2e_p50_ms: p50, e2e_p99_ms: p99 }
      }).pipe(Effect.provide(layers))
    )
    await checkAndDelete(url, key, total, "e2e")
    return result
  }
})

type XReadReply = Array<[string, Array<[string, Array<string>]>]> | null

/**
 * The body the library writes for event `seq` sent at `sent`: the bench body with the payload's two
 * extra fields at its end, as `WireCodec.encode` puts them (the payload is the body's last key).
 */
const rawBodyOf = (seq: number, sent: number): string =>
  `${rawBody.slice(0, -2)},"seq":${seq},"sent":${sent}}}`

const raw = (url: string, seconds: number): Side => ({
  keys: ["raw_e2e_p50_ms", "raw_e2e_p99_ms"],
  run: async () => {
    const key = freshKey("raw_e2e")
    const { total, firstCounted, latencies } = sizes(seconds)
    const writer = await rawClient(url)
    const reader = await rawClient(url)
    let delivered = 0
    let failed = 0
    const tail = (async () => {
      let last = "$"
      while (delivered < total) {
        const reply = (await reader.xread(
          "COUNT",
          readCount,
          "BLOCK",
          blockMillis,
          "STREAMS",
          key,
          last
        )) as XReadReply
        for (const [id, fields] of reply?.[0]?.[1] ?? []) {
          const { seq, sent } = JSON.parse(fields[1]!).payload as { seq: number; sent: number }
          if (seq >= firstCounted) latencies[seq - firstCounted] = performance.now() - sent
          delivered++
          last = id
        }
      }
    })()
    // Its failure is seen by the race below; this keeps a failure after it from going unhandled.
    tail.catch(() => undefined)
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
    try {
      // As on the library's side: the tail's first read (on "$") is sent before publishing starts.
      await sleep(100)
      const limit = String(maxlen)
      const start = performance.now()
      let sent = 0
      while (sent < total) {
        for (const due = dueBy(start, total); sent < due; sent++) {
          writer
            .xadd(key, "MAXLEN", "~", limit, "*", "data", rawBodyOf(sent, performance.now()))
            .catch(() => {
              failed++
            })
        }
        await sleep(1)
      }
      const bound = sleep(deliveryBoundMillis).then(() => "late" as const)
      if ((await Promise.race([tail, bound])) === "late")
        throw new Error(`raw_e2e: ${delivered} of ${total} delivered`)
      if (failed > 0) throw new Error(`raw_e2e: ${failed} XADDs failed`)
    } finally {
      writer.disconnect()
      reader.disconnect()
    }
    await checkAndDelete(url, key, total, "raw_e2e")
    const { p50, p99 } = percentiles(latencies)
    return { raw_e2e_p50_ms: p50, raw_e2e_p99_ms: p99 }
  }
})

export const e2e: Case = {
  name: "e2e",
  keys: ["e2e_p50_ms", "e2e_p99_ms", "raw_e2e_p50_ms", "raw_e2e_p99_ms"],
  run: async (ctx: BenchContext) => {
    const seconds = ctx.quick ? 1 : 3
    const rounds = ctx.quick ? { warmup: 0, rounds: 3 } : { warmup: 1, rounds: 7 }
    const sides = selectedSides(ctx, [library(ctx.url, seconds), raw(ctx.url, seconds)])
    const stats = await runRounds(sides, rounds, ctx.log)
    return {
      stats,
      notes: [
        `e2e: ${rate.toLocaleString("en-US")} events/s for ${seconds} s a round (after ${warmupSeconds} s not counted), ${rounds.rounds} rounds after ${rounds.warmup} of warm-up; the bench body plus a sequence number and the send time`
      ]
    }
  }
}
