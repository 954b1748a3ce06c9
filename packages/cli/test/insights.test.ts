/**
 * What the dashboard's charts compute (`dashboard/insights.ts`) and draw (`dashboard/charts.ts`),
 * case by case: throughput buckets by family and errors over the window, run timelines from their
 * lifecycle events, LLM usage per model and arena, the groups' history; text from the stream
 * escaped in the markup. And the page's copy: the script text `dashboard/inject.ts` makes runs on
 * its own (nothing it needs left out) and computes and draws exactly what the modules do.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Charts from "../src/dashboard/charts.js"
import * as Inject from "../src/dashboard/inject.js"
import * as Insights from "../src/dashboard/insights.js"

const t0 = 1_800_000_000_000 // a multiple of the 5 s bucket
const id = (ms: number, seq = 0) => `${ms}-${seq}`
const ts = (ms: number) => new Date(ms).toISOString().replace("Z", "000+00:00")

interface Sent {
  readonly kind: string
  readonly at: number
  readonly arena?: string
  readonly arenaId?: string
  readonly phase?: string
  readonly payload?: Record<string, unknown>
}

const line = (e: Sent, seq = 0): Insights.Line => ({
  stream_id: id(e.at, seq),
  variant: "event",
  kind: e.kind,
  arena: e.arena ?? "",
  arena_id: e.arenaId ?? "",
  phase: e.phase ?? "",
  ts: ts(e.at),
  payload: e.payload ?? {}
})

const fed = (events: ReadonlyArray<Sent>, now: number) => {
  const insights = Insights.emptyInsights()
  events.forEach((e, i) => {
    Insights.addLine(insights, line(e, i), now)
  })
  return insights
}

describe("dashboard insights", () => {
  it("the family of a kind is what comes before its first dot", () => {
    for (const [kind, family] of [
      ["llm.call", "llm"],
      ["agent.tool.call", "agent"],
      ["heartbeat", "heartbeat"],
      [".odd", ""]
    ] as const) {
      expect(Insights.familyOf(kind), kind).toBe(family)
    }
  })

  describe("throughput", () => {
    const cases: ReadonlyArray<{
      readonly name: string
      readonly events: ReadonlyArray<Sent>
      readonly now: number
      readonly totals: Record<string, number>
      readonly errors: number
      /** Rates (entries/s) of the last buckets, newest last: family → rates. */
      readonly last: Record<string, ReadonlyArray<number>>
    }> = [
      {
        name: "entries counted in the 5 s bucket of their id's time, as entries per second",
        events: [
          { kind: "llm.call", at: t0 + 100 },
          { kind: "llm.call", at: t0 + 4_900 },
          { kind: "agent.start", at: t0 + 5_000 },
          { kind: "llm.error", at: t0 + 6_000 }
        ],
        now: t0 + 7_000,
        totals: { llm: 3, agent: 1 },
        errors: 1,
        last: { agent: [0, 0.2], llm: [0.4, 0.2] }
      },
      {
        name: "entries older than the 5-minute window are left out; those inside it are kept",
        events: [
          { kind: "system.status", at: t0 - 400_000 },
          { kind: "system.status", at: t0 - 290_000 },
          { kind: "arena.error", at: t0 }
        ],
        now: t0 + 1_000,
        totals: { system: 1, arena: 1 },
        errors: 1,
        last: { arena: [0, 0.2], system: [0, 0] }
      },
      {
        name: "unknown kinds have families of their own; every *.error kind counts as an error",
        events: [
          { kind: "trade.fill", at: t0 },
          { kind: "trade.error", at: t0 + 1 },
          { kind: "errorless", at: t0 + 2 }
        ],
        now: t0 + 10_000,
        totals: { trade: 2, errorless: 1 },
        errors: 1,
        last: { errorless: [0.2, 0, 0], trade: [0.4, 0, 0] }
      }
    ]
    for (const c of cases) {
      it(c.name, () => {
        const series = Insights.throughput(fed(c.events, c.now), c.now)
        expect(series.totals).toEqual(c.totals)
        expect(series.errors).toBe(c.errors)
        expect(series.points).toHaveLength(60)
        expect(series.families).toEqual(Object.keys(c.totals).sort())
        for (const [family, rates] of Object.entries(c.last)) {
          const f = series.families.indexOf(family)
          expect(
            series.points.slice(-rates.length).map((p) => p.rates[f]),
            family
          ).toEqual(rates)
        }
      })
    }

    it("gaps and malformed entries are not events: left out", () => {
      const insights = Insights.emptyInsights()
      Insights.addLine(insights, { stream_id: id(t0), variant: "gap", after: "0-0" } as Insights.Line, t0)
      Insights.addLine(insights, { stream_id: id(t0), variant: "malformed", raw: "{" } as Insights.Line, t0)
      expect(insights).toEqual(Insights.emptyInsights())
    })
  })

  describe("arena runs", () => {
    const run = (arenaId: string, start: number, ending: "arena.complete" | "arena.error" | undefined) => {
      const at = { arena: "trading", arenaId }
      const events: Array<Sent> = [
        { kind: "arena.start", at: start, ...at },
        { kind: "phase.start", at: start + 10, phase: "gather", ...at },
        { kind: "agent.start", at: start + 20, phase: "gather", ...at, payload: { agent: "analyst" } },
        { kind: "llm.call", at: start + 50, phase: "gather", ...at, payload: { agent: "analyst" } },
        { kind: "agent.complete", at: start + 120, phase: "gather", ...at, payload: { agent: "analyst" } },
        { kind: "agent.start", at: start + 130, phase: "gather", ...at, payload: { agent: "risk" } },
        { kind: "agent.error", at: start + 180, phase: "gather", ...at, payload: { agent: "risk" } },
        { kind: "phase.complete", at: start + 200, phase: "gather", ...at },
        { kind: "phase.start", at: start + 210, phase: "decide", ...at },
        { kind: "phase.error", at: start + 260, phase: "decide", ...at }
      ]
      if (ending !== undefined) events.push({ kind: ending, at: start + 300, ...at })
      return events
    }

    it("a run's phases and agents, each from its start to its end, with its status", () => {
      const [r] = fed(run("r1", t0, "arena.error"), t0 + 1_000).runs
      expect(r).toMatchObject({
        arena: "trading",
        arenaId: "r1",
        start: t0,
        end: t0 + 300,
        status: "error",
        errors: 3
      })
      expect(r!.phases.map((p) => [p.name, p.end! - p.start, p.status])).toEqual([
        ["gather", 190, "complete"],
        ["decide", 50, "error"]
      ])
      expect(r!.agents.map((a) => [a.name, a.phase, a.end! - a.start, a.status])).toEqual([
        ["analyst", "gather", 100, "complete"],
        ["risk", "gather", 50, "error"]
      ])
    })

    it("a run still going reaches its last event; one joined midway starts at its first event seen", () => {
      const events = run("r2", t0, undefined).slice(3)
      const [r] = fed(events, t0 + 1_000).runs
      expect(r).toMatchObject({ start: t0 + 50, last: t0 + 260, end: null, status: "running" })
      expect(r!.phases.map((p) => p.name)).toEqual(["decide"])
    })

    it("runs are told apart by arena_id; the oldest beyond the limit are dropped", () => {
      const events = Array.from({ length: Insights.LIMITS.runs + 2 }, (_, i) =>
        run(`r${i}`, t0 + i * 1_000, "arena.complete")
      ).flat()
      const runs = fed(events, t0 + 20_000).runs
      expect(runs.map((r) => r.arenaId)).toEqual(
        Array.from({ length: Insights.LIMITS.runs }, (_, i) => `r${i + 2}`)
      )
      expect(runs.every((r) => r.status === "complete" && r.phases.length === 2)).toBe(true)
    })

    it("events without an arena are no run's", () => {
      expect(fed([{ kind: "system.status", at: t0 }], t0).runs).toEqual([])
    })
  })

  describe("LLM usage", () => {
    it("calls, tokens and cost per model and per arena; errors counted apart; fields missing count as none", () => {
      const insights = fed(
        [
          {
            kind: "llm.call",
            at: t0,
            arena: "a",
            payload: { model: "m1", prompt_tokens: 100, completion_tokens: 20, cost_usd: 0.00025 }
          },
          {
            kind: "llm.call",
            at: t0 + 1,
            arena: "b",
            payload: { model: "m1", prompt_tokens: 50, completion_tokens: 5, cost_usd: 0.00005 }
          },
          { kind: "llm.call", at: t0 + 2, arena: "a", payload: { model: "m2", prompt_tokens: "many" } },
          { kind: "llm.error", at: t0 + 3, arena: "a", payload: { model: "m2", error: "429" } },
          { kind: "llm.call", at: t0 + 4, payload: {} }
        ],
        t0
      )
      expect(insights.models).toEqual({
        m1: { calls: 2, errors: 0, promptTokens: 150, completionTokens: 25, costUsd: 0.0003 },
        m2: { calls: 1, errors: 1, promptTokens: 0, completionTokens: 0, costUsd: 0 },
        "(no model)": { calls: 1, errors: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }
      })
      expect(insights.arenas).toEqual({
        a: { calls: 2, errors: 1, promptTokens: 100, completionTokens: 20, costUsd: 0.00025 },
        b: { calls: 1, errors: 0, promptTokens: 50, completionTokens: 5, costUsd: 0.00005 },
        "(no arena)": { calls: 1, errors: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }
      })
    })

    it("past the limit of keys, new models are counted under (other)", () => {
      const events = Array.from({ length: Insights.LIMITS.usageKeys + 3 }, (_, i) => ({
        kind: "llm.call",
        at: t0 + i,
        arena: "a",
        payload: { model: `m${i}` }
      }))
      const models = fed(events, t0).models
      expect(Object.keys(models)).toHaveLength(Insights.LIMITS.usageKeys + 1)
      expect(models["(other)"]!.calls).toBe(3)
    })
  })

  describe("consumer groups", () => {
    it("each snapshot adds a sample a group; a group gone is dropped; a failed read keeps what was seen", () => {
      const insights = Insights.emptyInsights()
      Insights.addGroups(insights, {
        at: 1,
        groups: [
          { name: "g1", pending: 2, lag: 10, consumers: 3 },
          { name: "g2", pending: 0, lag: null, consumers: 1 }
        ]
      })
      Insights.addGroups(insights, { at: 2, groups: [{ name: "g1", pending: 1, lag: 4, consumers: 3 }] })
      expect(insights.groups).toEqual({
        g1: {
          samples: [
            [1, 10, 2],
            [2, 4, 1]
          ],
          consumers: 3
        }
      })
      Insights.addGroups(insights, { at: 3, groups: [], error: "XINFO GROUPS timed out" })
      expect(insights.groupsError).toBe("XINFO GROUPS timed out")
      expect(Object.keys(insights.groups)).toEqual(["g1"])
      for (let i = 0; i < Insights.LIMITS.groupSamples + 5; i++) {
        Insights.addGroups(insights, {
          at: 10 + i,
          groups: [{ name: "g1", pending: 0, lag: i, consumers: 1 }]
        })
      }
      expect(insights.groupsError).toBeNull()
      expect(insights.groups.g1!.samples).toHaveLength(Insights.LIMITS.groupSamples)
      expect(insights.groups.g1!.samples.at(-1)).toEqual([10 + Insights.LIMITS.groupSamples + 4, 154, 0])
    })
  })
})

