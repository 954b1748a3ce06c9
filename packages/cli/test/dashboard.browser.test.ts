/**
 * The dashboard in a real browser: headless Chromium (Debian's `chromium`, driven by
 * `playwright-core`) opens the page, sees events arrive, filters, reloads and resumes without
 * duplicates, and leaves a screenshot in the temporary directory (`maf-dashboard.png`), or where
 * `MAF_EVENTS_SCREENSHOT` says (`MAF_EVENTS_SCREENSHOT=docs/dashboard.png` makes the README's, from
 * the repository's root). Skipped, saying why, where `/usr/bin/chromium` is missing.
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as HttpServer from "@effect/platform/HttpServer"
import { describe, expect, layer } from "@effect/vitest"
import { EventBus, MemoryStreamBackend } from "@maf/events"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import { chromium, type Page } from "playwright-core"
import * as Dashboard from "../src/Dashboard.js"
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

          // The screenshot of the README: an expanded payload, filters empty.
          yield* Effect.promise(() => page.click('#rows tr[data-kind="llm.call"] td.payload'))
          mkdirSync(Path.dirname(screenshot), { recursive: true })
          yield* Effect.promise(() => page.screenshot({ path: screenshot }))
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
