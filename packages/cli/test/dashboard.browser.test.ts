/**
 * The dashboard in a real browser: headless Chromium (Debian's `chromium`, driven by
 * `playwright-core`) opens the page, sees events arrive, filters, reloads and resumes without
 * duplicates. Over the demo's own services (`DemoCommand.services`: its bus, dashboard and consumer
 * groups), five minutes of the demo played thirty times faster, the charts are drawn with what was
 * sent: every family's count and the errors under the throughput chart, its areas and error line
 * with a size, LLM calls, tokens and cost per model and per arena, each run's phases with their
 * durations and its agents, each group's lag and pending count as the server has them. That test
 * leaves a screenshot in the temporary directory (`maf-dashboard.png`), or where
 * `MAF_EVENTS_SCREENSHOT` says (`MAF_EVENTS_SCREENSHOT=docs/dashboard.png` makes the README's, from
 * the repository's root). Skipped, saying why, where `/usr/bin/chromium` is missing.
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as HttpServer from "@effect/platform/HttpServer"
import { describe, expect, it, layer } from "@effect/vitest"
import { EventBus, type EventConsumer, GroupBackend, MemoryStreamBackend, StreamBackend } from "@maf/events"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import { chromium, type Page } from "playwright-core"
import * as Dashboard from "../src/Dashboard.js"
import * as DemoCommand from "../src/DemoCommand.js"
import * as DemoWorkers from "../src/DemoWorkers.js"
import * as Simulation from "../src/Simulation.js"

const executablePath = "/usr/bin/chromium"
const available = existsSync(executablePath)
if (!available) {
  console.log(`dashboard browser test skipped: ${executablePath} is missing (apt-get install chromium)`)
}
// A test run leaves the repository's files alone: the README's picture is made on purpose only.
const screenshot = Path.resolve(
  process.env.MAF_EVENTS_SCREENSHOT ?? Path.join(Os.tmpdir(), "maf-dashboard.png")
)
const stream = "maf:events"

const browser = Effect.acquireRelease(
  Effect.promise(async () => {
    const userDataDir = mkdtempSync(Path.join(Os.tmpdir(), "maf-chromium-"))
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      viewport: { width: 1440, height: 900 },
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync"
      ]
    })
    return { context, userDataDir }
  }),
  ({ context, userDataDir }) =>
    Effect.promise(async () => {
      await context.close()
      rmSync(userDataDir, { recursive: true, force: true })
    })
)

const server = Dashboard.layer({ stream, source: "in-memory", port: 0 }).pipe(
  Layer.provideMerge(EventBus.layerMemory({ stream }))
)

const token = "browser-token-51c8e0f2"
const guarded = Dashboard.layer({ stream, source: "in-memory", port: 0, token: Redacted.make(token) }).pipe(
  Layer.provideMerge(EventBus.layerMemory({ stream }))
)

/** The table's rows as the page shows them. */
const rows = (page: Page) =>
  page.$$eval("#rows tr", (trs) =>
    trs.map((tr) => ({
      id: (tr as HTMLElement).dataset.id ?? "",
      variant: (tr as HTMLElement).dataset.variant ?? "",
      kind: (tr as HTMLElement).dataset.kind ?? "",
      hidden: (tr as HTMLElement).hidden
    }))
  )

const untilRows = (page: Page, n: number) =>
  Effect.promise(() =>
    page.waitForFunction((n) => document.querySelectorAll("#rows tr").length >= n, n, { timeout: 20_000 })
  )

const untilLive = (page: Page) =>
  Effect.promise(() =>
    page.waitForFunction(() => document.getElementById("status")?.className === "live", undefined, {
      timeout: 20_000
    })
  )

const noDuplicates = (list: ReadonlyArray<{ id: string; variant: string }>) => {
  const ids = list.filter((r) => r.variant !== "gap").map((r) => r.id)
  expect(new Set(ids).size).toBe(ids.length)
}