describe("names from the stream that objects have too", () => {
  it("__proto__, constructor, toString as families, models, arenas and groups are counted like any other", () => {
    const names = ["__proto__", "constructor", "toString"]
    const insights = fed(
      names.flatMap((name, i) => [
        { kind: `${name}.error`, at: t0 + i },
        { kind: "llm.call", at: t0 + i, arena: name, payload: { model: name, prompt_tokens: 10 } }
      ]),
      t0 + 10
    )
    Insights.addGroups(insights, {
      at: 1,
      groups: names.map((name) => ({ name, pending: 1, lag: 2, consumers: 1 }))
    })
    const series = Insights.throughput(insights, t0 + 10)
    expect(series.totals).toEqual(Object.fromEntries([...names.map((n) => [n, 1]), ["llm", 3]]))
    for (const table of [insights.models, insights.arenas]) {
      expect(Object.keys(table).sort()).toEqual([...names].sort())
      for (const name of names) expect(Insights.own(table, name)?.promptTokens).toBe(10)
      expect(Object.getPrototypeOf(table)).toBe(Object.prototype)
    }
    expect(Object.keys(insights.groups).sort()).toEqual([...names].sort())
    // Nothing leaked into every object, and the state survives the tab's storage.
    expect(({} as Record<string, unknown>).calls).toBeUndefined()
    expect(({} as Record<string, unknown>).samples).toBeUndefined()
    expect(JSON.parse(JSON.stringify(insights))).toEqual(insights)
    expect(Charts.throughputLegend(series.totals, series.errors)).not.toContain("function")
  })
})

