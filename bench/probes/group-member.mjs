#!/usr/bin/env node
// How one consumer-group member spends a backlog, by `concurrency`: events/s, the commands it sent
// (INFO commandstats: XREADGROUP calls and entries a read, XACK calls and ids an ack) and the
// process CPU an entry. The member is the bench's own (`memberThrough` of the group case). A probe
// for docs/benchmarks.md (`group_process`), not a bench case. Run after `pnpm build`:
//
//   REDIS_URL=redis://127.0.0.1:6379/0 node bench/probes/group-member.mjs [entries] [concurrency…]
import { Redis } from "ioredis"
import { rawBody } from "../dist/body.js"
import { checkAndDestroy, memberThrough } from "../dist/cases/groupProcess.js"
import { preload } from "../dist/redis.js"

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0"
const [entriesText, ...levels] = process.argv.slice(2)
const entries = Number(entriesText ?? 20_000)
const key = `probe:group:${process.pid}`
const admin = new Redis(url)

const calls = async () => {
  const text = await admin.info("commandstats")
  const of = (name) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(text)?.[1] ?? 0)
  return { xreadgroup: of("xreadgroup"), xack: of("xack") }
}

const run = async (concurrency) => {
  const group = `probe-${concurrency}-${Date.now()}`
  await admin.config("RESETSTAT")
  const cpu = process.cpuUsage()
  const seconds = await memberThrough({ url, key, group, entries, concurrency })
  const used = process.cpuUsage(cpu)
  const { xreadgroup, xack } = await calls()
  await checkAndDestroy(url, key, group, entries, lastId)
  const reads = xreadgroup - 1 // the member's last read, answered empty or blocked, counts too
  return [
    `concurrency ${concurrency}: ${Math.round(entries / seconds)} events/s`,
    `${xreadgroup} reads (${(entries / reads).toFixed(1)} entries a read)`,
    `${xack} acks (${(entries / xack).toFixed(1)} ids an ack)`,
    `CPU ${((used.user + used.system) / entries).toFixed(1)} µs an entry`
  ].join(", ")
}

const lastId = await preload(url, key, entries, rawBody)
try {
  for (const level of levels.length === 0 ? ["1", "10", "100", "500", "1000"] : levels) {
    console.log(await run(Number(level)))
  }
} finally {
  await admin.del(key)
  admin.disconnect()
}
