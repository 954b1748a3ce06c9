/**
 * Effect `Metric`s in the Prometheus text exposition format (version 0.0.4): what a `/metrics`
 * endpoint answers, written from the process' metric registry (`Metric.snapshot`), with no SDK.
 *
 * Each metric name is a family with its `# HELP` (the metric's description) and `# TYPE` lines, then
 * one sample per tag set: counters and gauges as they are; histograms as cumulative `_bucket` lines
 * (`le`, ending with `+Inf`), `_sum` and `_count`; summaries as `quantile` lines, `_sum` and `_count`;
 * frequencies as counters with a `key` label per value seen. Names are sanitised to the format's
 * alphabet, label values and help texts escaped, families and samples sorted, so the same registry
 * always gives the same text.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"

/**
 * The content type of the text format, for the HTTP response.
 *
 * @since 0.3.0
 * @category constants
 */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

/**
 * Options of {@link snapshot}.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** Only the metrics whose name starts with this (`"maf_events_"`). Default: every metric. */
  readonly prefix?: string | undefined
}

/**
 * A metric or label name made valid: characters outside `[a-zA-Z0-9_:]` (`:` not in label names)
 * become `_`, and a leading digit (or an empty name) gets a `_` before it.
 *
 * @since 0.3.0
 * @category encoding
 */
export const sanitizeName = (name: string, kind: "metric" | "label" = "metric"): string => {
  const cleaned = name.replace(kind === "metric" ? /[^a-zA-Z0-9_:]/g : /[^a-zA-Z0-9_]/g, "_")
  return cleaned === "" || /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned
}

/**
 * A label value escaped as the format wants it between double quotes: `\`, `"` and line feeds.
 *
 * @since 0.3.0
 * @category encoding
 */
export const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

/**
 * A help text escaped as the format wants it: `\` and line feeds.
 *
 * @since 0.3.0
 * @category encoding
 */
export const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/**
 * A sample value: `+Inf`, `-Inf`, `NaN`, else the number's shortest round-trip decimal form.
 *
 * @since 0.3.0
 * @category encoding
 */
export const formatValue = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

type Type = "counter" | "gauge" | "histogram" | "summary"

interface Family {
  readonly name: string
  readonly type: Type
  readonly help: string
  readonly samples: Array<{ readonly order: string; readonly lines: ReadonlyArray<string> }>
}

/** Tags as label pairs: names sanitised, made unique, and kept apart from the type's own (`le`, `quantile`). */
const labelsOf = (
  tags: ReadonlyArray<{ readonly key: string; readonly value: string }>,
  reserved: string | undefined
): Array<readonly [string, string]> => {
  const taken = new Set<string>(reserved === undefined ? [] : [reserved])
  return tags.map((tag) => {
    let name = sanitizeName(tag.key, "label")
    // Names starting with `__` are the server's own.
    if (name.startsWith("__")) name = `_${name.replace(/^_+/, "")}`
    while (taken.has(name)) name = `_${name}`
    taken.add(name)
    return [name, tag.value] as const
  })
}

const sample = (name: string, labels: ReadonlyArray<readonly [string, string]>, value: number | bigint) =>
  `${name}${
    labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`
  } ${formatValue(value)}`

const typeOf = (state: MetricState.MetricState.Untyped): Type | undefined =>
  MetricState.isCounterState(state) || MetricState.isFrequencyState(state)
    ? "counter"
    : MetricState.isGaugeState(state)
      ? "gauge"
      : MetricState.isHistogramState(state)
        ? "histogram"
        : MetricState.isSummaryState(state)
          ? "summary"
          : undefined

const linesOf = (
  name: string,
  tags: ReadonlyArray<{ readonly key: string; readonly value: string }>,
  state: MetricState.MetricState.Untyped
): ReadonlyArray<string> => {
  if (MetricState.isCounterState(state) || MetricState.isGaugeState(state)) {
    return [sample(name, labelsOf(tags, undefined), "count" in state ? state.count : state.value)]
  }
  if (MetricState.isFrequencyState(state)) {
    const labels = labelsOf(tags, "key")
    return [...state.occurrences.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, count]) => sample(name, [...labels, ["key", key]], count))
  }
  if (MetricState.isHistogramState(state)) {
    const labels = labelsOf(tags, "le")
    const buckets = state.buckets
      .filter(([boundary]) => boundary !== Number.POSITIVE_INFINITY)
      .map(([boundary, count]) => sample(`${name}_bucket`, [...labels, ["le", formatValue(boundary)]], count))
    return [
      ...buckets,
      sample(`${name}_bucket`, [...labels, ["le", "+Inf"]], state.count),
      sample(`${name}_sum`, labels, state.sum),
      sample(`${name}_count`, labels, state.count)
    ]
  }
  if (MetricState.isSummaryState(state)) {
    const labels = labelsOf(tags, "quantile")
    return [
      ...state.quantiles.map(([quantile, value]) =>
        sample(
          name,
          [...labels, ["quantile", formatValue(quantile)]],
          Option.getOrElse(value, () => Number.NaN)
        )
      ),
      sample(`${name}_sum`, labels, state.sum),
      sample(`${name}_count`, labels, state.count)
    ]
  }
  return []
}

/**
 * The text of metric pairs (what `Metric.snapshot` gives). Pairs of one name make one family (its
 * help and type from the first); a pair whose type differs from its family's, or whose tags are
 * those of a series already written, is left out, with a comment line saying so (the format has one
 * type a name, and one series a label set).
 *
 * @since 0.3.0
 * @category encoding
 */
export const format = (pairs: Iterable<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, Family>()
  const skipped: Array<string> = []
  for (const pair of pairs) {
    const type = typeOf(pair.metricState)
    if (type === undefined) continue
    const name = sanitizeName(pair.metricKey.name)
    let family = families.get(name)
    if (family === undefined) {
      family = { name, type, help: Option.getOrElse(pair.metricKey.description, () => ""), samples: [] }
      families.set(name, family)
    } else if (family.type !== type) {
      skipped.push(`# ${name}: a ${type} left out, the name is a ${family.type}`)
      continue
    }
    const tags = [...pair.metricKey.tags].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    const order = tags.map((t) => `${t.key}\u0000${t.value}`).join("\u0001")
    if (family.samples.some((sample) => sample.order === order)) {
      // Keys of one name and tags that differ otherwise (description, histogram boundaries).
      skipped.push(`# ${name}: a second series with the same labels left out`)
      continue
    }
    family.samples.push({ order, lines: linesOf(name, tags, pair.metricState) })
  }
  const out: Array<string> = []
  for (const family of [...families.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (family.help !== "") out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`)
    out.push(`# TYPE ${family.name} ${family.type}`)
    family.samples.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))
    for (const s of family.samples) out.push(...s.lines)
  }
  out.push(...skipped)
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}

/**
 * The text of the process' metrics now (`Metric.snapshot`), those whose name starts with `prefix`
 * when one is given: the body of a `/metrics` response.
 *
 * @example
 * import { Effect } from "effect"
 * import { PrometheusText } from "@maf/events"
 *
 * const body: Effect.Effect<string> = PrometheusText.snapshot({ prefix: "maf_events_" })
 *
 * @since 0.3.0
 * @category encoding
 */
export const snapshot = (options: Options = {}): Effect.Effect<string> =>
  Effect.map(Metric.snapshot, (pairs) => {
    const prefix = options.prefix
    return format(
      prefix === undefined ? pairs : pairs.filter((pair) => pair.metricKey.name.startsWith(prefix))
    )
  })
