#!/usr/bin/env node
/**
 * `pnpm chaos [--seconds N] [--topology single|cluster|sentinel] [--seed S] [--faults a,b,…]
 * [--history FILE]`: runs a
 * soak (`Soak.ts`) on a topology it starts itself, checks its history (`Checker.ts`), prints the
 * table and exits 1 on any violation (0 when every promise held, 2 on bad arguments or a failed run).
 * The seed is printed first: the same seed picks the same faults in the same order.
 * SIGINT or SIGTERM stops the soak: the servers it started are shut down before it exits (130 or
 * 143); a second signal ends it at once.
 */
import { writeFileSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Checker from "./Checker.js"
import { type FaultKind, faultKinds, type Topology, topologies } from "./History.js"
import * as Report from "./Report.js"
import * as Rng from "./Rng.js"
import * as Soak from "./Soak.js"

const usage =
  "usage: pnpm chaos [--seconds N (default 60)] [--topology single|cluster|sentinel (default single)] [--seed S (default random)] [--faults kind,kind,...] [--verbose (the library's logs, to stderr)] [--history FILE (the whole history as JSON, for a look at a violation)]"

const say = (line: string) => process.stderr.write(`${line}\n`)

let verbose = false
let historyFile: string | undefined

const parse = (argv: ReadonlyArray<string>): Soak.Options => {
  let seconds = 60
  let topology: Topology = "single"
  let seed = Rng.randomSeed()
  let faults: Array<FaultKind> | undefined
  verbose = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") continue
    const [name, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined]
    const value = () => inline ?? argv[++i] ?? ""
    if (name === "--seconds") {
      seconds = Number(value())
      if (!Number.isFinite(seconds) || seconds < 5)
        throw new Error(`--seconds takes a number of seconds, 5 or more`)
    } else if (name === "--topology") {
      const t = value()
      if (!topologies.includes(t as Topology))
        throw new Error(`--topology takes one of ${topologies.join(", ")}, not "${t}"`)
      topology = t as Topology
    } else if (name === "--seed") {
      seed = Number(value())
      if (!Number.isInteger(seed)) throw new Error("--seed takes an integer")
    } else if (name === "--faults") {
      faults = value()
        .split(",")
        .filter((k) => k !== "") as Array<FaultKind>
      const unknown = faults.filter((k) => !faultKinds.includes(k))
      if (unknown.length > 0 || faults.length === 0)
        throw new Error(
          `--faults takes kinds among ${faultKinds.join(", ")}${unknown.length > 0 ? `, not ${unknown.join(", ")}` : ""}`
        )
    } else if (name === "--verbose") verbose = true
    else if (name === "--history") {
      historyFile = value()
      if (historyFile === "") throw new Error("--history takes a file name")
    } else if (name === "--help" || name === "-h") {
      process.stdout.write(`${usage}\n`)
      process.exit(0)
    } else throw new Error(`unknown argument ${arg}`)
  }
  return { seconds, topology, seed, faults, log: say }
}

let options: Soak.Options
try {
  options = parse(process.argv.slice(2))
} catch (error) {
  say(`${(error as Error).message}\n${usage}`)
  process.exit(2)
}
say(`chaos soak: ${options.topology}, ${options.seconds} s, seed ${options.seed}`)
const soak = Effect.runFork(
  Soak.run(options).pipe(
    verbose
      ? Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)))
      : Logger.withMinimumLogLevel(LogLevel.None)
  )
)
// A signal interrupts the soak, whose scopes then shut down the servers it started (left running,
// they outlived the program). `once`: a second signal is Node's own, which ends the process at once.
let stoppedBy: NodeJS.Signals | undefined
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    stoppedBy ??= signal
    say(`${signal}: stopping the soak and the servers it started (again to end at once)`)
    Effect.runFork(Fiber.interrupt(soak))
  })
}
const exit = await Effect.runPromise(Fiber.await(soak))
if (stoppedBy !== undefined) {
  say(`stopped by ${stoppedBy} (seed ${options.seed}); no verdict`)
  process.exit(stoppedBy === "SIGINT" ? 130 : 143)
}
if (Exit.isFailure(exit)) {
  say(`the soak could not run (seed ${options.seed}):\n${exit.cause.toString()}`)
  process.exit(2)
}
if (historyFile !== undefined) writeFileSync(historyFile, JSON.stringify(exit.value))
const verdict = Checker.check(exit.value)
process.stdout.write(`${Report.render(exit.value, verdict)}\n`)
process.exit(verdict.ok ? 0 : 1)
