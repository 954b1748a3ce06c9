#!/usr/bin/env node
// The whole check, from a fresh clone: gets pnpm and redis-server where missing (and possible),
// installs, lints, builds (type-checks), runs every test, and ends with `N passed, N failed, N skipped`.
// Usage: npm test            (everything)
//        npm test -- <args>  (extra arguments go to vitest, e.g. a file filter)
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const pnpmVersion = "12.4.2"
const say = (line) => process.stdout.write(`[test] ${line}\n`)

const has = (command) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0
const run = (command, args, options = {}) => {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", ...options })
  return result.status ?? 1
}
const must = (step, command, args) => {
  say(step)
  const status = run(command, args)
  if (status !== 0) {
    say(`${step} failed (exit ${status})`)
    process.stdout.write("0 passed, 1 failed\n")
    process.exit(status)
  }
}

// 1. pnpm, pinned: the lockfile was written by it.
let pnpm = "pnpm"
const pnpmOk = has("pnpm") && execFileSync("pnpm", ["--version"], { encoding: "utf8" }).trim() === pnpmVersion
if (!pnpmOk) {
  say(`getting pnpm ${pnpmVersion} through npm`)
  if (run("npm", ["install", "-g", `pnpm@${pnpmVersion}`]) !== 0) {
    say("a global install is not allowed here: using npx")
    pnpm = "npx"
  }
}
const pnpmArgs = (args) => (pnpm === "npx" ? ["--yes", `pnpm@${pnpmVersion}`, ...args] : args)

// 2. redis-server: the Redis tests start real servers of their own.
if (!has("redis-server")) {
  const root = typeof process.getuid === "function" && process.getuid() === 0
  if (root && has("apt-get")) {
    say("redis-server is missing: installing Debian's redis-server with apt-get")
    run("apt-get", ["update", "-qq"])
    run("apt-get", ["install", "-y", "-qq", "redis-server", "redis-tools"], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    })
  } else if (has("sudo") && has("apt-get")) {
    say("redis-server is missing: installing it with sudo apt-get")
    run("sudo", ["apt-get", "install", "-y", "-qq", "redis-server", "redis-tools"])
  }
  if (!has("redis-server"))
    say(
      "redis-server is not available: the tests that need it will fail; install it (apt-get install redis-server)"
    )
}

// 3. The checks.
must("installing packages", pnpm, pnpmArgs(["install", "--frozen-lockfile"]))
must("lint and format check (biome)", pnpm, pnpmArgs(["run", "lint"]))
must("build and type-check (tsc -b)", pnpm, pnpmArgs(["run", "build"]))

const results = join(root, ".vitest-results.json")
rmSync(results, { force: true })
say("tests (vitest)")
const status = run(
  pnpm,
  pnpmArgs([
    "exec",
    "vitest",
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${results}`,
    ...process.argv.slice(2)
  ])
)
let summary = `0 passed, 1 failed`
if (existsSync(results)) {
  const r = JSON.parse(readFileSync(results, "utf8"))
  const failed = r.numFailedTests + (status !== 0 && r.numFailedTests === 0 ? 1 : 0)
  summary = `${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests + r.numTodoTests} skipped`
}
process.stdout.write(`${summary}\n`)
process.exit(status)
