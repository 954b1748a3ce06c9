/**
 * `pnpm bench [--quick] [--json] [--pin|--no-pin] [--in-process] [--only <key>[,<key>…]]`: the library
 * against plain ioredis, on the same redis-server in the same run (method and results:
 * `docs/benchmarks.md`). `--topology cluster` runs the cluster bench instead (`cluster/run.ts`: a
 * cluster of its own, whatever `REDIS_URL` says; no pinning, in this process).
 *
 * - Starts a redis-server of its own (`RedisTestServer`), unless `REDIS_URL` names one, and decides by
 *   a round-trip probe whether to pin it and each case's main thread to different cores
 *   (`pinProbe.ts`; `--pin` or `--no-pin` to decide without the probe).
 * - Prints a table of the figures (median, interquartile range and min–max of the rounds) and one of
 *   the targets (`targets.ts`: the median of the per-round ratios); with `--json`, stdout holds only
 *   one JSON object (`report.ts`) and the tables go to stderr. Progress goes to stderr.
 * - `--quick`: smaller sizes and fewer rounds (under a minute); the notes say which sizes ran.
 * - Each case runs in a process of its own (`caseChild.ts`); `--in-process` runs them in this one.
 * - `--only`: the figures to measure (for profiling: `node --cpu-prof bench/dist/main.js --in-process
 *   --only publish_nowait`, then `node bench/profile-top.mjs CPU.*.cpuprofile`).
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as Os from "node:os"
import { fileURLToPath } from "node:url"
import { RedisTestServer } from "@maf/events-test/RedisTestServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { bodyBytes } from "./body.js"
import type { Case, CaseResult } from "./case.js"
import { cases } from "./cases/index.js"
import { clusterKeys, runCluster } from "./cluster/run.js"
import { isKey, type Key, keys, type Stats } from "./harness.js"
import { pinMainThread, pinServer } from "./pin.js"
import { type PinningDecision, probePinning } from "./pinProbe.js"
import { serverInfo } from "./redis.js"
import { figureTable, jsonReport, targetTable } from "./report.js"
import { check } from "./targets.js"

const usage = `usage: node bench/dist/main.js [--topology single|cluster] [--quick] [--json] [--pin|--no-pin] [--in-process] [--only <key>[,<key>...]]
keys: ${keys.join(", ")} (cluster_*: --topology cluster)
REDIS_URL=redis://host:port/db uses that server instead of starting one.`

const parseArgs = (argv: ReadonlyArray<string>) => {
  let json = false
  let quick = false
  let pin: "probe" | "--pin" | "--no-pin" = "probe"
  let inProcess = false
  let only: Set<Key> | undefined
  let topology: "single" | "cluster" = "single"
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") continue // `pnpm bench -- --json` passes the `--` on
    if (arg === "--json") json = true
    else if (arg === "--quick") quick = true
    else if (arg === "--pin" || arg === "--no-pin") pin = arg
    else if (arg === "--in-process") inProcess = true
    else if (arg === "--topology" || arg.startsWith("--topology=")) {
      const value = arg === "--topology" ? argv[++i] : arg.slice("--topology=".length)
      if (value !== "single" && value !== "cluster")
        throw new Error(`--topology: single or cluster\n${usage}`)
      topology = value
    } else if (arg === "--only" || arg.startsWith("--only=")) {
      const list = arg === "--only" ? argv[++i] : arg.slice("--only=".length)
      only = new Set()
      for (const name of (list ?? "").split(",").filter((s) => s !== "")) {
        if (!isKey(name)) throw new Error(`unknown key ${name}\n${usage}`)
        only.add(name)
      }
    } else if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${usage}\n`)
      process.exit(0)
    } else throw new Error(`unknown argument ${arg}\n${usage}`)
  }
  const clusterOnly = [...(only ?? [])].filter((key) => clusterKeys.includes(key))
  if (topology === "single" && clusterOnly.length > 0) {
    throw new Error(`${clusterOnly.join(", ")}: with --topology cluster\n${usage}`)
  }
  if (topology === "cluster" && (pin !== "probe" || inProcess)) {
    throw new Error(
      `--topology cluster runs in this process and never pins: no ${pin !== "probe" ? pin : "--in-process"}`
    )
  }
  return { json, quick, pin, inProcess, only, topology }
}

const cpuModel = (): string => {
  try {
    return (
      /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ??
      Os.cpus()[0]?.model ??
      "?"
    )
  } catch {
    return Os.cpus()[0]?.model ?? "?"
  }
}

/** Pinning as asked (`--pin`, `--no-pin`) or, by default, as the probe finds best; never for `REDIS_URL`. */
const decidePinning = (
  asked: "probe" | "--pin" | "--no-pin",
  ownServer: boolean,
  url: string,
  redisPid: number
): Promise<PinningDecision> => {
  if (!ownServer) {
    return Promise.resolve({ pinned: false, by: "unavailable", description: "not pinned (REDIS_URL)" })
  }
  if (asked === "--no-pin")
    return Promise.resolve({ pinned: false, by: asked, description: "not pinned (--no-pin)" })
  if (asked === "--pin") {
    if (Os.availableParallelism() < 2) throw new Error("--pin: one core, nothing to pin to")
    return Promise.resolve({
      pinned: true,
      by: asked,
      description: "pinned (--pin): each case's main thread on CPU 0, redis-server on CPU 1"
    })
  }
  return probePinning(url, redisPid)
}