describe.skipIf(!available)("the dashboard in headless Chromium", () => {
  layer(server, { excludeTestServices: true })("over the in-memory backend", (it) => {
    it.scoped(
      "shows events as they arrive, filters, resumes after a reload without duplicates",
      () =>
        Effect.gen(function* () {
          const bus = yield* EventBus.EventBus
          const memory = yield* MemoryStreamBackend.MemoryStreamBackend
          const url = Dashboard.urlOf((yield* HttpServer.HttpServer).address)
          // Entries trimmed before anyone read them: a page reading from 0 shows a gap first.
          for (let i = 0; i < 3; i++) yield* bus.publish({ kind: "system.status", payload: { i } })
          yield* memory.trim(stream, 0)
          yield* bus.publish({ kind: "system.status", payload: { workers: 4, state: "ready" } })

          const { context } = yield* browser
          const page = context.pages()[0] ?? (yield* Effect.promise(() => context.newPage()))
          const errors: Array<string> = []
          page.on("pageerror", (error) => errors.push(error.message))
          yield* Effect.promise(() => page.goto(`${url}?from=0`))
          yield* untilLive(page)

          // A simulated arena run, an entry that is not JSON: rows arrive.
          yield* Simulation.run({ runs: 1, interval: 0 }).pipe(Effect.withRandom(Random.make(7)))
          yield* memory.appendFields(stream, [["data", "{this is not json"]])
          const entries = (yield* memory.entries(stream)).length
          yield* untilRows(page, entries + 1)
          const shown = yield* Effect.promise(() => rows(page))
          expect(shown).toHaveLength(entries + 1)
          expect(shown.filter((r) => r.variant === "gap")).toHaveLength(1)
          expect(shown.filter((r) => r.variant === "malformed")).toHaveLength(1)
          expect(shown.filter((r) => r.variant === "unknown").length).toBeGreaterThan(0)
          expect(shown[0]!.variant).toBe("malformed")
          noDuplicates(shown)
          const llmCalls = shown.filter((r) => r.kind === "llm.call").length
          expect(yield* Effect.promise(() => page.textContent('#counts .chip[data-kind="llm.call"] b'))).toBe(
            String(llmCalls)
          )

          // A kind filter hides the other rows (gaps and malformed entries stay); clearing it shows them.
          yield* Effect.promise(() => page.fill("#kind-filter", "llm.*"))
          const filtered = yield* Effect.promise(() => rows(page))
          const visible = filtered.filter((r) => !r.hidden)
          expect(visible.length).toBeGreaterThan(0)
          expect(visible.length).toBeLessThan(filtered.length)
          for (const r of visible) {
            expect(r.kind.startsWith("llm.") || r.variant === "gap" || r.variant === "malformed").toBe(true)
          }
          for (const r of filtered.filter((r) => r.hidden)) expect(r.kind.startsWith("llm.")).toBe(false)
          yield* Effect.promise(() => page.click("#clear"))
          expect((yield* Effect.promise(() => rows(page))).every((r) => !r.hidden)).toBe(true)

          // A reload keeps the rows and resumes after the last id: nothing twice, nothing missed.
          yield* Effect.promise(() => page.reload())
          yield* untilLive(page)
          const restored = yield* Effect.promise(() => rows(page))
          expect(restored.map((r) => r.id)).toEqual(shown.map((r) => r.id))
          const written = [
            yield* bus.publish({
              kind: "decision.emit",
              arena: "trading",
              phase: "decide",
              payload: { decision: "hold" }
            }),
            yield* bus.publish({
              kind: "llm.error",
              arena: "research",
              phase: "analyze",
              payload: { error: "rate limited (429)" }
            })
          ]
          yield* untilRows(page, entries + 3)
          const resumed = yield* Effect.promise(() => rows(page))
          expect(resumed).toHaveLength(entries + 3)
          noDuplicates(resumed)
          expect(resumed.slice(0, 2).map((r) => r.id)).toEqual(
            written.reverse().map((w) => (w._tag === "Written" ? w.id : "not written"))
          )

          expect(errors).toEqual([])
        }),
      60_000
    )
  })

  layer(guarded, { excludeTestServices: true })("with an access token", (it) => {
    it.scoped(
      "the page opened with ?token= keeps it for its feed; its kind filter does not stall on hostile kinds",
      () =>
        Effect.gen(function* () {
          const memory = yield* MemoryStreamBackend.MemoryStreamBackend
          const url = Dashboard.urlOf((yield* HttpServer.HttpServer).address)
          const hostile = (kind: string, i: number) =>
            memory.appendFields(stream, [
              ["data", JSON.stringify({ kind, ts: "2026-05-14T11:22:33Z", payload: { i } })]
            ])
          for (let i = 0; i < 20; i++) yield* hostile("a".repeat(200), i)
          yield* hostile(`${"a".repeat(199)}b`, 20)

          const { context } = yield* browser
          const page = context.pages()[0] ?? (yield* Effect.promise(() => context.newPage()))
          const errors: Array<string> = []
          page.on("pageerror", (error) => errors.push(error.message))
          const denied = yield* Effect.promise(() => page.goto(`${url}?from=0`))
          expect(denied?.status()).toBe(401)
          yield* Effect.promise(() => page.goto(`${url}?from=0&token=${token}`))
          yield* untilLive(page)
          yield* untilRows(page, 21)

          // Typed into the page's own filter: the backtracking glob answers at once.
          const started = Date.now()
          yield* Effect.promise(() => page.fill("#kind-filter", "*a*a*a*a*a*a*a*b"))
          const filtered = yield* Effect.promise(() => rows(page))
          expect(Date.now() - started).toBeLessThan(5000)
          expect(filtered.filter((r) => !r.hidden).map((r) => r.kind.length)).toEqual([200])
          expect(filtered.filter((r) => r.hidden)).toHaveLength(20)
          // The token stays out of the tab's storage.
          const stored = yield* Effect.promise(() => page.evaluate(() => JSON.stringify(sessionStorage)))
          expect(stored).not.toContain(token)
          expect(errors).toEqual([])
        }),
      60_000
    )
  })
})

