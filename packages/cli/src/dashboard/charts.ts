/**
 * The dashboard's charts as markup: plain SVG (and small HTML tables around it) written by these
 * pure functions from what `dashboard/insights.ts` computes. The page runs them by their source
 * (`dashboard/inject.ts`), so they stay self-contained: no imports, only each other, by name.
 *
 * Why our own SVG and no charting library: the charts are four simple shapes (stacked areas, a
 * line, bars, a timeline); the page is one document with no build step, served from the CLI package
 * and offline; a library would add more code than these functions, a licence and an update to
 * follow, for nothing the page needs. Every text from the stream (kinds, arenas, models, agents) is
 * escaped before it is put in markup.
 *
 * @since 0.3.0
 */
import type { Insights, Run, Span, Usage } from "./insights.js"

/**
 * Colours of the families the canonical kinds use (the table's), and a palette for the others.
 *
 * @since 0.3.0
 * @category constants
 */
export const COLORS = {
  families: {
    arena: "#60a5fa",
    phase: "#22d3ee",
    agent: "#4ade80",
    decision: "#e879f9",
    source: "#93c5fd",
    llm: "#c084fc",
    control: "#facc15",
    action: "#86efac",
    system: "#9ca3af"
  } as Record<string, string>,
  others: ["#fb923c", "#f472b6", "#a3e635", "#2dd4bf", "#fcd34d", "#818cf8"],
  error: "#f87171",
  complete: "#4ade80",
  running: "#60a5fa",
  lag: "#fbbf24",
  pending: "#c084fc",
  grid: "#262a33",
  dim: "#8b909a"
}

/**
 * Text escaped for HTML and SVG (element content and quoted attributes).
 *
 * @since 0.3.0
 * @category rendering
 */
export const esc = (text: unknown): string =>
  String(text).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c
  )

/**
 * The colour of a family.
 *
 * @since 0.3.0
 * @category rendering
 */
export const colorOf = (family: string): string => {
  // Not inherited: a family may be named `constructor`.
  if (Object.hasOwn(COLORS.families, family)) return COLORS.families[family]!
  let hash = 0
  for (let i = 0; i < family.length; i++) hash = (hash * 31 + family.charCodeAt(i)) >>> 0
  return COLORS.others[hash % COLORS.others.length]!
}

/**
 * A round upper bound for an axis (1, 2 or 5 times a power of ten), at least `min`.
 *
 * @since 0.3.0
 * @category rendering
 */
export const niceMax = (value: number, min: number): number => {
  const v = Math.max(value, min)
  const power = 10 ** Math.floor(Math.log10(v))
  for (const step of [1, 2, 5, 10]) if (v <= step * power) return step * power
  return 10 * power
}

/**
 * A duration for people: `850 ms`, `4.2 s`, `3 min 05 s`.
 *
 * @since 0.3.0
 * @category rendering
 */
export const duration = (millis: number): string => {
  if (millis < 1000) return `${Math.round(millis)} ms`
  if (millis < 60_000) return `${(millis / 1000).toFixed(1)} s`
  const s = Math.round(millis / 1000)
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`
}

/**
 * A rate for people: `12`, `3.4`, `0.25` (entries per second).
 *
 * @since 0.3.0
 * @category rendering
 */
export const rate = (perSecond: number): string =>
  perSecond >= 10 ? String(Math.round(perSecond)) : String(Math.round(perSecond * 100) / 100)

/**
 * The throughput chart: the families' rates stacked as areas over the window, the error rate as a
 * line on the same scale, a grid with its rates, and the minutes ago along the bottom.
 *
 * @since 0.3.0
 * @category rendering
 */
export const throughputSvg = (
  series: {
    readonly families: ReadonlyArray<string>
    readonly points: ReadonlyArray<{ readonly rates: ReadonlyArray<number>; readonly errors: number }>
  },
  width: number,
  height: number
): string => {
  const left = 34
  const bottom = 16
  const top = 6
  const plotW = width - left - 6
  const plotH = height - top - bottom
  const n = series.points.length
  let peak = 0
  for (const p of series.points)
    peak = Math.max(
      peak,
      p.errors,
      p.rates.reduce((a, b) => a + b, 0)
    )
  const max = niceMax(peak, 1)
  const x = (i: number) => left + (n <= 1 ? plotW : (i * plotW) / (n - 1))
  const y = (v: number) => top + plotH - (v / max) * plotH
  const out: Array<string> = [
    `<svg class="chart throughput" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">`
  ]
  for (const v of [0, max / 2, max]) {
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="${COLORS.grid}"/>`,
      `<text x="${left - 4}" y="${y(v) + 3}" text-anchor="end" fill="${COLORS.dim}" font-size="10">${rate(v)}/s</text>`
    )
  }
  for (let m = 0; m <= 5; m++) {
    const i = n - 1 - (m * 60_000) / 5_000
    if (i < 0) break
    out.push(
      `<text x="${x(i)}" y="${height - 3}" text-anchor="${m === 0 ? "end" : "middle"}" fill="${COLORS.dim}" font-size="10">${m === 0 ? "now" : `-${m} min`}</text>`
    )
  }
  const below = series.points.map(() => 0)
  series.families.forEach((family, f) => {
    const above = series.points.map((p, i) => below[i]! + (p.rates[f] ?? 0))
    const upper = above.map((v, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join("")
    const lower = below
      .map((v, i) => `L${x(i).toFixed(1)},${y(v).toFixed(1)}`)
      .reverse()
      .join("")
    out.push(
      `<path class="area" data-family="${esc(family)}" d="${upper}${lower}Z" fill="${colorOf(family)}" fill-opacity="0.55" stroke="${colorOf(family)}" stroke-width="1"/>`
    )
    for (let i = 0; i < n; i++) below[i] = above[i]!
  })
  const errorLine = series.points.map(
    (p, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(p.errors).toFixed(1)}`
  )
  out.push(
    `<path class="error-line" d="${errorLine.join("")}" fill="none" stroke="${COLORS.error}" stroke-width="2"/>`,
    "</svg>"
  )
  return out.join("")
}

