/**
 * The sides of the cluster bench, all publishing the bench's 400-byte event (`body.ts`) to fresh
 * streams of the cluster, 500 a batch or pipeline:
 *
 * - `cluster_publish_nowait`: `EventBus.publishNowait` of a round's events on
 *   `RedisEventBus.layer({ cluster: true })`, timed until `flush` says all are in Redis;
 * - `cluster_raw_pipeline`: plain ioredis `Cluster`, pipelines of 500 `XADD key MAXLEN ~ 100000 *
 *   data <body>` to the one key, each awaited before the next;
 * - `cluster_partitioned_nowait`: the same as the first on a stream of 3 partitions (`partitions: 3`,
 *   routed by arena id, the events in turn over the partitions: `events.ts`);
 * - `cluster_raw_partitioned`: plain ioredis `Cluster`, the same bodies to the 3 partition keys
 *   (`Partitions.keys`), each key's pipelines of 500 awaited one after the other, the three keys at
 *   once;
 * - `cluster_server_limit`: redis-benchmark's deep pipelines of the same `XADD` to one master, a key
 *   of its slots (`redisBenchmark.ts`): what one node takes when no client limits it.
 *
 * The bus's buffer holds the whole round (`bufferCapacity`), as in the single-server case, so that
 * nothing is dropped. Connections are made before the clock starts; every stream is checked
 * afterwards (`XLEN` of each key) to hold every event sent to it, then deleted.
 */
import { EventBus, Partitions, StreamBackend } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import * as Effect from "effect/Effect"
import { Cluster } from "ioredis"
import { input, rawBody } from "../body.js"
import type { Key, Side } from "../harness.js"
import { freshKey } from "../redis.js"
import { serverLimitRound } from "../redisBenchmark.js"
import { type PartitionedEvents, partitionedEvents, shareOf } from "./events.js"
import type { Measure, Meter } from "./meter.js"

const pipelineSize = 500
const maxlen = 100_000

/** The partitions of the partitioned sides: as many as the kit's cluster has masters. */
export const partitions = 3

/** What the sides share, made once for the run. */
export interface ClusterContext {
  /** `redis://127.0.0.1:<port>/0` of a node: the library's URL (`cluster: true`). */
  readonly url: string
  /** Every node: the start-up nodes of the raw side's `Cluster`. */
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
  /** A client of the bench's own, for the checks. */
  readonly admin: Cluster
  readonly meter: Meter
  /** Where each side's measures go, warm-up rounds included, in round order. */
  readonly record: (key: Key, measure: Measure) => void
  /** The master redis-benchmark writes to, and a hash tag of its slots. */
  readonly limitNode: { readonly url: string; readonly tag: string }
}

/** Fails unless each key holds exactly its share of the round's events; then deletes them all. */
const checkAndDelete = async (
  ctx: ClusterContext,
  keys: ReadonlyArray<string>,
  events: number,
  what: string
): Promise<void> => {
  try {
    for (const [p, key] of keys.entries()) {
      const length = await ctx.admin.xlen(key)
      const expected = shareOf(events, keys.length, p)
      if (length !== expected) throw new Error(`${what}: ${length} entries in ${key}, expected ${expected}`)
    }
  } finally {
    for (const key of keys) await ctx.admin.del(key)
  }
}

/** A stream's keys: its own for one partition, else its partition keys. */
const keysOf = (stream: string, count: number): ReadonlyArray<string> =>
  count === 1 ? [stream] : Partitions.keys(stream, count)