/**
 * A clock reading `from` until it is started, then running `speed` times faster than the real one:
 * the demo's minutes in seconds.
 */
const warpedClock = (from: number, speed: number): Clock.Clock & { readonly start: () => void } => {
  let started: number | undefined
  const now = () => (started === undefined ? from : from + (Date.now() - started) * speed)
  const nanos = () => BigInt(Math.round(now() * 1_000_000))
  return {
    start: () => {
      started = Date.now()
    },
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    currentTimeMillis: Effect.sync(now),
    unsafeCurrentTimeNanos: nanos,
    currentTimeNanos: Effect.sync(nanos),
    sleep: (duration) =>
      Effect.async<void>((resume) => {
        const timer = setTimeout(() => resume(Effect.void), Duration.toMillis(duration) / speed)
        return Effect.sync(() => clearTimeout(timer))
      })
  }
}

interface Body {
  readonly kind: string
  readonly arena: string
  readonly arena_id: string
  readonly phase: string
  readonly ts: string
  readonly payload: Record<string, unknown>
}

interface Usage {
  calls: number
  errors: number
  prompt: number
  completion: number
  cost: number
}

/** What the charts must show, counted from the entries of the stream, independently of the page's code. */
const expected = (bodies: ReadonlyArray<Body>) => {
  const families: Record<string, number> = {}
  const models: Record<string, Usage> = {}
  const arenas: Record<string, Usage> = {}
  let errors = 0
  for (const b of bodies) {
    const family = b.kind.split(".")[0]!
    families[family] = (families[family] ?? 0) + 1
    if (b.kind.endsWith(".error")) errors++
    if (!b.kind.startsWith("llm.")) continue
    for (const [table, key] of [
      [models, String(b.payload.model)],
      [arenas, b.arena]
    ] as const) {
      const u = table[key] ?? { calls: 0, errors: 0, prompt: 0, completion: 0, cost: 0 }
      table[key] = u
      if (b.kind === "llm.error") u.errors++
      else {
        u.calls++
        u.prompt += b.payload.prompt_tokens as number
        u.completion += b.payload.completion_tokens as number
        u.cost += b.payload.cost_usd as number
      }
    }
  }
  return { families, errors, models, arenas }
}

/**
 * The charts as drawn: rendered and read in one step of the page (its renders every second replace
 * them), numbers as written on the page, sizes as laid out.
 */
