/**
 * `group_process`: one member of a consumer group (`EventConsumer.consume` over `RedisGroupBackend`)
 * with a no-op handler works through a backlog (200k entries in a full run), every entry decoded and
 * validated by the canonical Schema, timed until every entry was handled and acknowledged; against
 * `raw_group`: plain ioredis looping `XREADGROUP COUNT 500`, `JSON.parse` of each entry's `data` and
 * one `XACK` of the batch's ids. Both read the same stream, preloaded once, each round with a group
 * of its own made from `"0"` before the clock starts; afterwards the server is asked (`XINFO
 * GROUPS`) that the group read every entry and has nothing pending.
 */
import { EventConsumer, GroupBackend } from "@maf/events"
import { RedisGroupBackend } from "@maf/events-redis"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import { type Case, preloadedCase } from "../case.js"
import { type Rounds, type Side, secondsSince } from "../harness.js"
import { rawClient, withRawClient } from "../redis.js"

/** The raw side's `COUNT`. */
const count = 500

/**
 * The member's `concurrency`, which is also how many entries it may hold: as many as the raw loop
 * reads at a time (`docs/benchmarks.md` says why, and what other values give).
 */
const concurrency = 500

/** Fewer rounds than the other throughput cases: a round of the member is several seconds. */
const rounds = {
  quick: { warmup: 1, rounds: 5 },
  full: { warmup: 1, rounds: 7 }
} as const satisfies Record<"quick" | "full", Rounds>

let groups = 0
const freshGroup = (side: string) => `bench-${side}-${process.pid}-${++groups}`

/** `XINFO GROUPS`' fields of `group`. */
const groupInfo = async (client: Redis, key: string, group: string): Promise<Map<string, unknown>> => {
  const reply = (await client.xinfo("GROUPS", key)) as Array<Array<unknown>>
  for (const flat of reply) {
    const fields = new Map<string, unknown>()
    for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), flat[i + 1])
    if (fields.get("name") === group) return fields
  }
  throw new Error(`no group ${group} on ${key}`)
}

/** Waits until `XPENDING` says the group holds nothing. */
const untilNothingPending = async (client: Redis, key: string, group: string): Promise<void> => {
  for (;;) {
    const [pending] = (await client.xpending(key, group)) as [number, ...Array<unknown>]
    if (Number(pending) === 0) return
  }
}

/**
 * Fails the round unless the group delivered every entry of the stream (its last id, `entries-read`)
 * and holds none pending; then destroys the group.
 */
export const checkAndDestroy = (url: string, key: string, group: string, entries: number, lastId: string) =>
  withRawClient(url, async (client) => {
    try {
      const fields = await groupInfo(client, key, group)
      const read = Number(fields.get("entries-read"))
      const pending = Number(fields.get("pending"))
      const last = String(fields.get("last-delivered-id"))
      if (read !== entries || pending !== 0 || last !== lastId) {
        throw new Error(
          `${group}: ${read} entries read of ${entries}, ${pending} pending, last delivered ${last} (the stream's last ${lastId})`
        )
      }
    } finally {
      await client.xgroup("DESTROY", key, group)
    }
  })

/**
 * One member (`EventConsumer.consume` at `concurrency`, a handler that only counts) through the
 * `entries` of `key` in a group made from `"0"` before the clock starts: the seconds until every
 * entry was handled and `XPENDING` says none is pending. Fails unless each entry reached the
 * handler once, as a `KnownEvent`. Also used by `bench/probes/group-member.mjs`.
 */
export const memberThrough = (options: {
  readonly url: string
  readonly key: string
  readonly group: string
  readonly entries: number
  readonly concurrency: number
}): Promise<number> =>
  withRawClient(options.url, (watcher) => {
    const { key, group, entries } = options
    return Effect.runPromise(
      Effect.gen(function* () {
        // The group made, and the connection up, before the clock starts, as the raw side's.
        yield* Effect.orDie((yield* GroupBackend.GroupBackend).create(key, group, "0"))
        let handled = 0
        let known = 0
        const all = yield* Deferred.make<void>()
        const start = performance.now()
        const member = yield* Effect.fork(
          EventConsumer.consume({
            stream: key,
            group,
            consumer: "member",
            from: "0",
            concurrency: options.concurrency,
            handler: (message) => {
              if (message._tag === "KnownEvent") known++
              if (++handled === entries) Deferred.unsafeDone(all, Effect.void)
              return Effect.void
            }
          })
        )
        yield* Deferred.await(all)
        yield* Effect.promise(() => untilNothingPending(watcher, key, group))
        const seconds = secondsSince(start)
        yield* Fiber.interrupt(member)
        if (known !== entries || handled !== entries) {
          return yield* Effect.die(
            `${group}: ${handled} entries handled, ${known} known events, of ${entries}`
          )
        }
        return seconds
      }).pipe(
        Effect.provide(Layer.provideMerge(EventConsumer.layer, RedisGroupBackend.layer({ url: options.url })))
      )
    )
  })

const library = (url: string, key: string, entries: number, lastId: string): Side => ({
  keys: ["group_process"],
  run: async () => {
    const group = freshGroup("library")
    const seconds = await memberThrough({ url, key, group, entries, concurrency })
    await checkAndDestroy(url, key, group, entries, lastId)
    return { group_process: entries / seconds }
  }
})

type XReadGroupReply = Array<[string, Array<[string, Array<string>]>]> | null

const raw = (url: string, key: string, entries: number, lastId: string): Side => ({
  keys: ["raw_group"],
  run: async () => {
    const group = freshGroup("raw")
    const client = await rawClient(url)
    let known = 0
    let rate: number
    try {
      await client.xgroup("CREATE", key, group, "0")
      const start = performance.now()
      for (;;) {
        const reply = (await client.xreadgroup(
          "GROUP",
          group,
          "c",
          "COUNT",
          count,
          "STREAMS",
          key,
          ">"
        )) as XReadGroupReply
        const batch = reply?.[0]?.[1] ?? []
        if (batch.length === 0) break
        const ids: Array<string> = []
        for (const [id, fields] of batch) {
          const body = JSON.parse(fields[1]!)
          if (typeof body.kind === "string") known++
          ids.push(id)
        }
        await client.xack(key, group, ...ids)
      }
      rate = entries / secondsSince(start)
    } finally {
      client.disconnect()
    }
    if (known !== entries) throw new Error(`raw_group: ${known} bodies of ${entries}`)
    await checkAndDestroy(url, key, group, entries, lastId)
    return { raw_group: rate }
  }
})

export const groupProcess: Case = preloadedCase({
  name: "group",
  keys: ["group_process", "raw_group"],
  sizes: { quick: 50_000, full: 200_000 },
  rounds,
  note: `a fresh group each; the member at concurrency ${concurrency}, the raw loop COUNT ${count}`,
  sides: (ctx, { key, entries, lastId }) => [
    library(ctx.url, key, entries, lastId),
    raw(ctx.url, key, entries, lastId)
  ]
})