/** The library's side: `publishNowait` of `events` events in turn over `events.inputs`, then `flush`. */
const library = (
  ctx: ClusterContext,
  key: Key,
  events: number,
  sent: PartitionedEvents | undefined
): Side => ({
  keys: [key],
  run: async () => {
    const stream = freshKey(key)
    const count = sent?.inputs.length ?? 1
    const inputs = sent?.inputs ?? [input]
    const measure = await Effect.runPromise(
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const backend = yield* StreamBackend.StreamBackend
        // Connected to every key's master before the clock starts, as the raw client is.
        for (const k of keysOf(stream, count)) yield* Effect.orDie(backend.info(k))
        const meter = yield* Effect.promise(() => ctx.meter.start())
        for (let i = 0; i < events; i++) yield* bus.publishNowait(inputs[i % count]!)
        yield* bus.flush
        return yield* Effect.promise(() => meter.stop(events))
      }).pipe(
        Effect.provide(
          RedisEventBus.layer({
            url: ctx.url,
            cluster: true,
            stream,
            maxlen,
            bufferCapacity: events,
            ...(sent === undefined ? {} : { partitions: count, partitionBy: sent.partitionBy })
          })
        )
      )
    )
    await checkAndDelete(ctx, keysOf(stream, count), events, key)
    ctx.record(key, measure)
    return { [key]: measure.rate }
  }
})

/** `events` `XADD`s of `body` to `key`, in pipelines of {@link pipelineSize}, each awaited. */
const pipelined = async (client: Cluster, key: string, body: string, events: number): Promise<void> => {
  const limit = String(maxlen)
  for (let sent = 0; sent < events; sent += pipelineSize) {
    const pipeline = client.pipeline()
    for (let i = 0; i < pipelineSize && sent + i < events; i++) {
      pipeline.xadd(key, "MAXLEN", "~", limit, "*", "data", body)
    }
    await pipeline.exec()
  }
}

/** A plain ioredis `Cluster` with its defaults, its slots known. */
export const clusterClient = async (
  nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
): Promise<Cluster> => {
  const client = new Cluster([...nodes])
  await new Promise<void>((resolve, reject) => {
    client.once("ready", resolve)
    client.once("error", reject)
  })
  return client
}

/** The raw side: each key's share of the events pipelined to it, the keys at once. */
const raw = (ctx: ClusterContext, key: Key, events: number, sent: PartitionedEvents | undefined): Side => ({
  keys: [key],
  run: async () => {
    const keys = keysOf(freshKey(key), sent?.bodies.length ?? 1)
    const bodies = sent?.bodies ?? [rawBody]
    const client = await clusterClient(ctx.nodes)
    // Connected to every key's master before the clock starts.
    for (const k of keys) await client.xlen(k)
    const meter = await ctx.meter.start()
    await Promise.all(keys.map((k, p) => pipelined(client, k, bodies[p]!, shareOf(events, keys.length, p))))
    const measure = await meter.stop(events)
    client.disconnect()
    await checkAndDelete(ctx, keys, events, key)
    ctx.record(key, measure)
    return { [key]: measure.rate }
  }
})

/**
 * redis-benchmark to one master (`redisBenchmark.ts`); the meter's rate (which counts the process
 * start and the check) is not the figure, its nodes' CPU is.
 */
const serverLimit = (ctx: ClusterContext, events: number): Side => ({
  keys: ["cluster_server_limit"],
  run: async () => {
    const meter = await ctx.meter.start()
    const rate = await serverLimitRound({
      url: ctx.limitNode.url,
      requests: events,
      maxlen,
      body: rawBody,
      pinned: false,
      key: `${freshKey("cluster_server_limit")}:{${ctx.limitNode.tag}}`
    })
    ctx.record("cluster_server_limit", { ...(await meter.stop(events)), rate, clientUs: Number.NaN })
    return { cluster_server_limit: rate }
  }
})

/** Every side of the cluster bench, in the order of a round. */
export const sides = (ctx: ClusterContext, events: number): ReadonlyArray<Side> => {
  const spread = partitionedEvents(partitions)
  return [
    library(ctx, "cluster_publish_nowait", events, undefined),
    raw(ctx, "cluster_raw_pipeline", events, undefined),
    library(ctx, "cluster_partitioned_nowait", events, spread),
    raw(ctx, "cluster_raw_partitioned", events, spread),
    serverLimit(ctx, events)
  ]
}