const drawn = (page: Page) =>
  Effect.promise(() =>
    page.evaluate(() => {
      ;(window as any).mafEvents.render()
      const all = (root: ParentNode, selector: string) =>
        Array.from(root.querySelectorAll(selector)) as Array<any>
      const box = (e: any) => (e as SVGGraphicsElement).getBBox()
      const usage = (title: string) => {
        const table = all(document, "#llm table.usage").find(
          (t) => t.querySelector("th")?.textContent === title
        )
        return all(table ?? document.createElement("table"), "tbody tr").map((tr) => {
          const cell = (c: string) => tr.querySelector(`td.${c}`)?.textContent ?? ""
          return {
            key: tr.dataset.key as string,
            calls: Number(cell("calls")),
            errors: Number(cell("errors")),
            prompt: Number(cell("prompt").replace(/,/g, "")),
            completion: Number(cell("completion").replace(/,/g, "")),
            cost: Number(cell("cost").replace("$", "")),
            usd: Number(tr.querySelector("td.cost")?.getAttribute("data-usd")),
            barWidth: box(tr.querySelector("rect.prompt")).width
          }
        })
      }
      return {
        legend: Object.fromEntries(
          all(document, "#throughput-legend .key").map((k) => [
            k.dataset.family,
            Number(k.querySelector("b")?.textContent)
          ])
        ),
        shapes: all(document, "#throughput svg path").map((p) => ({
          cls: p.getAttribute("class") as string,
          family: p.dataset.family as string | undefined,
          width: box(p).width,
          height: box(p).height
        })),
        models: usage("model"),
        arenas: usage("arena"),
        runs: all(document, "#runs div.run").map((div) => ({
          id: div.dataset.arenaId as string,
          status: div.dataset.status as string,
          phases: all(div, "g.phase").map((g) => ({
            name: g.dataset.name as string,
            status: g.dataset.status as string,
            duration: Number(g.dataset.duration),
            width: box(g.querySelector("rect")).width
          })),
          agents: new Set(all(div, "g.agent").map((g) => g.dataset.name.split(" · ")[0])).size,
          bars: all(div, "rect").map((r) => box(r).width)
        }))
      }
    })
  )

