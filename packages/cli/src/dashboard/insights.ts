/**
 * What the dashboard's charts show, computed from the feed's JSON lines: pure functions over a
 * plain, JSON-serialisable state (the page keeps it in the tab's storage with its rows, so a reload
 * resumes the charts as it resumes the table).
 *
 * - Throughput: entries per 5-second bucket of their stream id's time, by kind family (the kind
 *   before its first dot), and the `*.error` kinds among them; 5 minutes kept.
 * - Arena runs (an arena and its `arena_id`): the run from `arena.start` to `arena.complete` /
 *   `arena.error`, its phases (`phase.start` to `phase.complete` / `phase.error`) and its agents
 *   (`agent.start` to `agent.complete` / `agent.error`), on the events' own `ts`; the last 8 runs.
 * - LLM usage from `llm.call` payloads (`prompt_tokens`, `completion_tokens`, `cost_usd` where
 *   present; `llm.error` counted as an error), per model and per arena.
 * - Consumer groups: the `event: groups` snapshots, a history of each group's lag and pending.
 *
 * The page runs these very functions: each is put in its script by its source
 * (`dashboard/inject.ts`), so they must stay self-contained (no imports, only each other, by name).
 *
 * @since 0.3.0
 */

/**
 * Bounds of what is kept: buckets, their width, runs, keys of the usage tables, group samples.
 *
 * @since 0.3.0
 * @category constants
 */
export const LIMITS = {
  bucketMillis: 5_000,
  windowMillis: 300_000,
  runs: 8,
  spansPerRun: 200,
  usageKeys: 40,
  groupSamples: 150,
  groups: 20
}

/**
 * A 5-second bucket: entries by family, and errors.
 *
 * @since 0.3.0
 * @category models
 */
export interface Bucket {
  readonly t: number
  readonly families: Record<string, number>
  errors: number
}

/**
 * A phase or an agent's turn in a run.
 *
 * @since 0.3.0
 * @category models
 */
export interface Span {
  readonly name: string
  readonly phase: string
  readonly start: number
  end: number | null
  status: "running" | "complete" | "error"
}

/**
 * An arena run.
 *
 * @since 0.3.0
 * @category models
 */
export interface Run {
  readonly key: string
  readonly arena: string
  readonly arenaId: string
  start: number
  last: number
  end: number | null
  status: "running" | "complete" | "error"
  errors: number
  readonly phases: Array<Span>
  readonly agents: Array<Span>
}

/**
 * LLM usage of a model or an arena.
 *
 * @since 0.3.0
 * @category models
 */
export interface Usage {
  calls: number
  errors: number
  promptTokens: number
  completionTokens: number
  costUsd: number
}

/**
 * A consumer group's history: `[at, lag (null: unknown), pending]` samples, and its last members count.
 *
 * @since 0.3.0
 * @category models
 */
export interface GroupHistory {
  readonly samples: Array<[number, number | null, number]>
  consumers: number
}

/**
 * Everything the charts show.
 *
 * @since 0.3.0
 * @category models
 */
export interface Insights {
  readonly buckets: Array<Bucket>
  readonly runs: Array<Run>
  readonly models: Record<string, Usage>
  readonly arenas: Record<string, Usage>
  readonly groups: Record<string, GroupHistory>
  groupsError: string | null
}

/**
 * A feed line, as much of it as the charts read.
 *
 * @since 0.3.0
 * @category models
 */
export interface Line {
  readonly stream_id?: unknown
  readonly variant?: unknown
  readonly kind?: unknown
  readonly arena?: unknown
  readonly arena_id?: unknown
  readonly phase?: unknown
  readonly ts?: unknown
  readonly payload?: unknown
}

/**
 * A record's own value of a key, never one it inherits: kinds, models, arenas and groups come from
 * the stream, and may be named `__proto__` or `constructor`.
 *
 * @since 0.3.0
 * @category getters
 */
export const own = <A>(record: Readonly<Record<string, A>>, key: string): A | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined

/**
 * Sets a record's own value of a key, whatever the key (`__proto__` too: an own property, not the
 * record's prototype).
 *
 * @since 0.3.0
 * @category updates
 */
export const put = <A>(record: Record<string, A>, key: string, value: A): void => {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true })
}

/**
 * An empty state.
 *
 * @since 0.3.0
 * @category constructors
 */
export const emptyInsights = (): Insights => ({
  buckets: [],
  runs: [],
  models: {},
  arenas: {},
  groups: {},
  groupsError: null
})

/**
 * The family of a kind: what comes before its first dot.
 *
 * @since 0.3.0
 * @category getters
 */
export const familyOf = (kind: string): string => {
  const dot = kind.indexOf(".")
  return dot < 0 ? kind : kind.slice(0, dot)
}

/**
 * The time of a stream id (`<ms>-<seq>`), or `NaN`.
 *
 * @since 0.3.0
 * @category getters
 */
