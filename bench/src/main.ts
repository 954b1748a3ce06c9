/**
 * `pnpm bench [--quick] [--json] [--no-pin] [--only <key>[,<key>…]]`: the library against plain
 * ioredis, on the same redis-server in the same run (results and method: `docs/benchmarks.md`).
 *
 * - Starts a redis-server of its own (`RedisTestServer`), unless `REDIS_URL` names one, and pins it
 *   and this process's main thread to different cores (`pin.ts`; `--no-pin` to leave them free).
 * - Prints a table (median and min–max over the rounds) and the ratios against the targets of the
 *   issue; with `--json`, stdout holds only one JSON object of the medians (keys: `harness.keys`)
 *   and the table goes to stderr. Progress goes to stderr.
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
import { format, isKey, type Key, keys, type Stats, unitOf } from "./harness.js"
import { pinCores, pinMainThread } from "./pin.js"
import { serverInfo } from "./redis.js"

interface Target {
  readonly name: string
  readonly value: (s: ReadonlyMap<Key, Stats>) => number | undefined
  readonly ok: (v: number) => boolean
  readonly want: string
}

const ratio = (a: Key, b: Key) => (s: ReadonlyMap<Key, Stats>) => {
  const x = s.get(a)
  const y = s.get(b)
  return x === undefined || y === undefined ? undefined : x.median / y.median
}
const figure = (a: Key) => (s: ReadonlyMap<Key, Stats>) => s.get(a)?.median

const targets: ReadonlyArray<Target> = [
  {
    name: "publish_nowait / raw_pipeline",
    value: ratio("publish_nowait", "raw_pipeline"),
    ok: (v) => v >= 1.3,
    want: ">= 1.30"
  },
  {
    name: "publish_awaited / raw_sequential",
    value: ratio("publish_awaited", "raw_sequential"),
    ok: (v) => v >= 0.85,
    want: ">= 0.85"
  },
  {
    name: "read_decoded / raw_read",
    value: ratio("read_decoded", "raw_read"),
    ok: (v) => v >= 0.8,
    want: ">= 0.80"
  },
  { name: "e2e_p99_ms", value: figure("e2e_p99_ms"), ok: (v) => v <= 2, want: "<= 2 ms" },
  {
    name: "read_rss_growth_mb",
    value: figure("read_rss_growth_mb"),
    ok: (v) => v <= 50,
    want: "<= 50 MB"
  }
]

const usage = `usage: node bench/dist/main.js [--quick] [--json] [--no-pin] [--in-process] [--only <key>[,<key>...]]
keys: ${keys.join(", ")}
REDIS_URL=redis://host:port/db uses that server instead of starting one.`

const parseArgs = (argv: ReadonlyArray<string>) => {
  let json = false
  let quick = false
  let pin = true
  let inProcess = false
  let only: Set<Key> | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") continue // `pnpm bench -- --json` passes the `--` on
    if (arg === "--json") json = true
    else if (arg === "--quick") quick = true
    else if (arg === "--no-pin") pin = false
    else if (arg === "--in-process") inProcess = true
    else if (arg === "--only" || arg.startsWith("--only=")) {
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
  return { json, quick, pin, inProcess, only }
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

const pad = (s: string, n: number) => s.padEnd(n)
const padLeft = (s: string, n: number) => s.padStart(n)

const table = (stats: ReadonlyMap<Key, Stats>): string => {
  const rows = keys
    .filter((key) => stats.has(key))
    .map((key) => {
      const s = stats.get(key)!
      return [key, format(s.median), format(s.min), format(s.max), unitOf(key), String(s.samples.length)]
    })
  const head = ["figure", "median", "min", "max", "unit", "rounds"]
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((c, i) => (i === 0 || i === 4 ? pad(c, widths[i]!) : padLeft(c, widths[i]!))).join(" | ")} |`
  return [
    line(head),
    `|${widths.map((w, i) => (i === 0 || i === 4 ? `-${"-".repeat(w)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    ...rows.map(line)
  ].join("\n")
}

const targetTable = (stats: ReadonlyMap<Key, Stats>): string => {
  const rows = targets.flatMap((t) => {
    const v = t.value(stats)
    return v === undefined ? [] : [`| ${t.name} | ${format(v)} | ${t.want} | ${t.ok(v) ? "met" : "MISSED"} |`]
  })
  return rows.length === 0 ? "" : ["| target | value | wanted | |", "|---|---:|---|---|", ...rows].join("\n")
}

const child = fileURLToPath(new URL("./caseChild.js", import.meta.url))

/**
 * Runs a case in a process of its own (`caseChild.ts`), its progress passed on to stderr, and reads
 * its result.
 */
const runCase = (
  c: Case,
  options: { readonly url: string; readonly quick: boolean; readonly only: string; readonly pin: boolean }
): Promise<CaseResult> =>
  new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [child, c.name, options.url, options.quick ? "1" : "0", options.only],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, MAF_BENCH_PIN: options.pin ? "1" : "0" }
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

  const scope = Effect.runSync(Scope.make())
  const stop = () => Effect.runPromise(Scope.close(scope, Exit.void))
  process.once("SIGINT", () => {
    stop().finally(() => process.exit(130))
  })
  try {
    let url = process.env.REDIS_URL ?? ""
    const ownServer = url === ""
    if (ownServer) {
      const context = await Effect.runPromise(Layer.buildWithScope(RedisTestServer.layer(), scope))
      url = Context.get(context, RedisTestServer).url
    }
    const only = options.only
    const selected = (key: Key) => only === undefined || only.has(key)
    const redis = await serverInfo(url)
    const pinning = ownServer
      ? options.pin
        ? pinCores(redis.pid)
        : { pinned: false, description: "not pinned (--no-pin)" }
      : { pinned: false, description: "not pinned (REDIS_URL)" }
    // In process (for profiling), this process's main thread is the one to pin.
    if (options.inProcess && pinning.pinned) pinMainThread()
    const started = performance.now()
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
        ? await c.run({ url, quick: options.quick, selected, log })
        : await runCase(c, {
            url,
            quick: options.quick,
            only: only === undefined ? "-" : [...only].join(","),
            pin: pinning.pinned
          })
      for (const [key, s] of result.stats) stats.set(key, s)
      notes.push(...result.notes)
    }

    out("")
    out(table(stats))
    out("")
    const targetsText = targetTable(stats)
    if (targetsText !== "") out(`${targetsText}\n`)
    out(notes.map((n) => `- ${n}`).join("\n"))
    out(`- ${((performance.now() - started) / 1000).toFixed(1)} s in all`)
    if (options.json) {
      const json: Partial<Record<Key, number>> = {}
      for (const key of keys) {
        const s = stats.get(key)
        if (s !== undefined) json[key] = Number(s.median.toPrecision(6))
      }
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
