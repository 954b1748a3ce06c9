/**
 * `pnpm bench --topology cluster [--quick] [--json] [--only <key>[,<key>…]]`: fire-and-forget
 * publishing on a Redis Cluster of 3 masters and 3 replicas started by the test kit
 * (`RedisTestCluster`), to one stream and to a stream of 3 partitions, against plain ioredis
 * `Cluster` doing the same in the same rounds, and redis-benchmark's limit of one master
 * (`sides.ts`). The rounds, figures and ratios are the single-server bench's (`harness.ts`,
 * `stats.ts`, `report.ts`); beside them, each side's CPU an event, client and nodes (`meter.ts`),
 * which the scaling model of docs/benchmarks.md ("Cluster") is built from.
 */

import { loadavg } from "node:os"
import * as RedisTestCluster from "@maf/events-test/RedisTestCluster"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { bodyBytes } from "../body.js"
import { defaultRounds, sizedCase } from "../case.js"
import { format, type Key } from "../harness.js"
import type { PinningDecision } from "../pinProbe.js"
import { serverInfo } from "../redis.js"
import { figureTable, jsonReport, markdown, type Ratio, ratioTable } from "../report.js"
import { ratioStats, stats } from "../stats.js"
import { type Measure, meter } from "./meter.js"
import { type ClusterContext, clusterClient, partitions, sides } from "./sides.js"

/** The figures of the cluster bench, in the order of a round. */
export const clusterKeys: ReadonlyArray<Key> = [
  "cluster_publish_nowait",
  "cluster_raw_pipeline",
  "cluster_partitioned_nowait",
  "cluster_raw_partitioned",
  "cluster_server_limit"
]

/** The ratios reported, each the median of the per-round ratios (no bound: the issue asks for none). */
const ratioPairs: ReadonlyArray<readonly [Key, Key]> = [
  ["cluster_publish_nowait", "cluster_raw_pipeline"],
  ["cluster_partitioned_nowait", "cluster_raw_partitioned"],
  ["cluster_partitioned_nowait", "cluster_publish_nowait"],
  ["cluster_raw_partitioned", "cluster_raw_pipeline"],
  ["cluster_publish_nowait", "cluster_server_limit"]
]

/** A hash tag for redis-benchmark's keys: their slot's master is the node measured alone. */
const limitTag = "bench-limit"

const notPinned: PinningDecision = {
  pinned: false,
  by: "unavailable",
  description: "not pinned (six redis-servers and the bench share the cores)"
}

/** The load averages (1, 5, 15 minutes) as `uptime` prints them. */
const loadAverage = (): string =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(", ")

/** The median CPU an event of each side's recorded rounds (`warmup` rounds left out). */
const cpuMedians = (measures: ReadonlyMap<Key, ReadonlyArray<Measure>>, warmup: number) =>
  [...measures].map(([key, all]) => {
    const recorded = all.slice(warmup)
    const median = (pick: (m: Measure) => number) => stats(recorded.map(pick)).median
    return {
      key,
      client: median((m) => m.clientUs),
      masters: median((m) => m.mastersUs),
      replicas: median((m) => m.replicasUs)
    }
  })

