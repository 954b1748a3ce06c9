/**
 * The checker catches what it claims to: a short soak (single topology, a few seconds, faults that
 * lose nothing) with one component broken on purpose fails, with a violation naming what broke.
 * The same soak with nothing broken passes (`soak.test.ts`).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Checker from "../src/Checker.js"
import type { FaultKind } from "../src/History.js"
import * as Report from "../src/Report.js"
import * as Soak from "../src/Soak.js"

/** Faults that lose no data: no loss they could explain hides the broken component's. */
const faults: ReadonlyArray<FaultKind> = ["clientKill", "proxyDrop", "hangShort"]

const soakWith = (sabotage: Soak.Sabotage) =>
  Effect.gen(function* () {
    const history = yield* Soak.run({ topology: "single", seconds: 6, seed: 7, faults, sabotage })
    const verdict = Checker.check(history)
    console.log(`chaos soak, ${sabotage}:\n${Report.render(history, verdict)}`)
    return { verdict, report: Report.render(history, verdict) }
  }).pipe(Logger.withMinimumLogLevel(LogLevel.None))

describe("a soak with a broken component fails, naming the violation", () => {
  it.live(
    "a reader that skips one entry: readers.skipped",
    () =>
      Effect.gen(function* () {
        const { verdict, report } = yield* soakWith("readerSkipsOne")
        expect(verdict.ok).toBe(false)
        expect(verdict.violations.map((v) => v.rule)).toContain("readers.skipped")
        expect(report).toMatch(/\[readers\.skipped\] reader live-1 skipped \S+ without a Gap covering it/)
        expect(report).toContain("reproduce: pnpm chaos --topology single --seconds 6 --seed 7")
      }),
    60_000
  )

  it.live(
    "a member that acknowledges before handling: groups.unhandled",
    () =>
      Effect.gen(function* () {
        const { verdict, report } = yield* soakWith("memberAcksFirst")
        expect(verdict.ok).toBe(false)
        expect(verdict.violations.map((v) => v.rule)).toContain("groups.unhandled")
        expect(report).toMatch(/\[groups\.unhandled\] \S+ \(\S+\) was neither handled nor dead-lettered/)
      }),
    60_000
  )

  it.live(
    "a publisher that answers Written for an event it dropped: publish.written-lost",
    () =>
      Effect.gen(function* () {
        const { verdict, report } = yield* soakWith("publisherLies")
        expect(verdict.ok).toBe(false)
        expect(verdict.violations.map((v) => v.rule)).toContain("publish.written-lost")
        expect(report).toContain("[publish.written-lost] a1:20 was answered Written as")
      }),
    60_000
  )
})
