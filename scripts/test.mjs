#!/usr/bin/env node
// The whole check, from a fresh clone: gets pnpm and redis-server where missing (and possible),
// installs, lints, builds (type-checks, README snippets included), runs every test, and ends with
// `N passed, N failed, N skipped`.
// Usage: npm test            (everything)
//        npm test -- <args>  (extra arguments go to vitest, e.g. a file filter)
import { existsSync, readFileSync, rmSync } from "node:fs"
import { join, relative } from "node:path"
import { has, installAndBuild, root, run, say, step } from "./lib/setup.mjs"

const failedSetup = () => process.stdout.write("0 passed, 1 failed\n")

// redis-server: the Redis tests start real servers of their own.
if (!has("redis-server")) {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0
  const apt = ["install", "-y", "-qq", "redis-server", "redis-tools"]
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  if (isRoot && has("apt-get")) {
    say("redis-server is missing: installing Debian's redis-server with apt-get")
    run("apt-get", ["update", "-qq"], { env })
    run("apt-get", apt, { env })
  } else if (has("sudo") && has("apt-get")) {
    say("redis-server is missing: installing it with sudo apt-get")
    run("sudo", ["apt-get", ...apt], { env })
  }
  if (!has("redis-server")) say("redis-server is not available: the Redis tests will fail; install it first")
}

const pnpm = installAndBuild(failedSetup)
step("lint and format check (biome)", pnpm(["run", "lint"]), failedSetup)
step("README snippets (type-checked)", ["node", ["scripts/check-readme.mjs"]], failedSetup)

const results = join(root, ".vitest-results.json")
rmSync(results, { force: true })
const [command, args] = pnpm([
  "exec",
  "vitest",
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${results}`,
  ...process.argv.slice(2)
])
say("tests (vitest)")
const status = run(command, args)
let summary = "0 passed, 1 failed"
if (existsSync(results)) {
  const r = JSON.parse(readFileSync(results, "utf8"))
  const failed = r.numFailedTests + (status !== 0 && r.numFailedTests === 0 ? 1 : 0)
  summary = `${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests + r.numTodoTests} skipped`
  // The failures once more, short, just above the summary: a log cut to its tail still names them.
  for (const file of r.testResults ?? []) {
    for (const test of file.assertionResults ?? []) {
      if (test.status !== "failed") continue
      const message = String(test.failureMessages?.[0] ?? "")
        .split("\n")[0]
        .slice(0, 400)
      process.stdout.write(`failed: ${relative(root, file.name)} > ${test.fullName}\n  ${message}\n`)
    }
  }
}
process.stdout.write(`${summary}\n`)
process.exit(status)
