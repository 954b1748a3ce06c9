#!/usr/bin/env node
// The functions with the most self time in a V8 .cpuprofile (from `node --cpu-prof`), and the
// inclusive time of the hottest frames by callers' chains.
// Usage: node bench/profile-top.mjs <file.cpuprofile> [how many, default 30]
import { readFileSync } from "node:fs"

const [file, topText] = process.argv.slice(2)
if (file === undefined) {
  process.stderr.write("usage: node bench/profile-top.mjs <file.cpuprofile> [how many]\n")
  process.exit(2)
}
const top = Number(topText ?? 30)
const profile = JSON.parse(readFileSync(file, "utf8"))
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const self = new Map()
const interval = (profile.endTime - profile.startTime) / profile.samples.length
for (const id of profile.samples) {
  const node = byId.get(id)
  const { functionName, url, lineNumber } = node.callFrame
  const where = `${functionName || "(anonymous)"} ${url.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, "").replace(/^file:\/\/.*\/(packages|bench)\//, "$1/")}:${lineNumber + 1}`
  self.set(where, (self.get(where) ?? 0) + 1)
}
const total = profile.samples.length
const byFile = new Map()
for (const [where, n] of self) {
  const file = where.includes("(idle)")
    ? "(idle)"
    : where.includes("(garbage collector)")
      ? "(gc)"
      : where
          .replace(/^\S+ /, "")
          .replace(/:\d+$/, "")
          .replace(/^effect\/dist\/esm\/.*/, "effect")
          .replace(/^ioredis\/.*/, "ioredis")
          .replace(/^node:.*|^$/, "node/native")
  byFile.set(file, (byFile.get(file) ?? 0) + n)
}
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top)
process.stdout.write(`${total} samples, ${((total * interval) / 1000).toFixed(0)} ms\n`)
process.stdout.write("by file:\n")
for (const [file, n] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
  process.stdout.write(`${((100 * n) / total).toFixed(1).padStart(5)}%  ${file}\n`)
}
process.stdout.write("by function:\n")
for (const [where, n] of rows) {
  process.stdout.write(`${((100 * n) / total).toFixed(1).padStart(5)}%  ${where}\n`)
}