/**
 * The throughput chart's legend: each family with its entries in the window, and the errors.
 *
 * @since 0.3.0
 * @category rendering
 */
export const throughputLegend = (totals: Record<string, number>, errors: number): string =>
  Object.keys(totals)
    .sort()
    .map(
      (f) =>
        `<span class="key" data-family="${esc(f)}"><i style="background:${colorOf(f)}"></i>${esc(f)} <b>${totals[f]}</b></span>`
    )
    .concat(
      `<span class="key errors" data-family="*.error"><i style="background:${COLORS.error}"></i>errors <b>${errors}</b></span>`
    )
    .join("")

/**
 * The colour of a run's or a span's status.
 *
 * @since 0.3.0
 * @category rendering
 */
export const spanColor = (status: string): string =>
  status === "error" ? COLORS.error : status === "complete" ? COLORS.complete : COLORS.running

/**
 * A run's timeline: the run, its phases on one row, each agent on a row of its own, on the run's
 * time scale, each bar with its duration (a bar still open reaches the run's last event).
 *
 * @since 0.3.0
 * @category rendering
 */
export const timelineSvg = (run: Run, width: number): string => {
  const label = 92
  const row = 18
  const end = run.end ?? run.last
  const span = Math.max(end - run.start, 1)
  const plotW = width - label - 8
  const x = (t: number) => label + ((Math.min(Math.max(t, run.start), end) - run.start) / span) * plotW
  const agents: Array<string> = []
  for (const a of run.agents) if (!agents.includes(a.name)) agents.push(a.name)
  const height = (2 + agents.length) * row + 2
  const out: Array<string> = [
    `<svg class="chart timeline" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">`
  ]
  const bar = (cls: string, s: Span | Run, y: number, name: string, withText: boolean) => {
    const x1 = x(s.start)
    const stop = s.end ?? end
    const w = Math.max(x(stop) - x1, 2)
    const text = `${name} ${duration(stop - s.start)}`
    out.push(
      `<g class="${cls}" data-name="${esc(name)}" data-status="${s.status}" data-duration="${stop - s.start}">`,
      `<title>${esc(text)}${s.end === null ? " (running)" : ""}</title>`,
      `<rect x="${x1.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="${row - 5}" rx="2" fill="${spanColor(s.status)}" fill-opacity="${cls === "agent" ? 0.45 : 0.7}"/>`,
      withText && w > 40
        ? `<text x="${(x1 + 4).toFixed(1)}" y="${y + row - 6}" font-size="10" fill="#0f1115">${esc(w > text.length * 5.6 ? text : duration(stop - s.start))}</text>`
        : "",
      "</g>"
    )
  }
  const rowLabel = (text: string, y: number) =>
    out.push(
      `<text x="0" y="${y + row - 6}" font-size="10" fill="${COLORS.dim}">${esc(text.length > 14 ? `${text.slice(0, 13)}…` : text)}</text>`
    )
  rowLabel("run", 0)
  bar("run-span", run, 0, run.arena, true)
  rowLabel("phases", row)
  for (const p of run.phases) bar("phase", p, row, p.name, true)
  agents.forEach((name, i) => {
    rowLabel(name, (2 + i) * row)
    for (const a of run.agents)
      if (a.name === name) bar("agent", a, (2 + i) * row, `${name} · ${a.phase}`, false)
  })
  out.push("</svg>")
  return out.join("")
}

/**
 * The timelines of the runs, newest first, each under a line saying which run, its state, duration
 * and errors.
 *
 * @since 0.3.0
 * @category rendering
 */
export const runsHtml = (runs: ReadonlyArray<Run>, width: number, count: number): string =>
  runs
    .slice(-count)
    .reverse()
    .map(
      (run) =>
        `<div class="run" data-arena="${esc(run.arena)}" data-arena-id="${esc(run.arenaId)}" data-status="${run.status}">` +
        `<div class="run-head"><b>${esc(run.arena)}</b> <span class="aid">${esc(run.arenaId)}</span> ` +
        `<span class="st st-${run.status}">${run.status}</span> ${duration((run.end ?? run.last) - run.start)}` +
        `${run.errors > 0 ? ` · <span class="st st-error">${run.errors} error${run.errors === 1 ? "" : "s"}</span>` : ""}</div>` +
        `${timelineSvg(run, width)}</div>`
    )
    .join("")