/** Runs the cluster bench in `scope` (the cluster is torn down with it). */
export const runCluster = async (options: {
  readonly scope: Scope.Scope
  readonly quick: boolean
  readonly json: boolean
  readonly selected: (key: Key) => boolean
  /** The machine, for the header: cores, CPU, Node.js. */
  readonly machine: string
  readonly started: number
  readonly out: (text: string) => void
  readonly log: (line: string) => void
}): Promise<void> => {
  const { out, log } = options
  const loadBefore = loadAverage()
  log("starting a Redis Cluster of 3 masters and 3 replicas (RedisTestCluster)")
  const context = await Effect.runPromise(Layer.buildWithScope(RedisTestCluster.layer(), options.scope))
  const cluster = Context.get(context, RedisTestCluster.RedisTestCluster)
  const topology = await Effect.runPromise(cluster.topology)
  const limitMaster = await Effect.runPromise(cluster.masterOf(`{${limitTag}}`))
  const limitUrl = `redis://${cluster.host}:${limitMaster.port}/0`
  const redis = await serverInfo(limitUrl)
  const watch = await meter(cluster.host, topology)
  const admin = await clusterClient(cluster.nodes)
  try {
    const measures = new Map<Key, Array<Measure>>()
    const ctx: ClusterContext = {
      url: cluster.url,
      nodes: cluster.nodes,
      admin,
      meter: watch,
      record: (key, measure) => measures.set(key, [...(measures.get(key) ?? []), measure]),
      limitNode: { url: limitUrl, tag: limitTag }
    }
    const masters = topology.filter((node) => node.role === "master").length
    out(
      [
        `@maf/events bench --topology cluster${options.quick ? " --quick" : ""}: ${options.machine}, redis ${redis.version}, a cluster of ${masters} masters and ${topology.length - masters} replicas (RedisTestCluster), ${notPinned.description}, load average ${loadBefore} at start`,
        `body: ${bodyBytes} bytes of JSON in field data, the same text on both sides; partitioned: ${partitions} partitions, one on each master`
      ].join("\n")
    )
    const publishCase = sizedCase({
      name: "cluster publish",
      keys: clusterKeys,
      sizes: { quick: 20_000, full: 50_000 },
      unit: "events",
      sides: (_, events) => sides(ctx, events)
    })
    log("cluster publish:")
    const result = await publishCase.run({
      url: cluster.url,
      pinned: false,
      quick: options.quick,
      selected: options.selected,
      log
    })
    const ratios: ReadonlyArray<Ratio> = ratioPairs.flatMap(([a, b]) => {
      const value = ratioStats(result.stats.get(a), result.stats.get(b))
      return value === undefined ? [] : [{ name: `${a} / ${b}`, jsonKey: `ratio_${a}_${b}`, value }]
    })
    const cpu = cpuMedians(measures, defaultRounds[options.quick ? "quick" : "full"].warmup)
    const seconds = (performance.now() - options.started) / 1000
    const loadAfter = loadAverage()

    out("")
    out(figureTable(result.stats))
    out("")
    if (ratios.length > 0) out(`${ratioTable(ratios)}\n`)
    out(
      markdown(
        ["CPU an event (median of the rounds)", "client µs", "masters µs", "replicas µs"],
        cpu.map((c) => [
          c.key,
          ...[c.client, c.masters, c.replicas].map((n) => (Number.isFinite(n) ? format(n) : "–"))
        ]),
        new Set([0])
      )
    )
    out("")
    const notes = [
      ...result.notes,
      `cluster_server_limit: redis-benchmark to the master on port ${limitMaster.port} alone; its client CPU is redis-benchmark's, not measured`,
      "CPU an event: this process's (client), the masters' and the replicas' together (INFO cpu), over the timed stretch of each round"
    ]
    out(notes.map((n) => `- ${n}`).join("\n"))
    out(`- ${seconds.toFixed(1)} s in all; load average ${loadAfter} at the end`)
    if (options.json) {
      const json = jsonReport({
        stats: result.stats,
        checked: [],
        ratios,
        pinning: notPinned,
        quick: options.quick,
        seconds
      })
      const us = (n: number) => (Number.isFinite(n) ? Number(n.toPrecision(4)) : null)
      json.cpu_us_per_event = Object.fromEntries(
        cpu.map((c) => [c.key, { client: us(c.client), masters: us(c.masters), replicas: us(c.replicas) }])
      )
      json.cluster = { masters, replicas: topology.length - masters, partitions }
      json.load_average = { start: loadBefore, end: loadAfter }
      process.stdout.write(`${JSON.stringify(json)}\n`)
    }
  } finally {
    admin.disconnect()
    watch.close()
  }
}
