/**
 * PrometheusText: the text exposition format (0.0.4) of Effect metrics, case by case (a table of
 * metric pairs and the exact text they make), every `maf_events_*` metric the library defines as a
 * `/metrics` scrape shows it, and a parse-back check: a small parser of the format's grammar reads
 * every output back (names, labels and their escapes, values, `# HELP` / `# TYPE` before a family's
 * samples, families contiguous, histogram buckets cumulative and ending with `+Inf` = `_count`) and
 * finds the values that were written, for random names, tags and values too.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import * as MetricLabel from "effect/MetricLabel"
import * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"
import { ConsumerMetrics, PrometheusText, PublishMetrics, ReadMetrics } from "../src/index.js"

// ---- a parser of the exposition format ---------------------------------------------------------

interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

interface ParsedFamily {
  readonly name: string
  help: string | undefined
  type: string | undefined
  readonly samples: Array<Sample>
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/
const floatText = /^(?:[+-]?Inf|NaN|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/

const parseValue = (text: string): number => {
  if (!floatText.test(text)) throw new Error(`not a float: ${JSON.stringify(text)}`)
  return text === "+Inf" || text === "Inf" ? Infinity : text === "-Inf" ? -Infinity : Number(text)
}

/** The family a sample belongs to: `x_bucket`, `x_sum`, `x_count` are `x`'s when `x` is a histogram or summary. */
const familyOf = (name: string, types: ReadonlyMap<string, string>): string => {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue
    const base = name.slice(0, -suffix.length)
    const type = types.get(base)
    if (type === "histogram" || (type === "summary" && suffix !== "_bucket")) return base
  }
  return name
}

/** Reads a sample line character by character, as the format's grammar says; throws on anything else. */
const parseSample = (line: string): Sample => {
  const name = metricName.exec(line)?.[0]
  if (name === undefined) throw new Error(`no metric name: ${line}`)
  let i = name.length
  const labels: Record<string, string> = {}
  if (line[i] === "{") {
    i++
    while (line[i] !== "}") {
      const label = labelName.exec(line.slice(i))?.[0]
      if (label === undefined) throw new Error(`bad label name at ${i}: ${line}`)
      if (label in labels) throw new Error(`label ${label} twice: ${line}`)
      i += label.length
      if (line.slice(i, i + 2) !== '="') throw new Error(`expected =" at ${i}: ${line}`)
      i += 2
      let value = ""
      for (;;) {
        const c = line[i++]
        if (c === undefined || c === "\n") throw new Error(`unterminated label value: ${line}`)
        if (c === '"') break
        if (c === "\\") {
          const e = line[i++]
          if (e === "\\") value += "\\"
          else if (e === '"') value += '"'
          else if (e === "n") value += "\n"
          else throw new Error(`bad escape \\${e}: ${line}`)
        } else value += c
      }
      labels[label] = value
      if (line[i] === ",") i++
      else if (line[i] !== "}") throw new Error(`expected , or } at ${i}: ${line}`)
    }
    i++
  }
  if (line[i] !== " ") throw new Error(`expected a space before the value: ${line}`)
  const rest = line.slice(i + 1).split(" ")
  if (rest.length > 2 || (rest.length === 2 && !/^-?\d+$/.test(rest[1]!))) {
    throw new Error(`bad value or timestamp: ${line}`)
  }
  return { name, labels, value: parseValue(rest[0]!) }
}

const unescapeHelp = (text: string): string =>
  text.replace(/\\(.)/g, (_, c: string) => {
    if (c === "\\") return "\\"
    if (c === "n") return "\n"
    throw new Error(`bad escape in help: \\${c}`)
  })