const child = fileURLToPath(new URL("./caseChild.js", import.meta.url))

/**
 * Runs a case in a process of its own (`caseChild.ts`), its progress passed on to stderr, and reads
 * its result.
 */
const runCase = (
  c: Case,
  options: { readonly url: string; readonly quick: boolean; readonly only: string; readonly pinned: boolean }
): Promise<CaseResult> =>
  new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [child, c.name, options.url, options.quick ? "1" : "0", options.only],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, MAF_BENCH_PIN: options.pinned ? "1" : "0" }
      }
    )
    let stdout = ""
    proc.stdout.setEncoding("utf8")
    proc.stdout.on("data", (chunk: string) => {
      stdout += chunk
    })
    proc.on("error", reject)
    proc.on("close", (code) => {
      if (code !== 0) return reject(new Error(`case ${c.name} failed (exit ${code})`))
      try {
        const parsed = JSON.parse(stdout) as {
          stats: Array<[Key, Stats]>
          notes: Array<string>
        }
        resolve({ stats: new Map(parsed.stats), notes: parsed.notes })
      } catch (error) {
        reject(new Error(`case ${c.name} wrote no result: ${String(error)}`))
      }
    })
  })

const main = async () => {
  const options = parseArgs(process.argv.slice(2))
  // Before any pinning, which narrows what the process may use.
  const cores = Os.availableParallelism()
  const out = (text: string) => (options.json ? process.stderr : process.stdout).write(`${text}\n`)
  const log = (line: string) => process.stderr.write(`${line}\n`)

  const started = performance.now()
  const scope = Effect.runSync(Scope.make())
  const stop = () => Effect.runPromise(Scope.close(scope, Exit.void))
  process.once("SIGINT", () => {
    stop().finally(() => process.exit(130))
  })
  try {
    const only = options.only
    const selected = (key: Key) => only === undefined || only.has(key)
    if (options.topology === "cluster") {
      const machine = `${cores} cores (${cpuModel()}), node ${process.version}`
      return await runCluster({
        scope,
        quick: options.quick,
        json: options.json,
        selected,
        machine,
        started,
        out,
        log
      })
    }
    let url = process.env.REDIS_URL ?? ""
    const ownServer = url === ""
    if (ownServer) {
      const context = await Effect.runPromise(Layer.buildWithScope(RedisTestServer.layer(), scope))
      url = Context.get(context, RedisTestServer).url
    }
    const redis = await serverInfo(url)
    const pinning = await decidePinning(options.pin, ownServer, url, redis.pid)
    if (pinning.pinned && !pinServer(redis.pid)) throw new Error("taskset could not pin redis-server")
    // In process (for profiling), this process's main thread is the one to pin.
    if (options.inProcess && pinning.pinned) pinMainThread()
    out(
      [
        `@maf/events bench${options.quick ? " --quick" : ""}: ${cores} cores (${cpuModel()}), node ${process.version}, redis ${redis.version} (${ownServer ? "its own redis-server" : "REDIS_URL"}), ${pinning.description}, each case in a process of its own`,
        `body: ${bodyBytes} bytes of JSON in field data, the same text on both sides`
      ].join("\n")
    )

    const stats = new Map<Key, Stats>()
    const notes: Array<string> = []
    for (const c of cases) {
      if (!c.keys.some(selected)) continue
      log(`${c.name}:`)
      const result = options.inProcess
        ? await c.run({ url, quick: options.quick, pinned: pinning.pinned, selected, log })
        : await runCase(c, {
            url,
            quick: options.quick,
            only: only === undefined ? "-" : [...only].join(","),
            pinned: pinning.pinned
          })
      for (const [key, s] of result.stats) stats.set(key, s)
      notes.push(...result.notes)
    }

    const checked = check(stats)
    const seconds = (performance.now() - started) / 1000
    out("")
    out(figureTable(stats))
    out("")
    const targetsText = targetTable(checked)
    if (targetsText !== "") out(`${targetsText}\n`)
    out(notes.map((n) => `- ${n}`).join("\n"))
    out(`- ${seconds.toFixed(1)} s in all`)
    if (options.json) {
      const json = jsonReport({ stats, checked, pinning, quick: options.quick, seconds })
      process.stdout.write(`${JSON.stringify(json)}\n`)
    }
  } finally {
    await stop()
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`
    )
    process.exit(1)
  }
)