export const idMillis = (id: unknown): number => {
  const match = /^(\d+)-\d+$/.exec(String(id))
  return match === null ? Number.NaN : Number(match[1])
}

/**
 * A number from a payload field, or `undefined` when it is not a finite number.
 *
 * @since 0.3.0
 * @category getters
 */
export const numberField = (payload: unknown, key: string): number | undefined => {
  if (typeof payload !== "object" || payload === null) return undefined
  const value = (payload as Record<string, unknown>)[key]
  return typeof value === "number" && Number.isFinite(value) ? value : undefined
}

/**
 * A string from a payload field (numbers written as they are), or `""`.
 *
 * @since 0.3.0
 * @category getters
 */
export const stringField = (payload: unknown, key: string): string => {
  if (typeof payload !== "object" || payload === null) return ""
  const value = (payload as Record<string, unknown>)[key]
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : ""
}

/**
 * Adds an entry to its 5-second bucket, dropping the buckets older than the window before `now`.
 *
 * @since 0.3.0
 * @category updates
 */
export const countEntry = (insights: Insights, at: number, kind: string, now: number): void => {
  if (!Number.isFinite(at) || at < now - LIMITS.windowMillis) return
  const t = at - (at % LIMITS.bucketMillis)
  let bucket = insights.buckets.find((b) => b.t === t)
  if (bucket === undefined) {
    bucket = { t, families: {}, errors: 0 }
    insights.buckets.push(bucket)
    insights.buckets.sort((a, b) => a.t - b.t)
  }
  const family = familyOf(kind)
  put(bucket.families, family, (own(bucket.families, family) ?? 0) + 1)
  if (/\.error$/.test(kind)) bucket.errors++
  while (
    insights.buckets.length > 0 &&
    insights.buckets[0]!.t < now - LIMITS.windowMillis - LIMITS.bucketMillis
  ) {
    insights.buckets.shift()
  }
}

/**
 * The usage record of a key (a model, an arena), made when new; past `LIMITS.usageKeys` keys, new
 * ones are counted under `(other)`.
 *
 * @since 0.3.0
 * @category updates
 */
export const usageOf = (table: Record<string, Usage>, key: string): Usage => {
  const name = own(table, key) !== undefined || Object.keys(table).length < LIMITS.usageKeys ? key : "(other)"
  let usage = own(table, name)
  if (usage === undefined) {
    usage = { calls: 0, errors: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }
    put(table, name, usage)
  }
  return usage
}

/**
 * Counts an `llm.call` (tokens and cost where the payload has them) or an `llm.error`, for its
 * model and its arena.
 *
 * @since 0.3.0
 * @category updates
 */
export const countLlm = (insights: Insights, kind: string, arena: string, payload: unknown): void => {
  const model = stringField(payload, "model") || "(no model)"
  for (const usage of [usageOf(insights.models, model), usageOf(insights.arenas, arena || "(no arena)")]) {
    if (kind === "llm.error") {
      usage.errors++
      continue
    }
    usage.calls++
    usage.promptTokens += numberField(payload, "prompt_tokens") ?? 0
    usage.completionTokens += numberField(payload, "completion_tokens") ?? 0
    usage.costUsd = Math.round((usage.costUsd + (numberField(payload, "cost_usd") ?? 0)) * 1e9) / 1e9
  }
}

/**
 * The run an entry belongs to: the open run of its arena and `arena_id`, a new one at an
 * `arena.start` (or when there is none); the oldest runs past `LIMITS.runs` are dropped.
 *
 * @since 0.3.0
 * @category updates
 */
export const runOf = (insights: Insights, arena: string, arenaId: string, kind: string, t: number): Run => {
  const key = `${arena}\u0000${arenaId}`
  let run: Run | undefined
  for (let i = insights.runs.length - 1; i >= 0; i--) {
    if (insights.runs[i]!.key === key) {
      run = insights.runs[i]
      break
    }
  }
  if (run === undefined || (kind === "arena.start" && run.start !== t)) {
    run = {
      key,
      arena,
      arenaId,
      start: t,
      last: t,
      end: null,
      status: "running",
      errors: 0,
      phases: [],
      agents: []
    }
    insights.runs.push(run)
    while (insights.runs.length > LIMITS.runs) insights.runs.shift()
  }
  return run
}

/**
 * Closes the last open span of a name (a phase, an agent) with an end and a status.
 *
 * @since 0.3.0
 * @category updates
 */
export const closeSpan = (
  spans: Array<Span>,
  name: string,
  t: number,
  status: "complete" | "error"
): void => {
  for (let i = spans.length - 1; i >= 0; i--) {
    const span = spans[i]!
    if (span.name === name && span.end === null) {
      span.end = t
      span.status = status
      return
    }
  }
}

/**
 * Puts an entry of an arena on its run's timeline.
 *
 * @since 0.3.0
 * @category updates
 */