/** Parses and checks a whole exposition: throws with the reason when it is not well-formed. */
const parse = (text: string): Map<string, ParsedFamily> => {
  if (text !== "" && !text.endsWith("\n")) throw new Error("the text does not end with a line feed")
  const families = new Map<string, ParsedFamily>()
  const types = new Map<string, string>()
  const closed = new Set<string>()
  let current: string | undefined
  const enter = (name: string): ParsedFamily => {
    if (current !== name) {
      if (families.has(name)) throw new Error(`family ${name} is not contiguous`)
      if (current !== undefined) closed.add(current)
      current = name
      families.set(name, { name, help: undefined, type: undefined, samples: [] })
    }
    return families.get(name)!
  }
  for (const line of text.split("\n").slice(0, -1)) {
    if (line === "") continue
    const meta = /^# (HELP|TYPE) ([^ ]+) ?([\s\S]*)$/.exec(line)
    if (meta !== null) {
      const [, what, name, rest] = meta
      if (!metricName.test(name!) || metricName.exec(name!)![0] !== name) throw new Error(`bad name ${name}`)
      const family = enter(name!)
      if (what === "HELP") {
        if (family.help !== undefined) throw new Error(`two HELP lines for ${name}`)
        family.help = unescapeHelp(rest!)
      } else {
        if (family.type !== undefined) throw new Error(`two TYPE lines for ${name}`)
        if (family.samples.length > 0) throw new Error(`TYPE of ${name} after its samples`)
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest!)) {
          throw new Error(`bad type ${rest}`)
        }
        family.type = rest
        types.set(name!, rest!)
      }
      continue
    }
    if (line.startsWith("#")) continue
    const sample = parseSample(line)
    const family = enter(familyOf(sample.name, types))
    const key = `${sample.name}${seriesKey(sample.labels, "")}`
    if (family.samples.some((s) => `${s.name}${seriesKey(s.labels, "")}` === key)) {
      throw new Error(`the series ${key} twice`)
    }
    family.samples.push(sample)
  }
  for (const family of families.values()) checkFamily(family)
  return families
}

const seriesKey = (labels: Readonly<Record<string, string>>, without: string) =>
  JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => k !== without)
      .sort()
  )