describe.skipIf(!available)("the dashboard's charts in headless Chromium, over the demo's data", () => {
  it.scopedLive(
    "throughput by family with errors, LLM usage per model and arena, run timelines and groups match what was sent",
    () =>
      Effect.gen(function* () {
        // Five minutes of the demo (less a margin, so that all of it is in the chart's window), in
        // about ten seconds; the page's clock is set to the end of them.
        const span = 290_000
        const speed = 30
        const end = Date.now()
        const warped = warpedClock(end - span, speed)
        const services = yield* Layer.build(
          DemoCommand.services(Option.none(), { stream, source: "in-memory", port: 0 })
        ).pipe(Effect.withClock(warped))
        const url = Dashboard.urlOf(Context.get(services, HttpServer.HttpServer).address)

        const { context } = yield* browser
        const page = yield* Effect.promise(() => context.newPage())
        const errors: Array<string> = []
        page.on("pageerror", (error) => errors.push(error.message))
        yield* Effect.promise(() => page.clock.setFixedTime(end + 5_000))
        yield* Effect.promise(() => page.goto(`${url}?from=0`))
        yield* untilLive(page)

        warped.start()
        const demo = (
          effect: Effect.Effect<unknown, unknown, EventBus.EventBus | EventConsumer.EventConsumer>
        ) => Effect.fork(effect.pipe(Effect.provide(services), Effect.withClock(warped)))
        const workers = yield* demo(DemoWorkers.run(stream))
        const simulation = yield* demo(
          Simulation.run({ interval: Duration.millis(250) }).pipe(Effect.withRandom(Random.make(11)))
        )
        // Pacing, not synchronisation: the demo runs until its clock reaches the end.
        yield* Effect.sleep(Duration.millis(span / speed))
        yield* Fiber.interrupt(simulation)
        yield* Fiber.interrupt(workers)

        const backend = Context.get(services, StreamBackend.StreamBackend)
        const cursor = yield* backend.openCursor
        const { entries } = yield* cursor.read(stream, "0", { count: 1_000_000, blockMillis: undefined })
        const bodies = entries.map((e) => JSON.parse(e.fields[1]!) as Body)
        expect(bodies.length).toBeGreaterThan(200)
        const want = expected(bodies)

        // Every entry has reached the page; its charts drawn with all of them.
        yield* Effect.promise(() =>
          page.waitForFunction(
            (n) => {
              const counts = (window as any).mafEvents.state.counts as Record<string, number>
              return Object.values(counts).reduce((a, b) => a + b, 0) >= n
            },
            entries.length,
            { timeout: 20_000 }
          )
        )
        const charts = yield* drawn(page)

        // Throughput: each family's count and the errors under the chart; an area a family, and
        // the error line, each drawn with a size.
        expect(charts.legend).toEqual({ ...want.families, "*.error": want.errors })
        expect(want.errors).toBeGreaterThan(0)
        const shapes = charts.shapes
        expect(shapes.filter((s) => s.cls === "area").map((s) => s.family)).toEqual(
          Object.keys(want.families).sort()
        )
        for (const s of shapes) expect(s.width, `${s.cls} ${s.family}`).toBeGreaterThan(500)
        for (const s of shapes.filter((s) => s.cls === "area")) expect(s.height, s.family).toBeGreaterThan(0)
        expect(shapes.find((s) => s.cls === "error-line")!.height).toBeGreaterThan(0)

        // LLM usage per model and per arena: calls, errors, tokens and cost as sent.
        for (const [title, table, shown] of [
          ["model", want.models, charts.models],
          ["arena", want.arenas, charts.arenas]
        ] as const) {
          expect(shown.map((r) => r.key).sort()).toEqual(Object.keys(table).sort())
          for (const row of shown) {
            const u = table[row.key]!
            expect(row, `${title} ${row.key}`).toMatchObject({
              calls: u.calls,
              errors: u.errors,
              prompt: u.prompt,
              completion: u.completion
            })
            // The cost to the nanodollar, shown to a hundredth of a cent.
            expect(row.usd).toBeCloseTo(u.cost, 8)
            expect(Math.abs(row.cost - u.cost)).toBeLessThanOrEqual(0.00005 + 1e-9)
            if (u.prompt > 0) expect(row.barWidth).toBeGreaterThan(0)
          }
        }

        // Run timelines, newest first: the last runs, each phase with its duration from its events'
        // ts, each agent on a row, every bar with a size.
        const runIds = [...new Set(bodies.map((b) => b.arena_id))].slice(-8).reverse()
        const runs = charts.runs
        expect(runs.map((r) => r.id)).toEqual(runIds)
        // Every run but the newest (the simulation was stopped in it) is complete.
        const complete = runs.slice(1)
        expect(complete.length).toBeGreaterThanOrEqual(3)
        for (const run of complete) expect(run.status, run.id).toBe("complete")
        for (const run of complete) {
          const of = bodies.filter((b) => b.arena_id === run.id)
          const phaseTimes = (kind: string) =>
            Object.fromEntries(of.filter((b) => b.kind === kind).map((b) => [b.phase, Date.parse(b.ts)]))
          const starts = phaseTimes("phase.start")
          const ends = phaseTimes("phase.complete")
          expect(run.phases.map((p) => [p.name, p.status, p.duration])).toEqual(
            ["gather", "analyze", "decide"].map((name) => [name, "complete", ends[name]! - starts[name]!])
          )
          for (const p of run.phases) expect(p.width).toBeGreaterThan(1)
          expect(run.agents).toBe(
            new Set(of.filter((b) => b.kind === "agent.start").map((b) => b.payload.agent)).size
          )
          for (const width of run.bars) expect(width).toBeGreaterThan(0)
        }

        // Groups: lag and pending as the server has them, once the members stopped; a history drawn.
        const groups = Context.get(services, GroupBackend.GroupBackend)
        for (const name of DemoWorkers.groups) {
          const info = yield* groups.info(stream, name)
          yield* Effect.promise(() =>
            page.waitForFunction(
              ([name, lag, pending]) => {
                const row = document.querySelector(`#groups tr[data-group="${name}"]`)
                return (
                  row?.querySelector("td.lag")?.textContent === lag &&
                  row?.querySelector("td.pending")?.textContent === pending
                )
              },
              [name, String(info.lag ?? "?"), String(info.pending)] as const,
              { timeout: 10_000 }
            )
          )
          const spark = yield* Effect.promise(() =>
            page.evaluate((name) => {
              ;(window as any).mafEvents.render()
              const p = document.querySelector(
                `#groups tr[data-group="${name}"] path.pending`
              ) as SVGPathElement
              return { width: p.getBBox().width, points: (p.getAttribute("d") ?? "").split("L").length }
            }, name)
          )
          expect(spark.width).toBeGreaterThan(100)
          expect(spark.points).toBeGreaterThan(50)
        }
        // The auditor fell behind in its slow minutes: its lag rose above 0 on the way.
        const lags = yield* Effect.promise(() =>
          page.evaluate(() =>
            (
              (window as any).mafEvents.state.insights.groups.auditor.samples as Array<
                [number, number, number]
              >
            ).map((s) => s[1])
          )
        )
        expect(Math.max(...lags)).toBeGreaterThan(5)

        // The README's picture: the charts over the demo's five minutes.
        mkdirSync(Path.dirname(screenshot), { recursive: true })
        yield* Effect.promise(() => page.screenshot({ path: screenshot }))
        expect(errors).toEqual([])
      }),
    90_000
  )
})
