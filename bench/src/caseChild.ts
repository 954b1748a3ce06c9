/**
 * One case of the bench in a process of its own, run by `main.ts` for each case, so that no case runs
 * in the heap, the JIT's state or the timers another case left (a case's two sides still share one
 * process, alternating). Arguments: `<case name> <url> <quick: 0|1> <figures asked for, comma-separated,
 * or "-" for all>`. With `MAF_BENCH_PIN=1` its main thread pins itself to CPU 0 (`pin.ts`). Progress
 * goes to stderr; stdout gets one JSON line: `{ stats: [[key, Stats], …], notes: […] }`.
 */
import type { BenchContext } from "./case.js"
import { cases } from "./cases/index.js"
import { isKey } from "./harness.js"
import { pinMainThread } from "./pin.js"

const [name, url, quickText, onlyText] = process.argv.slice(2)
const selected = onlyText === undefined || onlyText === "-" ? undefined : new Set(onlyText.split(","))
const found = cases.find((c) => c.name === name)

const run = async () => {
  if (found === undefined || url === undefined) throw new Error(`no case ${name ?? "(none)"}`)
  const pinned = process.env.MAF_BENCH_PIN === "1"
  if (pinned) pinMainThread()
  const ctx: BenchContext = {
    url,
    pinned,
    quick: quickText === "1",
    selected: (key) => selected === undefined || (isKey(key) && selected.has(key)),
    log: (line) => process.stderr.write(`${line}\n`)
  }
  const result = await found.run(ctx)
  process.stdout.write(`${JSON.stringify({ stats: [...result.stats], notes: result.notes })}\n`)
}

run().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  }
)
