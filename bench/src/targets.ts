/**
 * The targets of the bench (issue 13) and their check: ratios between a case's sides, each the
 * median of the per-round ratios (`stats.ratioStats`), and one absolute figure.
 */
import type { Key } from "./harness.js"
import { ratioStats, type Stats } from "./stats.js"

/** A target: a figure (a ratio or a key's own), the bound it must meet, and its `--json` key. */
export interface Target {
  /** As the table shows it: `"a / b"` or the key. */
  readonly name: string
  /** Its key in `--json`: `ratio_<a>_<b>` or the figure's own key. */
  readonly jsonKey: string
  readonly value: (stats: ReadonlyMap<Key, Stats>) => Stats | undefined
  readonly bound: { readonly op: ">=" | "<="; readonly limit: number; readonly unit: string }
}

const ratio = (a: Key, b: Key, op: ">=" | "<=", limit: number): Target => ({
  name: `${a} / ${b}`,
  jsonKey: `ratio_${a}_${b}`,
  value: (stats) => ratioStats(stats.get(a), stats.get(b)),
  bound: { op, limit, unit: "" }
})

const figure = (key: Key, op: ">=" | "<=", limit: number, unit: string): Target => ({
  name: key,
  jsonKey: key,
  value: (stats) => stats.get(key),
  bound: { op, limit, unit }
})

/** Every target, in the order of the table. */
export const targets: ReadonlyArray<Target> = [
  ratio("publish_nowait", "raw_pipeline", ">=", 1.5),
  ratio("publish_nowait", "server_limit", ">=", 0.6),
  ratio("publish_awaited", "raw_sequential", ">=", 0.9),
  ratio("publish_concurrent", "raw_concurrent", ">=", 1.5),
  ratio("read_decoded", "raw_read", ">=", 1.0),
  ratio("group_process", "raw_group", ">=", 1.0),
  ratio("e2e_p99_ms", "raw_e2e_p99_ms", "<=", 1.5),
  figure("read_rss_growth_mb", "<=", 50, "MB")
]

/** A target checked against a run's figures. */
export interface Checked {
  readonly target: Target
  readonly value: Stats
  /** Whether the median meets the bound. */
  readonly met: boolean
}

/** The bound as text: `">= 1.50"`, `"<= 50 MB"`. */
export const wanted = (target: Target): string =>
  `${target.bound.op} ${target.bound.unit === "" ? target.bound.limit.toFixed(2) : `${target.bound.limit} ${target.bound.unit}`}`

/** The targets that the run measured, checked; a target whose figures were not asked for is left out. */
export const check = (stats: ReadonlyMap<Key, Stats>): ReadonlyArray<Checked> =>
  targets.flatMap((target) => {
    const value = target.value(stats)
    if (value === undefined) return []
    const met =
      target.bound.op === ">=" ? value.median >= target.bound.limit : value.median <= target.bound.limit
    return [{ target, value, met }]
  })
