/**
 * The short soak CI runs: 15 s on a single server with every fault of that topology (none named: all
 * it offers), once with a fixed seed and once with a random one (in the test's title, with the
 * command that runs it again).
 * Every promise must hold; on a violation the report (with its seed) is the failure's message.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Checker from "../src/Checker.js"
import * as Report from "../src/Report.js"
import * as Rng from "../src/Rng.js"
import * as Soak from "../src/Soak.js"

const soak = (seed: number) =>
  Effect.gen(function* () {
    const history = yield* Soak.run({ topology: "single", seconds: 15, seed })
    const verdict = Checker.check(history)
    const report = Report.render(history, verdict)
    console.log(`chaos soak, seed ${seed}:\n${report}`)
    expect(history.faults.length, report).toBeGreaterThanOrEqual(2)
    expect(history.awaited.length, report).toBeGreaterThan(100)
    expect(verdict.violations, report).toEqual([])
  }).pipe(Logger.withMinimumLogLevel(LogLevel.None))

describe("the short soak on a single server", () => {
  it.live("with the fixed seed 20261207: every promise holds", () => soak(20261207), 120_000)

  const seed = Rng.randomSeed()
  it.live(
    `with a random seed (${seed}; \`pnpm chaos --seconds 15 --seed ${seed}\`): every promise holds`,
    () => soak(seed),
    120_000
  )
})
