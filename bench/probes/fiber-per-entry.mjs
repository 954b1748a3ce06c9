#!/usr/bin/env node
// What it costs, an entry, to run a no-op handler (`Effect.void`) on 50,000 entries with up to
// `concurrency` at once, three ways: a fiber forked for each entry in a scope (as the consumer-group
// member does), a pool of `concurrency` fibers taking entries from a `Queue`, and every entry in one
// fiber. Process CPU and wall time an entry, three rounds each. A probe for docs/benchmarks.md
// (`group_process`), not a bench case:
//
//   node bench/probes/fiber-per-entry.mjs [concurrency, default 500]
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"

const entries = 50_000
const concurrency = Number(process.argv[2] ?? 500)
const handler = () => Effect.void

/** Counts an entry done; completes `all` at the last. */
const counter = (all) => {
  let done = 0
  return Effect.sync(() => {
    if (++done === entries) Deferred.unsafeDone(all, Effect.void)
  })
}

const forkPerEntry = Effect.gen(function* () {
  const scope = yield* Scope.make()
  const all = yield* Deferred.make()
  const count = counter(all)
  for (let i = 0; i < entries; i += concurrency) {
    for (let j = 0; j < concurrency; j++) {
      yield* Effect.forkIn(Effect.ensuring(Effect.exit(handler()), count), scope)
    }
    yield* Effect.yieldNow()
  }
  yield* Deferred.await(all)
})

const pool = Effect.gen(function* () {
  const queue = yield* Queue.unbounded()
  const all = yield* Deferred.make()
  const count = counter(all)
  const worker = Effect.forever(
    Effect.flatMap(Queue.take(queue), (entry) => Effect.zipRight(Effect.exit(handler(entry)), count))
  )
  const fibers = []
  for (let i = 0; i < concurrency; i++) fibers.push(yield* Effect.fork(worker))
  for (let i = 0; i < entries; i += concurrency) {
    yield* Queue.offerAll(
      queue,
      Array.from({ length: concurrency }, (_, j) => i + j)
    )
    yield* Effect.yieldNow()
  }
  yield* Deferred.await(all)
  yield* Fiber.interruptAll(fibers)
})

const oneFiber = Effect.gen(function* () {
  for (let i = 0; i < entries; i++) yield* Effect.exit(handler(i))
})

const ways = [
  ["a fiber an entry", forkPerEntry],
  [`a pool of ${concurrency} on a Queue`, pool],
  ["one fiber", oneFiber]
]
for (let round = 0; round < 3; round++) {
  for (const [name, effect] of ways) {
    const cpu = process.cpuUsage()
    const start = performance.now()
    await Effect.runPromise(effect)
    const used = process.cpuUsage(cpu)
    const wall = ((performance.now() - start) * 1000) / entries
    console.log(
      `${name.padEnd(24)} ${((used.user + used.system) / entries).toFixed(2)} µs CPU, ${wall.toFixed(2)} µs wall an entry`
    )
  }
}
