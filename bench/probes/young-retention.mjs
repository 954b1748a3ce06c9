#!/usr/bin/env node
import v8 from "node:v8"
// What V8's young-generation collector (the scavenger) keeps alive that is garbage, in a few lines
// without the library: the mechanisms behind the promotion described in docs/benchmarks.md ("What
// remains"). Each mode does 40 rounds of 8 concurrent tasks, each task building about 215 KB of
// strings (500 bodies of 430 bytes) that nothing needs once the task is done. Every fourth round it
// asks for two young collections in a row and prints what the second promoted to the old
// generation: what the scavenger still took for live although the program holds none of it. A full
// GC frees all of it (`gc()`).
//
//   node --expose-gc bench/probes/young-retention.mjs <mode>
//
// modes:
//   set        a task's object is added to a long-lived `Set` and deleted when done (as Effect keeps
//              root fibers in `globalScope.roots`): about 5.6 of 9 MB kept
//   plain      the same without the `Set`: nothing kept
//   fiber      `Effect.runFork` of an effect that suspends once (`Effect.yieldNow`) and then builds
//              the strings as its result: about 5.7 of 9 MB kept (with `Effect.async` or
//              `Effect.promise` instead, measured in a longer script: all of it)
//   fiber-sync the same effect without the suspension: nothing kept
import * as Effect from "effect/Effect"

const mode = process.argv[2]
if (!["set", "plain", "fiber", "fiber-sync"].includes(mode) || typeof globalThis.gc !== "function") {
  process.stderr.write(
    "usage: node --expose-gc bench/probes/young-retention.mjs set|plain|fiber|fiber-sync\n"
  )
  process.exit(2)
}
const oldSpace = () =>
  v8.getHeapSpaceStatistics().find((space) => space.space_name === "old_space").space_used_size
const pad = "x".repeat(380)
const bodies = (round) => Array.from({ length: 500 }, (_, j) => JSON.stringify({ round, j, pad }))
const roots = new Set()
const task = (round) => {
  if (mode === "set" || mode === "plain") {
    const holder = { data: null }
    if (mode === "set") roots.add(holder)
    return new Promise((resolve) => setImmediate(resolve)).then(() => {
      holder.data = bodies(round)
      roots.delete(holder)
    })
  }
  const effect =
    mode === "fiber" ? Effect.map(Effect.yieldNow(), () => bodies(round)) : Effect.sync(() => bodies(round))
  return new Promise((resolve) => Effect.runFork(effect).addObserver(() => resolve()))
}
const kept = []
for (let round = 0; round < 40; round++) {
  await Promise.all(Array.from({ length: 8 }, () => task(round)))
  if (round % 4 === 0 && round > 8) {
    globalThis.gc({ type: "minor" })
    const before = oldSpace()
    globalThis.gc({ type: "minor" })
    kept.push(Math.round((oldSpace() - before) / 1024))
  }
}
process.stdout.write(
  `${mode}: promoted by a second young collection after 4 rounds (about 9 MB built): ${kept.join(", ")} KB\n`
)