/**
 * A table of LLM usage (per model or per arena): calls, errors, prompt and completion tokens,
 * cost, and a bar of the tokens (prompt, then completion) on the table's scale.
 *
 * @since 0.3.0
 * @category rendering
 */
export const usageTable = (title: string, table: Record<string, Usage>): string => {
  const keys = Object.keys(table).sort((a, b) => {
    const ta = table[a]!
    const tb = table[b]!
    return tb.promptTokens + tb.completionTokens - (ta.promptTokens + ta.completionTokens) || (a < b ? -1 : 1)
  })
  let max = 1
  for (const k of keys) max = Math.max(max, table[k]!.promptTokens + table[k]!.completionTokens)
  const barW = 64
  const rows = keys.map((k) => {
    const u = table[k]!
    const p = (u.promptTokens / max) * barW
    const c = (u.completionTokens / max) * barW
    return (
      `<tr data-key="${esc(k)}"><td class="name">${esc(k)}</td><td class="calls">${u.calls}</td>` +
      `<td class="errors">${u.errors}</td><td class="prompt">${u.promptTokens.toLocaleString("en-US")}</td>` +
      `<td class="completion">${u.completionTokens.toLocaleString("en-US")}</td><td class="cost" data-usd="${u.costUsd}">$${u.costUsd.toFixed(4)}</td>` +
      `<td><svg class="chart bar" viewBox="0 0 ${barW} 10" width="${barW}" height="10">` +
      `<rect class="prompt" x="0" y="1" width="${p.toFixed(1)}" height="8" fill="${COLORS.families.llm}"/>` +
      `<rect class="completion" x="${p.toFixed(1)}" y="1" width="${c.toFixed(1)}" height="8" fill="#f0abfc"/></svg></td></tr>`
    )
  })
  return (
    `<table class="usage"><thead><tr><th>${esc(title)}</th><th>calls</th><th>errors</th><th>prompt</th>` +
    `<th>completion</th><th>cost</th><th>tokens</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
  )
}

/**
 * A sparkline of a group's lag and pending count over its samples.
 *
 * @since 0.3.0
 * @category rendering
 */
export const sparkline = (
  samples: ReadonlyArray<readonly [number, number | null, number]>,
  width: number
): string => {
  const height = 24
  let max = 1
  for (const [, lag, pending] of samples) max = Math.max(max, lag ?? 0, pending)
  const n = samples.length
  const x = (i: number) => (n <= 1 ? width : (i * width) / (n - 1))
  const y = (v: number) => height - 2 - (v / niceMax(max, 1)) * (height - 4)
  const line = (pick: (s: readonly [number, number | null, number]) => number | null) => {
    let d = ""
    let pen = "M"
    samples.forEach((s, i) => {
      const v = pick(s)
      if (v === null) {
        pen = "M"
        return
      }
      d += `${pen}${x(i).toFixed(1)},${y(v).toFixed(1)}`
      pen = "L"
    })
    // A single sample is a short flat stroke, so that it shows.
    return n === 1 && d !== "" ? `${d}L${(width - 6).toFixed(1)},${d.split(",")[1]}` : d
  }
  return (
    `<svg class="chart spark" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">` +
    `<path class="lag" d="${line((s) => s[1])}" fill="none" stroke="${COLORS.lag}" stroke-width="1.5"/>` +
    `<path class="pending" d="${line((s) => s[2])}" fill="none" stroke="${COLORS.pending}" stroke-width="1.5"/></svg>`
  )
}

/**
 * The consumer groups' table: each group's lag (`?` when the server cannot tell), pending count,
 * members, and their history; the last read's failure when there was one.
 *
 * @since 0.3.0
 * @category rendering
 */
export const groupsHtml = (insights: Insights): string => {
  const names = Object.keys(insights.groups).sort()
  const rows = names.map((name) => {
    const g = insights.groups[name]!
    const last = g.samples[g.samples.length - 1]
    return (
      `<tr data-group="${esc(name)}"><td class="name">${esc(name)}</td>` +
      `<td class="lag">${last === undefined || last[1] === null ? "?" : last[1]}</td>` +
      `<td class="pending">${last === undefined ? "" : last[2]}</td><td class="consumers">${g.consumers}</td>` +
      `<td>${sparkline(g.samples, 160)}</td></tr>`
    )
  })
  return (
    (insights.groupsError === null ? "" : `<div class="groups-error">${esc(insights.groupsError)}</div>`) +
    (names.length === 0
      ? `<div class="none">no consumer group on this stream</div>`
      : `<table class="groups"><thead><tr><th>group</th><th><i style="background:${COLORS.lag}"></i>lag</th>` +
        `<th><i style="background:${COLORS.pending}"></i>pending</th><th>members</th><th>last minutes</th></tr></thead>` +
        `<tbody>${rows.join("")}</tbody></table>`)
  )
}
