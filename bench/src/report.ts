/**
 * What a run prints: the table of figures (median and spread of the rounds), the table of targets
 * (the median of the per-round ratios, its spread, met or not), and the `--json` object.
 */
import { format, type Key, keys, unitOf } from "./harness.js"
import type { LayoutFigures, PinningDecision } from "./pinProbe.js"
import type { Stats } from "./stats.js"
import { type Checked, wanted } from "./targets.js"

/** A Markdown table; `left` says which columns are left-aligned. */
export const markdown = (
  head: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  left: ReadonlySet<number>
) => {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`
  const rule = `|${widths.map((w, i) => (left.has(i) ? `-${"-".repeat(w)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`
  return [line(head), rule, ...rows.map(line)].join("\n")
}

const spread = (s: Stats) => [`${format(s.q1)} – ${format(s.q3)}`, `${format(s.min)} – ${format(s.max)}`]

/** The figures measured: median, interquartile range, min–max, unit and rounds. */
export const figureTable = (stats: ReadonlyMap<Key, Stats>): string =>
  markdown(
    ["figure", "median", "IQR", "min – max", "unit", "rounds"],
    keys.flatMap((key) => {
      const s = stats.get(key)
      return s === undefined
        ? []
        : [[key, format(s.median), ...spread(s), unitOf(key), String(s.samples.length)]]
    }),
    new Set([0, 4])
  )

/** The targets checked: the median (of the per-round ratios, for a ratio), its spread, the bound, met. */
export const targetTable = (checked: ReadonlyArray<Checked>): string =>
  checked.length === 0
    ? ""
    : markdown(
        ["target", "median", "IQR", "min – max", "rounds", "wanted", ""],
        checked.map(({ target, value, met }) => [
          target.name,
          format(value.median),
          ...spread(value),
          String(value.samples.length),
          wanted(target),
          met ? "met" : "MISSED"
        ]),
        new Set([0, 5, 6])
      )

/** A ratio reported without a bound (the cluster bench's): `a / b`, its `--json` key, its per-round summary. */
export interface Ratio {
  readonly name: string
  readonly jsonKey: string
  readonly value: Stats
}

/** The ratios measured: the median of the per-round ratios, its spread, the rounds. */
export const ratioTable = (ratios: ReadonlyArray<Ratio>): string =>
  markdown(
    ["ratio", "median", "IQR", "min – max", "rounds"],
    ratios.map(({ name, value }) => [
      name,
      format(value.median),
      ...spread(value),
      String(value.samples.length)
    ]),
    new Set([0])
  )

const round = (n: number, digits: number) => Number(n.toPrecision(digits))

/**
 * The `--json` object: every figure's median under its key, every ratio target's median under
 * `ratio_<a>_<b>`, then `targets` (each checked target's median, spread, bound and whether it is
 * met), `targets_missed`, `ratios` (each ratio reported without a bound, summarised as a target
 * is; its median under its own key too), `spread` (each figure's quartiles, min, max and rounds),
 * `pinning` and `seconds` (the run's wall time).
 */
export const jsonReport = (options: {
  readonly stats: ReadonlyMap<Key, Stats>
  readonly checked: ReadonlyArray<Checked>
  readonly ratios?: ReadonlyArray<Ratio> | undefined
  readonly pinning: PinningDecision
  readonly quick: boolean
  readonly seconds: number
}): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of keys) {
    const s = options.stats.get(key)
    if (s !== undefined) out[key] = round(s.median, 6)
  }
  for (const { target, value } of options.checked) {
    if (target.jsonKey !== target.name) out[target.jsonKey] = round(value.median, 4)
  }
  for (const { jsonKey, value } of options.ratios ?? []) out[jsonKey] = round(value.median, 4)
  const summary = (s: Stats, digits: number) => ({
    median: round(s.median, digits),
    q1: round(s.q1, digits),
    q3: round(s.q3, digits),
    min: round(s.min, digits),
    max: round(s.max, digits),
    rounds: s.samples.length
  })
  out.targets = Object.fromEntries(
    options.checked.map(({ target, value, met }) => [
      target.jsonKey,
      { ...summary(value, 4), wanted: wanted(target), met }
    ])
  )
  out.targets_missed = options.checked.filter((c) => !c.met).map((c) => c.target.name)
  if (options.ratios !== undefined) {
    out.ratios = Object.fromEntries(options.ratios.map(({ jsonKey, value }) => [jsonKey, summary(value, 4)]))
  }
  out.spread = Object.fromEntries(
    keys.flatMap((key) => {
      const s = options.stats.get(key)
      return s === undefined ? [] : [[key, summary(s, 6)]]
    })
  )
  const { pinned, by, probe } = options.pinning
  const layout = (f: LayoutFigures) =>
    Object.fromEntries(Object.entries(f).map(([name, value]) => [name, round(value, 4)]))
  out.pinning =
    probe === undefined
      ? { pinned, by }
      : { pinned, by, probe: { pinned: layout(probe.pinned), unpinned: layout(probe.unpinned) } }
  out.quick = options.quick
  out.seconds = round(options.seconds, 4)
  return out
}