/** A histogram's buckets are cumulative, end with `+Inf`, which equals `_count`; every series has `_sum`. */
const checkFamily = (family: ParsedFamily) => {
  if (family.type !== "histogram" && family.type !== "summary") return
  const series = new Map<string, Array<Sample>>()
  for (const s of family.samples) {
    const key = seriesKey(s.labels, family.type === "histogram" ? "le" : "quantile")
    series.set(key, [...(series.get(key) ?? []), s])
  }
  for (const [key, samples] of series) {
    const count = samples.find((s) => s.name === `${family.name}_count`)
    const sum = samples.find((s) => s.name === `${family.name}_sum`)
    if (count === undefined || sum === undefined) throw new Error(`${family.name}${key}: no _count or _sum`)
    if (family.type === "summary") continue
    const buckets = samples.filter((s) => s.name === `${family.name}_bucket`)
    const bounds = buckets.map((b) => parseValue(b.labels.le ?? "missing"))
    for (let i = 1; i < buckets.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`${family.name}: le not increasing`)
      if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${family.name}: buckets not cumulative`)
    }
    if (bounds.at(-1) !== Infinity) throw new Error(`${family.name}: no +Inf bucket`)
    if (buckets.at(-1)!.value !== count.value) throw new Error(`${family.name}: +Inf bucket is not _count`)
  }
}

const expectedNames: Readonly<Record<string, readonly [string, string]>> = {
  "PublishMetrics.published": ["maf_events_published_total", "counter"],
  "PublishMetrics.failed": ["maf_events_publish_failed_total", "counter"],
  "PublishMetrics.dropped": ["maf_events_dropped_total", "counter"],
  "PublishMetrics.buffered": ["maf_events_buffered", "gauge"],
  "PublishMetrics.publishLatency": ["maf_events_publish_latency_ms", "histogram"],
  "ReadMetrics.read": ["maf_events_read_total", "counter"],
  "ReadMetrics.gaps": ["maf_events_read_gaps_total", "counter"],
  "ReadMetrics.lost": ["maf_events_read_lost_total", "counter"],
  "ReadMetrics.malformed": ["maf_events_read_malformed_total", "counter"],
  "ReadMetrics.unknownKinds": ["maf_events_read_unknown_kind_total", "counter"],
  "ReadMetrics.failures": ["maf_events_read_failures_total", "counter"],
  "ConsumerMetrics.handled": ["maf_events_group_handled_total", "counter"],
  "ConsumerMetrics.acked": ["maf_events_group_acked_total", "counter"],
  "ConsumerMetrics.retried": ["maf_events_group_retried_total", "counter"],
  "ConsumerMetrics.deadLettered": ["maf_events_group_dead_lettered_total", "counter"],
  "ConsumerMetrics.claimed": ["maf_events_group_claimed_total", "counter"],
  "ConsumerMetrics.lost": ["maf_events_group_lost_total", "counter"],
  "ConsumerMetrics.missingGroup": ["maf_events_group_missing_total", "counter"],
  "ConsumerMetrics.consumersRemoved": ["maf_events_group_consumers_removed_total", "counter"],
  "ConsumerMetrics.pending": ["maf_events_group_pending", "gauge"],
  "ConsumerMetrics.lag": ["maf_events_group_lag", "gauge"],
  "ConsumerMetrics.handlerDuration": ["maf_events_group_handler_duration_ms", "histogram"]
}

// ---- the table ---------------------------------------------------------------------------------

const tags = (...pairs: ReadonlyArray<readonly [string, string]>) =>
  pairs.map(([key, value]) => MetricLabel.make(key, value))

const counter = (name: string, count: number, t = tags(), description?: string) =>
  MetricPair.unsafeMake(
    MetricKey.taggedWithLabels(
      MetricKey.counter(name, description === undefined ? undefined : { description }),
      t
    ),
    MetricState.counter(count)
  )

const histogram = MetricPair.unsafeMake(
  MetricKey.taggedWithLabels(
    MetricKey.histogram("latency_ms", MetricBoundaries.fromIterable([1, 2.5, 10]), "Latency"),
    tags(["stream", "s"])
  ),
  MetricState.histogram({
    buckets: [
      [1, 2],
      [2.5, 5],
      [10, 5],
      [Infinity, 6]
    ],
    count: 6,
    min: 0.5,
    max: 30,
    sum: 48.25
  })
)

const cases: ReadonlyArray<{
  readonly name: string
  readonly pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>
  readonly text: string
}> = [
  { name: "no metrics: an empty text", pairs: [], text: "" },
  {
    name: "a counter: HELP from its description, TYPE, one sample a tag set, sorted by tags",
    pairs: [
      counter("jobs_total", 3, tags(["stream", "b"]), "Jobs done"),
      counter("jobs_total", 7, tags(["stream", "a"]), "Jobs done")
    ],
    text: [
      "# HELP jobs_total Jobs done",
      "# TYPE jobs_total counter",
      'jobs_total{stream="a"} 7',
      'jobs_total{stream="b"} 3',
      ""
    ].join("\n")
  },
  {
    name: "a gauge without tags or description: no HELP, no braces; families sorted by name",
    pairs: [
      MetricPair.unsafeMake(MetricKey.gauge("z_depth"), MetricState.gauge(-2.5)),
      MetricPair.unsafeMake(
        MetricKey.gauge("a_depth", { bigint: true }),
        MetricState.gauge(BigInt(2) ** BigInt(70))
      )
    ],
    text: [
      "# TYPE a_depth gauge",
      "a_depth 1180591620717411303424",
      "# TYPE z_depth gauge",
      "z_depth -2.5",
      ""
    ].join("\n")
  },
  {
    name: "a histogram: cumulative _bucket lines with le, +Inf equal to _count, _sum, _count",
    pairs: [histogram],
    text: [
      "# HELP latency_ms Latency",
      "# TYPE latency_ms histogram",
      'latency_ms_bucket{stream="s",le="1"} 2',
      'latency_ms_bucket{stream="s",le="2.5"} 5',
      'latency_ms_bucket{stream="s",le="10"} 5',
      'latency_ms_bucket{stream="s",le="+Inf"} 6',
      'latency_ms_sum{stream="s"} 48.25',
      'latency_ms_count{stream="s"} 6',
      ""
    ].join("\n")
  },
  {
    name: "a summary: quantile lines (NaN where none is known), _sum, _count",
    pairs: [
      MetricPair.unsafeMake(
        MetricKey.summary({
          name: "size",
          maxAge: "1 minute",
          maxSize: 10,
          error: 0.01,
          quantiles: [0.5, 0.99]
        }),
        MetricState.summary({
          error: 0.01,
          quantiles: [
            [0.5, Option.some(4)],
            [0.99, Option.none()]
          ],
          count: 3,
          min: 1,
          max: 9,
          sum: 14
        })
      )
    ],
    text: [
      "# TYPE size summary",
      'size{quantile="0.5"} 4',
      'size{quantile="0.99"} NaN',
      "size_sum 14",
      "size_count 3",
      ""
    ].join("\n")
  },
  {
    name: "a frequency: a counter with a key label per value seen",
    pairs: [
      MetricPair.unsafeMake(
        MetricKey.taggedWithLabels(
          MetricKey.frequency("errors", { description: "By code" }),
          tags(["svc", "x"])
        ),
        MetricState.frequency(
          new Map([
            ["timeout", 2],
            ["429", 5]
          ])
        )
      )
    ],
    text: [
      "# HELP errors By code",
      "# TYPE errors counter",
      'errors{svc="x",key="429"} 5',
      'errors{svc="x",key="timeout"} 2',
      ""
    ].join("\n")
  },
  {
    name: "label values escaped (backslash, quote, line feed), help escaped, other characters as they are",
    pairs: [counter("c", 1, tags(["path", 'C:\\tmp\\"x"\nnext → ✓']), "first line\nsecond \\ line")],
    text: [
      "# HELP c first line\\nsecond \\\\ line",
      "# TYPE c counter",
      'c{path="C:\\\\tmp\\\\\\"x\\"\\nnext → ✓"} 1',
      ""
    ].join("\n")
  },
  {
    name: "names sanitised: metric and label names to the format's alphabet, no leading digit, no __ labels",
    pairs: [counter("http.requests-total", 1, tags(["9code", "a"], ["__name", "b"], ["sub.system", "c"]))],
    text: [
      "# TYPE http_requests_total counter",
      'http_requests_total{_9code="a",_name="b",sub_system="c"} 1',
      ""
    ].join("\n")
  },
  {
    name: "a tag named le on a histogram is kept apart from the bucket's le",
    pairs: [
      MetricPair.unsafeMake(
        MetricKey.taggedWithLabels(
          MetricKey.histogram("h", MetricBoundaries.fromIterable([1])),
          tags(["le", "mine"])
        ),
        MetricState.histogram({
          buckets: [
            [1, 1],
            [Infinity, 1]
          ],
          count: 1,
          min: 1,
          max: 1,
          sum: 1
        })
      )
    ],
    text: [
      "# TYPE h histogram",
      'h_bucket{_le="mine",le="1"} 1',
      'h_bucket{_le="mine",le="+Inf"} 1',
      'h_sum{_le="mine"} 1',
      'h_count{_le="mine"} 1',
      ""
    ].join("\n")
  },
  {
    name: "values: integers, decimals, exponents, ±Inf and NaN",
    pairs: [
      MetricPair.unsafeMake(MetricKey.gauge("g1"), MetricState.gauge(1e-7)),
      MetricPair.unsafeMake(MetricKey.gauge("g2"), MetricState.gauge(Infinity)),
      MetricPair.unsafeMake(MetricKey.gauge("g3"), MetricState.gauge(-Infinity)),
      MetricPair.unsafeMake(MetricKey.gauge("g4"), MetricState.gauge(Number.NaN))
    ],
    text: [
      "# TYPE g1 gauge",
      "g1 1e-7",
      "# TYPE g2 gauge",
      "g2 +Inf",
      "# TYPE g3 gauge",
      "g3 -Inf",
      "# TYPE g4 gauge",
      "g4 NaN",
      ""
    ].join("\n")
  },
  {
    name: "one series a label set: a second key of the same name and tags (another description) is left out, said",
    pairs: [
      counter("y", 1, tags(["s", "a"]), "first"),
      counter("y", 2, tags(["s", "a"]), "second"),
      counter("y", 3, tags(["s", "b"]))
    ],
    text: [
      "# HELP y first",
      "# TYPE y counter",
      'y{s="a"} 1',
      'y{s="b"} 3',
      "# y: a second series with the same labels left out",
      ""
    ].join("\n")
  },
  {
    name: "one type a name: a gauge of a counter's name is left out, said in a comment",
    pairs: [counter("x", 1), MetricPair.unsafeMake(MetricKey.gauge("x"), MetricState.gauge(9))],
    text: ["# TYPE x counter", "x 1", "# x: a gauge left out, the name is a counter", ""].join("\n")
  }
]

describe("PrometheusText", () => {
  describe("format, case by case", () => {
    for (const c of cases) {
      it(c.name, () => {
        const text = PrometheusText.format(c.pairs)
        expect(text).toBe(c.text)
        parse(text)
      })
    }
  })

  it("the parser refuses what is not the format (so that passing it means something)", () => {
    for (const bad of [
      "x 1",
      "# TYPE x counter\nx{a=1} 1\n",
      '# TYPE x counter\nx{a="\\t"} 1\n',
      '# TYPE x counter\nx{a="1"}1\n',
      "# TYPE x counter\nx one\n",
      "# TYPE x counter\nx 1\n# TYPE y counter\ny 1\nx 2\n",
      "# TYPE x counter\nx 1\n# TYPE x counter\n",
      '# TYPE x counter\nx{a="1"} 1\nx{a="1"} 2\n',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'
    ]) {
      expect(() => parse(bad), bad).toThrow()
    }
  })

  it("random names, tags and values are written so that they parse back to what was written", () => {
    const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,12}$/)
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            name,
            tags: fc.uniqueArray(fc.tuple(name, fc.string({ unit: "binary", maxLength: 12 })), {
              maxLength: 3,
              selector: ([k]) => PrometheusText.sanitizeName(k, "label")
            }),
            value: fc.oneof(fc.integer(), fc.double({ noNaN: true })),
            help: fc.string({ unit: "binary", maxLength: 20 })
          }),
          { maxLength: 6, selector: (m) => PrometheusText.sanitizeName(m.name) }
        ),
        (metrics) => {
          const pairs = metrics.map((m) =>
            MetricPair.unsafeMake(
              MetricKey.taggedWithLabels(MetricKey.gauge(m.name, { description: m.help }), tags(...m.tags)),
              MetricState.gauge(m.value)
            )
          )
          const families = parse(PrometheusText.format(pairs))
          expect(families.size).toBe(metrics.length)
          for (const m of metrics) {
            const family = families.get(PrometheusText.sanitizeName(m.name))!
            expect(family.type).toBe("gauge")
            expect(family.help ?? "").toBe(m.help)
            expect(family.samples).toHaveLength(1)
            expect(Object.values(family.samples[0]!.labels).sort()).toEqual(m.tags.map(([, v]) => v).sort())
            expect(family.samples[0]!.value).toBe(m.value === 0 ? 0 : m.value)
          }
        }
      ),
      { numRuns: 300 }
    )
  })

  // Every metric of the library: its exposition name, its type; the modules' exports are all here.
  const library: ReadonlyArray<readonly [string, Metric.Metric<any, any, any>, string, string]> = [
    ...Object.entries(PublishMetrics).map(([k, m]) => [`PublishMetrics.${k}`, m] as const),
    ...Object.entries(ReadMetrics).map(([k, m]) => [`ReadMetrics.${k}`, m] as const),
    ...Object.entries(ConsumerMetrics).map(([k, m]) => [`ConsumerMetrics.${k}`, m] as const)
  ].map(([k, m]) => {
    const [name, type] = expectedNames[k] ?? ["(not in the table)", ""]
    return [k, m as Metric.Metric<any, any, any>, name, type] as const
  })

  it.effect("every maf_events_* metric the library defines, as a scrape of the process shows it", () =>
    Effect.gen(function* () {
      expect(library.map(([k]) => k).sort()).toEqual(Object.keys(expectedNames).sort())
      const stream = `prometheus-${Math.random().toString(36).slice(2)}`
      for (const [key, metric] of library) {
        const tagged = metric.pipe(Metric.tagged("stream", stream), Metric.tagged("group", 'g"1'))
        const state = yield* Metric.value(tagged)
        const isHistogram = MetricState.isHistogramState(state)
        yield* Metric.update(tagged, key.length + (isHistogram ? 0.3 : 0))
        if (isHistogram) yield* Metric.update(tagged, 5_000)
      }
      const text = yield* PrometheusText.snapshot({ prefix: "maf_events_" })
      const families = parse(text)
      for (const [key, , name, type] of library) {
        const family = families.get(name)
        expect(family, `${key}: ${name}`).toBeDefined()
        expect(family!.type, key).toBe(type)
        expect(family!.help, key).toMatch(/^[A-Z]/)
        const ours = family!.samples.filter((s) => s.labels.stream === stream && s.labels.group === 'g"1')
        if (type === "histogram") {
          const buckets = ours.filter((s) => s.name === `${name}_bucket`)
          expect(buckets.length, key).toBeGreaterThan(10)
          expect(buckets.find((b) => b.labels.le === "+Inf")?.value).toBe(2)
          expect(ours.find((s) => s.name === `${name}_count`)?.value).toBe(2)
          expect(ours.find((s) => s.name === `${name}_sum`)?.value).toBeCloseTo(5_000 + key.length + 0.3)
          // The value under the smallest bucket above it, the large one only in +Inf.
          expect(buckets.filter((b) => b.value === 1).length).toBeGreaterThan(0)
        } else {
          expect(
            ours.map((s) => s.value),
            key
          ).toEqual([key.length])
        }
      }
      // Only the prefix asked for.
      expect([...families.keys()].every((n) => n.startsWith("maf_events_"))).toBe(true)
    })
  )
})
