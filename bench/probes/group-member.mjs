#!/usr/bin/env node
// How one consumer-group member spends a backlog: events/s and the commands it sent (INFO
// commandstats: XREADGROUP calls and entries a read, XACK calls), by `concurrency`. A probe for
// docs/benchmarks.md (group_process), not a bench case. Run after `pnpm build`:
//
//   REDIS_URL=redis://127.0.0.1:6379/0 node bench/probes/group-member.mjs [entries] [concurrency…]
import { EventConsumer, GroupBackend } from "@maf/events"
import { RedisGroupBackend } from "@maf/events-redis"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"
import { rawBody } from "../dist/body.js"
import { preload } from "../dist/redis.js"

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0"
const [entriesText, ...levels] = process.argv.slice(2)
const entries = Number(entriesText ?? 50_000)
const key = `probe:group:${process.pid}`
const admin = new Redis(url)

const stats = async () => {
  const text = await admin.info("commandstats")
  const calls = (name) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(text)?.[1] ?? 0)
  return { xreadgroup: calls("xreadgroup"), xack: calls("xack"), evalsha: calls("evalsha") }
}

const run = (concurrency) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const group = `g-${concurrency}-${Date.now()}`
      yield* Effect.orDie((yield* GroupBackend.GroupBackend).create(key, group, "0"))
      yield* Effect.promise(() => admin.config("RESETSTAT"))
      let handled = 0
      const all = yield* Deferred.make()
      const start = performance.now()
      const cpu = process.cpuUsage()
      const member = yield* Effect.fork(
        EventConsumer.consume({
          stream: key,
          group,
          consumer: "member",
          from: "0",
          concurrency,
          handler: () => {
            if (++handled === entries) Deferred.unsafeDone(all, Effect.void)
            return Effect.void
          }
        })
      )
      yield* Deferred.await(all)
      for (;;) {
        const [pending] = yield* Effect.promise(() => admin.xpending(key, group))
        if (Number(pending) === 0) break
      }
      const seconds = (performance.now() - start) / 1000
      const used = process.cpuUsage(cpu)
      yield* Fiber.interrupt(member)
      const s = yield* Effect.promise(stats)
      yield* Effect.promise(() => admin.xgroup("DESTROY", key, group))
      return `concurrency ${concurrency}: ${Math.round(entries / seconds)} events/s, ${s.xreadgroup} reads (${(entries / s.xreadgroup).toFixed(1)} entries a read), ${s.xack - 1} acks (${(entries / (s.xack - 1)).toFixed(1)} ids an ack), ${s.evalsha} scripts; CPU ${((used.user + used.system) / entries).toFixed(1)} µs an entry`
    }).pipe(Effect.provide(Layer.provideMerge(EventConsumer.layer, RedisGroupBackend.layer({ url }))))
  )

await preload(url, key, entries, rawBody)
try {
  for (const level of levels.length === 0 ? ["1", "10", "100", "500"] : levels) {
    console.log(await run(Number(level)))
  }
} finally {
  await admin.del(key)
  admin.disconnect()
}