describe("dashboard charts", () => {
  it("numbers for people: axis bounds, durations, rates", () => {
    expect([0, 0.3, 1, 1.2, 3, 7, 12, 99, 101].map((v) => Charts.niceMax(v, 1))).toEqual([
      1, 1, 1, 2, 5, 10, 20, 100, 200
    ])
    expect([850, 4_200, 65_000].map(Charts.duration)).toEqual(["850 ms", "4.2 s", "1 min 05 s"])
    expect([0.25, 3.456, 12.4].map(Charts.rate)).toEqual(["0.25", "3.46", "12"])
  })

  it("text from the stream is escaped wherever it is put in markup", () => {
    const hostile = `<script>alert("x")</script>&'`
    const insights = fed(
      [
        { kind: "arena.start", at: t0, arena: hostile, arenaId: hostile },
        { kind: "agent.start", at: t0 + 1, arena: hostile, arenaId: hostile, payload: { agent: hostile } },
        { kind: "llm.call", at: t0 + 2, arena: hostile, payload: { model: hostile, prompt_tokens: 1 } },
        { kind: `${hostile}.error`, at: t0 + 3 }
      ],
      t0 + 10
    )
    Insights.addGroups(insights, {
      at: 1,
      groups: [{ name: hostile, pending: 1, lag: 1, consumers: 1 }],
      error: hostile
    })
    const series = Insights.throughput(insights, t0 + 10)
    const markup = [
      Charts.throughputSvg(series, 800, 150),
      Charts.throughputLegend(series.totals, series.errors),
      Charts.runsHtml(insights.runs, 800, 8),
      Charts.usageTable("model", insights.models),
      Charts.usageTable(hostile, insights.arenas),
      Charts.groupsHtml(insights)
    ].join("")
    expect(markup).not.toContain("<script")
    expect(markup).not.toMatch(/"x"|&'/)
    expect(markup).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;")
  })

  it("the throughput chart: an area a family, stacked, and the error line, on a round scale", () => {
    const series = Insights.throughput(
      fed(
        [
          { kind: "llm.call", at: t0 },
          { kind: "llm.error", at: t0 + 1 },
          { kind: "agent.start", at: t0 + 2 }
        ],
        t0 + 1_000
      ),
      t0 + 1_000
    )
    const svg = Charts.throughputSvg(series, 800, 150)
    expect(svg.match(/class="area"/g)).toHaveLength(2)
    expect(svg).toContain('data-family="agent"')
    expect(svg.match(/class="error-line"/g)).toHaveLength(1)
    // 0.6 entries/s at most: the scale goes to 1/s.
    expect(svg).toContain(">1/s<")
  })
})

describe("the page's copy of the charts' code", () => {
  it("runs on its own and computes and draws what the modules do", () => {
    const text = Inject.source("Charts", Insights, Charts)
    const page = new Function(`"use strict";\n${text}\nreturn Charts;`)() as typeof Insights & typeof Charts
    expect(Object.keys(page).sort()).toEqual([...Object.keys(Insights), ...Object.keys(Charts)].sort())
    const events: Array<Sent> = [
      { kind: "arena.start", at: t0, arena: "a", arenaId: "r" },
      { kind: "phase.start", at: t0 + 5, arena: "a", arenaId: "r", phase: "p" },
      { kind: "agent.start", at: t0 + 6, arena: "a", arenaId: "r", phase: "p", payload: { agent: "x" } },
      { kind: "llm.call", at: t0 + 7, arena: "a", payload: { model: "m", prompt_tokens: 5, cost_usd: 0.1 } },
      { kind: "agent.error", at: t0 + 8, arena: "a", arenaId: "r", phase: "p", payload: { agent: "x" } },
      { kind: "phase.complete", at: t0 + 9, arena: "a", arenaId: "r", phase: "p" }
    ]
    const theirs = page.emptyInsights()
    events.forEach((e, i) => {
      page.addLine(theirs, line(e, i), t0 + 10)
    })
    page.addGroups(theirs, { at: 1, groups: [{ name: "g", pending: 1, lag: 2, consumers: 1 }] })
    const ours = fed(events, t0 + 10)
    Insights.addGroups(ours, { at: 1, groups: [{ name: "g", pending: 1, lag: 2, consumers: 1 }] })
    expect(theirs).toEqual(ours)
    const draw = (m: typeof page, i: Insights.Insights) => {
      const series = m.throughput(i, t0 + 10)
      return [
        m.throughputSvg(series, 600, 120),
        m.throughputLegend(series.totals, series.errors),
        m.runsHtml(i.runs, 600, 8),
        m.usageTable("model", i.models),
        m.groupsHtml(i)
      ]
    }
    expect(draw(page, theirs)).toEqual(draw({ ...Insights, ...Charts }, ours))
  })

  it("refuses a module whose text would close the page's script element", () => {
    expect(() => Inject.source("X", { closing: "</script>" })).toThrow(/<\/script/)
  })
})
