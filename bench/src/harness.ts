/**
 * The harness: the figures' keys, warm-up rounds and measured rounds.
 *
 * The sides of a case (our library and its plain-ioredis baseline) run interleaved, round by round,
 * and in alternating order, so that a noisy neighbour or a CPU frequency change hits both sides
 * alike and the ratio of each round holds (`stats.ts`: the median of the per-round ratios).
 */
import { type Stats, stats } from "./stats.js"

export { quantile, type Stats } from "./stats.js"

/** The figures the bench reports, in the order of its table; the figure keys of `--json`. */
export const keys = [
  "publish_nowait",
  "raw_pipeline",
  "server_limit",
  "publish_awaited",
  "raw_sequential",
  "publish_concurrent",
  "raw_concurrent",
  "read_decoded",
  "raw_read",
  "group_process",
  "raw_group",
  "e2e_p50_ms",
  "e2e_p99_ms",
  "raw_e2e_p50_ms",
  "raw_e2e_p99_ms",
  "null_publish_ns",
  "memory_publish",
  "read_rss_growth_mb",
  "cluster_publish_nowait",
  "cluster_raw_pipeline",
  "cluster_partitioned_nowait",
  "cluster_raw_partitioned",
  "cluster_server_limit"
] as const

export type Key = (typeof keys)[number]

export const isKey = (s: string): s is Key => (keys as ReadonlyArray<string>).includes(s)

/** A figure's unit, by the naming rule of the issue: events per second unless the name says otherwise. */
export const unitOf = (key: Key): string =>
  key.endsWith("_ms") ? "ms" : key.endsWith("_ns") ? "ns" : key.endsWith("_mb") ? "MB" : "events/s"

/** One side of a case: a run gives one value for each of its keys. */
export interface Side {
  readonly keys: ReadonlyArray<Key>
  readonly run: () => Promise<Partial<Record<Key, number>>>
}

export interface Rounds {
  readonly warmup: number
  readonly rounds: number
}

/**
 * Runs `warmup` unrecorded rounds, then `rounds` recorded ones; in each round every side runs once,
 * in alternating order. Every side gives every one of its keys in every round, so that the samples
 * of two keys line up round by round (`ratioStats`).
 */
export const runRounds = async (
  sides: ReadonlyArray<Side>,
  { warmup, rounds }: Rounds,
  log: (line: string) => void
): Promise<Map<Key, Stats>> => {
  const samples = new Map<Key, Array<number>>()
  for (let round = 0; round < warmup + rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse()
    const recorded = round >= warmup
    for (const side of order) {
      const result = await side.run()
      const figures = side.keys.map((key) => `${key} ${format(result[key] ?? Number.NaN)}`).join(", ")
      log(`  ${recorded ? `round ${round - warmup + 1}` : "warm-up"}: ${figures}`)
      if (!recorded) continue
      for (const key of side.keys) {
        const value = result[key]
        if (value === undefined || !Number.isFinite(value)) throw new Error(`${key}: no figure in a round`)
        const list = samples.get(key) ?? []
        list.push(value)
        samples.set(key, list)
      }
    }
  }
  return new Map([...samples].map(([key, list]) => [key, stats(list)]))
}

/** Seconds since `start` (a `performance.now()`), for rates. */
export const secondsSince = (start: number): number => (performance.now() - start) / 1000

/** A figure for the table: thousands grouped, three significant digits or so below 1,000. */
export const format = (n: number): string => {
  if (!Number.isFinite(n)) return String(n)
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString("en-US")
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}