export const trackRun = (insights: Insights, line: Line, kind: string, t: number): void => {
  const arena = typeof line.arena === "string" ? line.arena : ""
  if (arena === "") return
  const arenaId = typeof line.arena_id === "string" ? line.arena_id : ""
  const run = runOf(insights, arena, arenaId, kind, t)
  run.last = Math.max(run.last, t)
  if (t < run.start) run.start = t
  const phase = (typeof line.phase === "string" && line.phase) || stringField(line.payload, "phase")
  const agent = stringField(line.payload, "agent")
  if (/\.error$/.test(kind)) run.errors++
  if (kind === "arena.complete" || kind === "arena.error") {
    run.end = t
    run.status = kind === "arena.error" ? "error" : "complete"
  } else if (kind === "phase.start" && phase !== "" && run.phases.length < LIMITS.spansPerRun) {
    run.phases.push({ name: phase, phase, start: t, end: null, status: "running" })
  } else if (kind === "phase.complete" || kind === "phase.error") {
    closeSpan(run.phases, phase, t, kind === "phase.error" ? "error" : "complete")
  } else if (kind === "agent.start" && agent !== "" && run.agents.length < LIMITS.spansPerRun) {
    run.agents.push({ name: agent, phase, start: t, end: null, status: "running" })
  } else if (kind === "agent.complete" || kind === "agent.error") {
    closeSpan(run.agents, agent, t, kind === "agent.error" ? "error" : "complete")
  }
}

/**
 * Adds a feed line to the charts (gaps and malformed entries are not events: left out).
 *
 * @since 0.3.0
 * @category updates
 */
export const addLine = (insights: Insights, line: Line, now: number): void => {
  if (line.variant !== "event" && line.variant !== "unknown") return
  const kind = String(line.kind)
  const arrived = idMillis(line.stream_id)
  countEntry(insights, arrived, kind, now)
  const ts = typeof line.ts === "string" ? Date.parse(line.ts) : Number.NaN
  const t = Number.isFinite(ts) ? ts : arrived
  if (Number.isFinite(t)) trackRun(insights, line, kind, t)
  if (kind === "llm.call" || kind === "llm.error") {
    countLlm(insights, kind, typeof line.arena === "string" ? line.arena : "", line.payload)
  }
}

/**
 * Adds a groups snapshot (`{ at, groups: [{ name, lag, pending, consumers }], error? }`) to each
 * group's history; a group no longer there is dropped.
 *
 * @since 0.3.0
 * @category updates
 */
export const addGroups = (insights: Insights, snapshot: unknown): void => {
  if (typeof snapshot !== "object" || snapshot === null) return
  const s = snapshot as { at?: unknown; groups?: unknown; error?: unknown }
  const at = typeof s.at === "number" ? s.at : Number.NaN
  insights.groupsError = typeof s.error === "string" ? s.error : null
  if (!Array.isArray(s.groups) || !Number.isFinite(at)) return
  const seen = new Set<string>()
  for (const g of s.groups.slice(0, LIMITS.groups)) {
    const name = stringField(g, "name")
    if (name === "") continue
    seen.add(name)
    const history = own(insights.groups, name) ?? { samples: [], consumers: 0 }
    put(insights.groups, name, history)
    history.consumers = numberField(g, "consumers") ?? 0
    const lag = numberField(g, "lag")
    history.samples.push([at, lag === undefined ? null : lag, numberField(g, "pending") ?? 0])
    while (history.samples.length > LIMITS.groupSamples) history.samples.shift()
  }
  if (insights.groupsError === null) {
    for (const name of Object.keys(insights.groups)) if (!seen.has(name)) delete insights.groups[name]
  }
}

/**
 * The throughput series of the window ending at `now`: one point a bucket (oldest first), each
 * family's rate and the error rate, in entries per second, and the entries per family in the window.
 *
 * @since 0.3.0
 * @category getters
 */
export const throughput = (
  insights: Insights,
  now: number
): {
  readonly start: number
  readonly families: ReadonlyArray<string>
  readonly points: ReadonlyArray<{
    readonly t: number
    readonly rates: ReadonlyArray<number>
    readonly errors: number
  }>
  readonly totals: Record<string, number>
  readonly errors: number
} => {
  const width = LIMITS.bucketMillis
  const last = now - (now % width)
  const count = LIMITS.windowMillis / width
  const start = last - (count - 1) * width
  const totals: Record<string, number> = {}
  let errors = 0
  for (const b of insights.buckets) {
    if (b.t < start || b.t > last) continue
    errors += b.errors
    for (const f of Object.keys(b.families)) put(totals, f, (own(totals, f) ?? 0) + (own(b.families, f) ?? 0))
  }
  const families = Object.keys(totals).sort()
  const points = []
  for (let i = 0; i < count; i++) {
    const t = start + i * width
    const b = insights.buckets.find((x) => x.t === t)
    points.push({
      t,
      rates: families.map((f) => (((b === undefined ? undefined : own(b.families, f)) ?? 0) * 1000) / width),
      errors: ((b?.errors ?? 0) * 1000) / width
    })
  }
  return { start, families, points, totals, errors }
}
