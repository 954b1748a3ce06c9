/**
 * The conformance suite of the consumer-group port: the contract of a `GroupBackend` (Redis 7.0's
 * group semantics), checked operation by operation with exact ids, delivery counts and pending
 * counts. One call registers it with `@effect/vitest`; the repository runs it against the in-memory
 * backend and against a real `redis-server`, and a backend of your own passes it the same way.
 *
 * Every check is also exported as an effect ({@link Check}) failing with a
 * `Conformance.ConformanceError` that says what broke ("claim of the idle entries: got […],
 * expected […]"). The checks run on the live clock, each on fresh streams; idle times are real
 * waits of about a tenth of a second, everything else is awaited as a condition.
 *
 * The environment is the backend (its `StreamBackend` and `GroupBackend`) and {@link GroupRaw}, the
 * raw operations the checks put faults with (raw entries, deletions, trims, a group destroyed).
 *
 * @example
 * ```ts
 * import { RedisGroupBackend, RedisStreamBackend } from "@maf/events-redis"
 * import { GroupConformance } from "@maf/events-test"
 * import * as Layer from "effect/Layer"
 *
 * // Against the in-memory backend.
 * GroupConformance.conformance("memory groups", GroupConformance.layerMemory)
 * // Against a real redis-server started for the suite: the backends are built for its URL.
 * GroupConformance.conformance(
 *   "redis groups",
 *   GroupConformance.layerRedis((url) =>
 *     Layer.merge(RedisStreamBackend.layer({ url }), RedisGroupBackend.layer({ url }))
 *   )
 * )
 * ```
 *
 * @since 0.2.0
 */
import { GroupBackend, MemoryStreamBackend, type StreamBackend } from "@maf/events"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { ConformanceError } from "./Conformance.js"
import * as GroupProbe from "./internal/groupProbe.js"
import { compareIds, patience, show } from "./internal/probe.js"
import { register } from "./internal/suite.js"
import * as RedisTestServer from "./RedisTestServer.js"

// ---------------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------------

/**
 * The raw operations on a backend's streams that the checks need beside the ports: to write
 * entries of any shape, and to put faults in the way of a group (entries deleted or trimmed while
 * pending, the group destroyed, the key deleted).
 *
 * @since 0.2.0
 * @category capabilities
 */
export class GroupRaw extends Context.Tag("@maf/events-test/GroupConformance/GroupRaw")<
  GroupRaw,
  {
    /** Appends one entry with the given fields (`[name, value, …]`), as a raw `XADD`: its id. */
    readonly appendFields: (stream: string, fields: ReadonlyArray<string>) => Effect.Effect<string, unknown>
    /** Deletes entries, as `XDEL`: how many were there. */
    readonly deleteEntries: (stream: string, ids: ReadonlyArray<string>) => Effect.Effect<number, unknown>
    /** Removes the oldest entries so that `maxlen` remain, as `XTRIM … MAXLEN` (exact): how many went. */
    readonly trim: (stream: string, maxlen: number) => Effect.Effect<number, unknown>
    /** Destroys a group, as `XGROUP DESTROY`: whether it existed. */
    readonly destroyGroup: (stream: string, group: string) => Effect.Effect<boolean, unknown>
    /** Deletes the stream with its groups, as `DEL`. */
    readonly deleteStream: (stream: string) => Effect.Effect<void, unknown>
  }
>() {}

/**
 * What every check needs: the backend's two ports and {@link GroupRaw}.
 *
 * @since 0.2.0
 * @category models
 */
export type Environment = StreamBackend.StreamBackend | GroupBackend.GroupBackend | GroupRaw

/**
 * One check of the contract, as an effect: it succeeds when the backend keeps the contract and
 * fails with a `ConformanceError` saying what broke otherwise.
 *
 * @since 0.2.0
 * @category models
 */
export interface Check {
  readonly name: string
  readonly run: Effect.Effect<void, ConformanceError, Environment>
}

// ---------------------------------------------------------------------------------------------------
// internal helpers
// ---------------------------------------------------------------------------------------------------

/** Long enough an idle time to tell from a fresh one on a busy machine, short enough to wait for. */
const minIdle = 100
/** The wait that makes entries idle past {@link minIdle}. */
const idleWait = Duration.millis(minIdle + 30)

/** A check of the contract, with its probe (`internal/groupProbe.ts`) on the environment's ports. */
const makeCheck = (
  name: string,
  label: string,
  body: (probe: GroupProbe.Probe) => Effect.Effect<void, ConformanceError, Scope.Scope>
): Check => ({ name, run: Effect.flatMap(GroupRaw, (raw) => GroupProbe.run(name, label, raw, body)) })

const { countsOf, describeFailure, idsOf, withCount } = GroupProbe

// ---------------------------------------------------------------------------------------------------
// the checks
// ---------------------------------------------------------------------------------------------------

/**
 * `create` makes the group and its stream ("created"); created again (from `"0"`) it is joined
 * ("joined") and keeps its position: its last delivered id stays, nothing is delivered again.
 *
 * @since 0.2.0
 * @category checks
 */
export const createThenJoin: Check = makeCheck(
  "create makes the group and its stream; create again joins and keeps the position",
  "create",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      yield* probe.create(stream, "g", "$")
      const ids = yield* probe.append(stream, 3)
      yield* probe.sameIds("what c1 read after the create", idsOf(yield* probe.read(stream, "g", "c1")), ids)
      const again = yield* probe.call("create again from 0", probe.groups.create(stream, "g", "0"))
      yield* probe.same("create of an existing group", again, "joined")
      const info = yield* probe.info(stream, "g")
      yield* probe.same("the last delivered id after the join", info.lastDeliveredId, ids[2])
      yield* probe.same("the pending count after the join", info.pending, 3)
      yield* probe.sameIds("what c1 read after the join", idsOf(yield* probe.read(stream, "g", "c1")), [])
      const later = yield* probe.append(stream, 1)
      yield* probe.sameIds("what c1 read of a new entry", idsOf(yield* probe.read(stream, "g", "c1")), later)
    })
)

/**
 * A group starts where it was told: from `"$"` it gets only entries added after its creation, from
 * `"0"` every entry, from an id the entries after that id.
 *
 * @since 0.2.0
 * @category checks
 */
export const startPositions: Check = makeCheck(
  "a group from $ gets only new entries, from 0 all, from an id those after it",
  "start",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      const before = yield* probe.append(stream, 4)
      yield* probe.create(stream, "from-end", "$")
      yield* probe.create(stream, "from-start", "0")
      yield* probe.create(stream, "from-id", before[1]!)
      yield* probe.sameIds("the $ group's first read", idsOf(yield* probe.read(stream, "from-end", "c")), [])
      const after = yield* probe.append(stream, 1)
      yield* probe.sameIds("the $ group's read", idsOf(yield* probe.read(stream, "from-end", "c")), after)
      yield* probe.sameIds("the 0 group's read", idsOf(yield* probe.read(stream, "from-start", "c")), [
        ...before,
        ...after
      ])
      yield* probe.sameIds(`the group from ${before[1]}`, idsOf(yield* probe.read(stream, "from-id", "c")), [
        before[2]!,
        before[3]!,
        ...after
      ])
    })
)

/**
 * Two members reading concurrently (7 at a time) share the stream: no entry goes to both, together
 * they get all 300 once, each in the stream's order; the group's pending entries are theirs.
 *
 * @since 0.2.0
 * @category checks
 */
export const membersShare: Check = makeCheck(
  "two members' reads do not overlap and together see every entry once",
  "share",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      yield* probe.create(stream, "g", "0")
      const ids = [...(yield* probe.append(stream, 150)), ...(yield* probe.append(stream, 150))]
      const seen = { a: [] as Array<string>, b: [] as Array<string> }
      const member = (name: "a" | "b") =>
        Effect.gen(function* () {
          const deadline = Date.now() + Duration.toMillis(patience)
          while (seen.a.length + seen.b.length < ids.length && Date.now() < deadline) {
            const got = yield* probe.read(stream, "g", name, 7)
            seen[name].push(...idsOf(got))
            yield* Effect.yieldNow()
          }
        })
      yield* Effect.all([member("a"), member("b")], { concurrency: 2 })
      const overlap = seen.a.filter((id) => seen.b.includes(id))
      yield* probe.require(overlap.length === 0, () => `both members got ${overlap.length}: ${show(overlap)}`)
      yield* probe.require(
        seen.a.length > 0 && seen.b.length > 0,
        () => `one member got everything (a ${seen.a.length}, b ${seen.b.length})`
      )
      for (const name of ["a", "b"] as const) {
        const sorted = [...seen[name]].sort(compareIds)
        yield* probe.sameIds(`member ${name}'s entries in their order`, seen[name], sorted)
      }
      yield* probe.sameIds("the members' entries together", [...seen.a, ...seen.b].sort(compareIds), ids)
      const info = yield* probe.info(stream, "g")
      yield* probe.same("the pending count", info.pending, ids.length)
      yield* probe.same(
        "the members' pending counts",
        info.consumers.map((c) => `${c.name}:${c.pending}`).sort(),
        [`a:${seen.a.length}`, `b:${seen.b.length}`]
      )
    })
)

/**
 * Delivery counts: 1 on a read, one more on each claim and each redelivery, unchanged by a renewal.
 *
 * @since 0.2.0
 * @category checks
 */
export const deliveryCounts: Check = makeCheck(
  "delivery counts: 1 on read, +1 per claim and redelivery, a renewal keeps it",
  "counts",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      yield* probe.create(stream, "g", "0")
      const ids = yield* probe.append(stream, 1)
      yield* probe.same("the read", countsOf(yield* probe.read(stream, "g", "c1")), withCount(ids, 1))
      yield* Effect.sleep(idleWait)
      const claimed = yield* probe.call(
        "c2's claim",
        probe.groups.claim(stream, "g", "c2", { minIdleMillis: minIdle, start: "0-0", count: 10 })
      )
      yield* probe.same("c2's claim", countsOf(claimed.entries), withCount(ids, 2))
      const redelivered = yield* probe.call("c2's redelivery", probe.groups.redeliver(stream, "g", "c2", ids))
      yield* probe.same("c2's redelivery", countsOf(redelivered.entries), withCount(ids, 3))
      yield* probe.same(
        "c2's renewal",
        yield* probe.call("c2's renewal", probe.groups.renew(stream, "g", "c2", ids)),
        { renewed: ids, deleted: [] }
      )
      const after = yield* probe.call(
        "c3's claim after the renewal",
        probe.groups.claim(stream, "g", "c3", { minIdleMillis: 0, start: "0-0", count: 10 })
      )
      yield* probe.same("c3's claim after the renewal", countsOf(after.entries), withCount(ids, 4))
    })
)

/**
 * A claim takes only entries idle for at least its minimum (not those read since), and scans the
 * pending list in pages: `count` at a time, `next` where the next page starts, `"0-0"` at the end.
 *
 * @since 0.2.0
 * @category checks
 */
export const claimIdleAndPages: Check = makeCheck(
  "claim takes only entries idle past minIdle, and pages through the pending list with next",
  "claim",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      yield* probe.create(stream, "g", "0")
      const ids = yield* probe.append(stream, 5)
      yield* probe.read(stream, "g", "c1", 3)
      yield* Effect.sleep(idleWait)
      yield* probe.read(stream, "g", "c1", 2)
      const claim = (consumer: string, start: string, count: number) =>
        probe.call(
          `${consumer}'s claim from ${start}`,
          probe.groups.claim(stream, "g", consumer, { minIdleMillis: minIdle, start, count })
        )
      const idle = yield* claim("c2", "0-0", 10)
      yield* probe.same(
        "the claim of the idle entries (the fresh ones left)",
        { entries: countsOf(idle.entries), deleted: idle.deleted, next: idle.next },
        { entries: withCount(ids.slice(0, 3), 2), deleted: [], next: "0-0" }
      )
      yield* Effect.sleep(idleWait)
      const pages: Array<unknown> = []
      let start = "0-0"
      for (let page = 0; page < 3; page++) {
        const claimed = yield* claim("c3", start, 2)
        pages.push({ entries: idsOf(claimed.entries), next: claimed.next })
        start = claimed.next
      }
      yield* probe.same("the claim's pages of 2", pages, [
        { entries: ids.slice(0, 2), next: ids[2] },
        { entries: ids.slice(2, 4), next: ids[4] },
        { entries: ids.slice(4), next: "0-0" }
      ])
      const info = yield* probe.info(stream, "g")
      yield* probe.same(
        "the members' pending counts",
        info.consumers.map((c) => `${c.name}:${c.pending}`).sort(),
        ["c1:0", "c2:0", "c3:5"]
      )
    })
)

/**
 * Entries deleted (`XDEL`) or trimmed while pending come out of a claim in `deleted`, in id order,
 * and leave the pending list: the group's pending count falls, a second claim does not see them.
 *
 * @since 0.2.0
 * @category checks
 */
export const deletedWhilePending: Check = makeCheck(
  "entries deleted or trimmed while pending come out of a claim as deleted and leave the pending list",
  "deleted",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      yield* probe.create(stream, "g", "0")
      const ids = yield* probe.append(stream, 4)
      yield* probe.read(stream, "g", "c1")
      yield* probe.same("XDEL", yield* probe.call("XDEL", probe.raw.deleteEntries(stream, [ids[1]!])), 1)
      yield* probe.same("the trim", yield* probe.call("the trim", probe.raw.trim(stream, 2)), 1)
      yield* probe.same("the pending count before the claim", (yield* probe.info(stream, "g")).pending, 4)
      const claim = probe.groups.claim(stream, "g", "c2", { minIdleMillis: 0, start: "0-0", count: 10 })
      const claimed = yield* probe.call("the claim", claim)
      yield* probe.same(
        "the claim",
        { entries: countsOf(claimed.entries), deleted: claimed.deleted },
        { entries: withCount(ids.slice(2), 2), deleted: ids.slice(0, 2) }
      )
      yield* probe.same("the pending count after the claim", (yield* probe.info(stream, "g")).pending, 2)
      const again = yield* probe.call("a second claim", claim)
      yield* probe.same("a second claim's deleted ids", again.deleted, [])
    })
)

/**
 * A redelivery takes the member's own entries again (delivery count one more) and tells apart the
 * ids it no longer holds (claimed by another, acknowledged: `lost`) from those deleted from the
 * stream (`deleted`, which leave the pending list).
 *
 * @since 0.2.0
 * @category checks
 */
export const redeliverOutcomes: Check = makeCheck(
  "redeliver: own entries again, a not-owned id lost, a deleted one deleted",
  "redeliver",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      yield* probe.create(stream, "g", "0")
      const ids = yield* probe.append(stream, 4)
      const read = yield* probe.read(stream, "g", "c1")
      yield* probe.call(
        "c2's claim",
        probe.groups.claim(stream, "g", "c2", { minIdleMillis: 0, start: "0-0", count: 1 })
      )
      yield* probe.call("XDEL", probe.raw.deleteEntries(stream, [ids[2]!]))
      yield* probe.same("the ack", yield* probe.call("the ack", probe.groups.ack(stream, "g", [ids[3]!])), 1)
      const redelivered = yield* probe.call("c1's redelivery", probe.groups.redeliver(stream, "g", "c1", ids))
      yield* probe.same(
        "c1's redelivery",
        { entries: countsOf(redelivered.entries), deleted: redelivered.deleted, lost: redelivered.lost },
        { entries: withCount([ids[1]!], 2), deleted: [ids[2]], lost: [ids[0], ids[3]] }
      )
      yield* probe.same("the redelivered entry's fields", redelivered.entries[0]?.fields, read[1]?.fields)
      yield* probe.same("the pending count", (yield* probe.info(stream, "g")).pending, 2)
      const again = yield* probe.call(
        "c1's redelivery of the deleted id",
        probe.groups.redeliver(stream, "g", "c1", [ids[2]!])
      )
      yield* probe.same("a deleted id redelivered again", again.lost, [ids[2]])
    })
)

/**
 * A renewal renews the member's own entries only (never one another member claimed), keeps their
 * delivery counts, and makes them fresh: a claim with a minimum idle time no longer takes them. One
 * it held that was deleted from the stream is answered as deleted, and leaves the pending list.
 *
 * @since 0.2.0
 * @category checks
 */
export const renewOwnOnly: Check = makeCheck(
  "renew answers the member's own entries still in the stream (renewed: counts kept, made fresh) and those deleted from it",
  "renew",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      yield* probe.create(stream, "g", "0")
      const ids = yield* probe.append(stream, 2)
      yield* probe.read(stream, "g", "c1")
      yield* probe.call(
        "c2's claim",
        probe.groups.claim(stream, "g", "c2", { minIdleMillis: 0, start: "0-0", count: 1 })
      )
      const renew = (consumer: string, these: ReadonlyArray<string>) =>
        probe.call(`${consumer}'s renewal`, probe.groups.renew(stream, "g", consumer, these))
      yield* probe.same("c1's renewal of both", yield* renew("c1", ids), { renewed: [ids[1]], deleted: [] })
      yield* probe.same("c2's renewal of the one it claimed", yield* renew("c2", [ids[0]!]), {
        renewed: [ids[0]],
        deleted: []
      })
      yield* Effect.sleep(idleWait)
      yield* probe.same("c1's renewal after a wait", yield* renew("c1", [ids[1]!]), {
        renewed: [ids[1]],
        deleted: []
      })
      const claimed = yield* probe.call(
        "c3's claim of idle entries",
        probe.groups.claim(stream, "g", "c3", { minIdleMillis: minIdle, start: "0-0", count: 10 })
      )
      yield* probe.same(
        "c3's claim of idle entries (the renewed one left)",
        countsOf(claimed.entries),
        withCount([ids[0]!], 3)
      )
      const redelivered = yield* probe.call(
        "c1's redelivery",
        probe.groups.redeliver(stream, "g", "c1", [ids[1]!])
      )
      yield* probe.same(
        "c1's redelivery after renewals",
        countsOf(redelivered.entries),
        withCount([ids[1]!], 2)
      )
      // An entry deleted from the stream is held no more: Redis 7.0's XCLAIM drops it from the pending list.
      yield* probe.call("XDEL", probe.raw.deleteEntries(stream, [ids[1]!]))
      yield* probe.same("c1's renewal of a deleted entry", yield* renew("c1", [ids[1]!]), {
        renewed: [],
        deleted: [ids[1]]
      })
      yield* probe.same("c1's renewal of it again", yield* renew("c1", [ids[1]!]), {
        renewed: [],
        deleted: []
      })
      yield* probe.same("the pending count after it", (yield* probe.info(stream, "g")).pending, 1)
    })
)

/** A `data` field no codec would make: every byte class the transport must keep. */
const oddData = `héllo ✓ 𝄞 日本語 "quoted" \\ back\r\nslash\ttab\u0000nul ${"x".repeat(10_000)}`

/**
 * A dead letter adds to the dead-letter stream one entry with the original `data` field unchanged
 * (found wherever it is among the fields; an entry without one: its fields as they are), then the
 * letter's fields, and acknowledges the entry; an entry the member does not hold is `"lost"` (nothing
 * done), one deleted from the stream is `"deleted"` (acknowledged, nothing added).
 *
 * @since 0.2.0
 * @category checks
 */
export const deadLetters: Check = makeCheck(
  "deadLetter: the original data byte for byte plus the fields, acked; lost when not held; deleted when gone",
  "dead",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      const dead = `${stream}:dead`
      yield* probe.create(stream, "g", "0")
      const append = (fields: ReadonlyArray<string>) =>
        probe.call("a raw XADD", probe.raw.appendFields(stream, fields))
      const withData = yield* append(["kind", "x", "data", oddData, "extra", "y"])
      const withoutData = yield* append(["kind", "odd", "n", "1"])
      const [held, gone] = yield* probe.append(stream, 2)
      yield* probe.read(stream, "g", "c1")
      const letter = { deadStream: dead, fields: ["error", "boom", "deliveries", "3"], maxlen: 0 }
      const deadLetter = (consumer: string, id: string) =>
        probe.call(
          `${consumer}'s dead letter of ${id}`,
          probe.groups.deadLetter(stream, "g", consumer, id, letter)
        )
      yield* probe.same("the dead letter of an entry with data", yield* deadLetter("c1", withData), "moved")
      yield* probe.same(
        "the dead letter of an entry without data",
        yield* deadLetter("c1", withoutData),
        "moved"
      )
      yield* probe.same(
        "the dead letter of an entry c2 does not hold",
        yield* deadLetter("c2", held!),
        "lost"
      )
      yield* probe.call("XDEL", probe.raw.deleteEntries(stream, [gone!]))
      yield* probe.same("the dead letter of a deleted entry", yield* deadLetter("c1", gone!), "deleted")
      const letters = yield* probe.entries(dead)
      yield* probe.same(
        "the dead-letter stream's fields",
        letters.map((entry) => entry.fields),
        [
          ["data", oddData, ...letter.fields],
          ["kind", "odd", "n", "1", ...letter.fields]
        ]
      )
      yield* probe.same("the pending count", (yield* probe.info(stream, "g")).pending, 1)
      yield* probe.same(
        "an ack of the dead-lettered entries",
        yield* probe.call("the ack", probe.groups.ack(stream, "g", [withData, withoutData, gone!])),
        0
      )
      const redelivered = yield* probe.call(
        "c1's redelivery",
        probe.groups.redeliver(stream, "g", "c1", [held!])
      )
      yield* probe.same("the entry the lost dead letter left", idsOf(redelivered.entries), [held])
    })
)

/**
 * An ack answers how many of its ids were pending: not those acknowledged already, unknown ids, an
 * empty list, or a group that does not exist (0, as `XACK`).
 *
 * @since 0.2.0
 * @category checks
 */
export const ackCounts: Check = makeCheck("ack answers how many of its ids were pending", "ack", (probe) =>
  Effect.gen(function* () {
    const stream = yield* probe.fresh("events")
    yield* probe.create(stream, "g", "0")
    const ids = yield* probe.append(stream, 3)
    yield* probe.read(stream, "g", "c1")
    const ack = (group: string, these: ReadonlyArray<string>) =>
      probe.call(`an ack of ${show(these)}`, probe.groups.ack(stream, group, these))
    yield* probe.same(
      "an ack of two pending and an unknown id",
      yield* ack("g", [ids[0]!, ids[1]!, "1-1"]),
      2
    )
    yield* probe.same("an ack again", yield* ack("g", [ids[0]!]), 0)
    yield* probe.same("an ack of nothing", yield* ack("g", []), 0)
    yield* probe.same("an ack on a group that does not exist", yield* ack("none", [ids[2]!]), 0)
    yield* probe.same("the pending count", (yield* probe.info(stream, "g")).pending, 1)
  })
)

/**
 * `info`: the pending count, the last delivered id, the lag (every entry before the first read, 0
 * after all are read, the entries added since), and the members with what each holds.
 *
 * @since 0.2.0
 * @category checks
 */
export const groupInfo: Check = makeCheck(
  "info: pending, last delivered id, lag, consumers with their pending counts",
  "info",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      const ids = yield* probe.append(stream, 5)
      yield* probe.create(stream, "g", "0")
      const summary = (info: GroupBackend.GroupInfo) => ({
        name: info.name,
        pending: info.pending,
        lastDeliveredId: info.lastDeliveredId,
        lag: info.lag,
        consumers: info.consumers.map((c) => `${c.name}:${c.pending}`).sort()
      })
      yield* probe.same("info before any read", summary(yield* probe.info(stream, "g")), {
        name: "g",
        pending: 0,
        lastDeliveredId: "0-0",
        lag: 5,
        consumers: []
      })
      yield* probe.read(stream, "g", "c1", 3)
      yield* probe.read(stream, "g", "c2", 2)
      yield* probe.call("the ack", probe.groups.ack(stream, "g", [ids[0]!]))
      const read = yield* probe.info(stream, "g")
      yield* probe.same("info after reading all", summary(read), {
        name: "g",
        pending: 4,
        lastDeliveredId: ids[4],
        lag: 0,
        consumers: ["c1:2", "c2:2"]
      })
      yield* probe.require(
        read.consumers.every((c) => Number.isFinite(c.idleMillis) && c.idleMillis >= 0),
        () => `the consumers' idle times are ${show(read.consumers.map((c) => c.idleMillis))}`
      )
      yield* probe.append(stream, 2)
      yield* probe.same("the lag after 2 more entries", (yield* probe.info(stream, "g")).lag, 2)
    })
)

/**
 * `removeIdleConsumer` never removes a consumer that holds entries; it removes one that holds none
 * (`true`), which is then gone from `info`; a consumer that is not a member is not removed (`false`).
 *
 * @since 0.2.0
 * @category checks
 */
export const removeIdleConsumer: Check = makeCheck(
  "removeIdleConsumer refuses a consumer holding entries and removes one that holds none",
  "remove",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      yield* probe.create(stream, "g", "0")
      const ids = yield* probe.append(stream, 2)
      yield* probe.read(stream, "g", "holder", 1)
      // (A member is made by an entry delivered to it: Redis 7.0 makes none for a read that gets nothing.)
      yield* probe.read(stream, "g", "idle", 1)
      yield* probe.call("idle's ack", probe.groups.ack(stream, "g", [ids[1]!]))
      const remove = (consumer: string) =>
        probe.call(`the removal of ${consumer}`, probe.groups.removeIdleConsumer(stream, "g", consumer))
      const members = Effect.map(probe.info(stream, "g"), (info) => info.consumers.map((c) => c.name).sort())
      yield* probe.same("the removal of a consumer holding an entry", yield* remove("holder"), false)
      yield* probe.same("the removal of a consumer holding nothing", yield* remove("idle"), true)
      yield* probe.same("the members after the removals", yield* members, ["holder"])
      yield* probe.same("the removal of a consumer that is not a member", yield* remove("idle"), false)
      yield* probe.same("the pending count", (yield* probe.info(stream, "g")).pending, 1)
      yield* probe.call("the ack", probe.groups.ack(stream, "g", [ids[0]!]))
      yield* probe.same("the removal of the holder once it holds nothing", yield* remove("holder"), true)
      yield* probe.same("the members at the end", yield* members, [])
    })
)

/**
 * A group's members are made as Redis 7.0 makes them: a read, a claim or a redelivery that gives a
 * consumer nothing makes no member; one that gives it an entry does.
 *
 * @since 0.2.0
 * @category checks
 */
export const membersMadeByEntries: Check = makeCheck(
  "a member is made by an entry given to it: an empty read, claim or redelivery makes none",
  "members",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      yield* probe.create(stream, "g", "0")
      const members = Effect.map(probe.info(stream, "g"), (info) => info.consumers.map((c) => c.name).sort())
      yield* probe.same("an empty read's entries", yield* probe.read(stream, "g", "empty-reader"), [])
      const claimed = yield* probe.call(
        "an empty claim",
        probe.groups.claim(stream, "g", "empty-claimer", { minIdleMillis: 0, start: "0-0", count: 10 })
      )
      yield* probe.same("an empty claim's entries", claimed.entries, [])
      const again = yield* probe.call(
        "a redelivery of an id not held",
        probe.groups.redeliver(stream, "g", "empty-redeliverer", ["1-0"])
      )
      yield* probe.same("a redelivery of an id not held", again.lost, ["1-0"])
      yield* probe.same("the members after empty reads and claims", yield* members, [])
      const [id] = yield* probe.append(stream, 1)
      yield* probe.same("a read's ids", idsOf(yield* probe.read(stream, "g", "reader")), [id])
      const taken = yield* probe.call(
        "a claim of the entry",
        probe.groups.claim(stream, "g", "claimer", { minIdleMillis: 0, start: "0-0", count: 10 })
      )
      yield* probe.same("the claim's ids", idsOf(taken.entries), [id])
      yield* probe.same("the members once given entries", yield* members, ["claimer", "reader"])
    })
)

/**
 * A read that waits (`blockMillis`) answers an entry added meanwhile, and answers nothing once its
 * wait is over; a read without a wait answers at once.
 *
 * @since 0.2.0
 * @category checks
 */
export const blockingReads: Check = makeCheck(
  "a blocking read answers an entry added while it waits, and nothing after its wait",
  "block",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.fresh("events")
      yield* probe.create(stream, "g", "$")
      const cursor = yield* probe.call("opening a cursor", probe.groups.openCursor)
      const read = (blockMillis: number | undefined) =>
        probe.call("a read", cursor.read(stream, "g", "c", { count: 10, blockMillis, timeoutMillis: 10_000 }))
      const [quick, empty] = yield* Effect.timed(read(undefined))
      yield* probe.require(
        empty.length === 0 && Duration.toMillis(quick) < 2_000,
        () =>
          `a read without a wait on an empty group answered ${show(empty)} after ${Duration.format(quick)}`
      )
      const [waited, none] = yield* Effect.timed(read(50))
      yield* probe.require(
        none.length === 0 && Duration.toMillis(waited) >= 40 && Duration.toMillis(waited) < 2_000,
        () => `a read waiting 50 ms answered ${show(none)} after ${Duration.format(waited)}`
      )
      const waiting = yield* Effect.fork(read(5_000))
      const ids = yield* probe.append(stream, 1)
      const answered = yield* Fiber.join(waiting)
      yield* probe.same("the waiting read", countsOf(answered), withCount(ids, 1))
    })
)

const missingGroupCase = (probe: GroupProbe.Probe, how: "destroyed" | "deleted") =>
  Effect.gen(function* () {
    const stream = yield* probe.fresh(how)
    yield* probe.create(stream, "g", "0")
    const ids = yield* probe.append(stream, 2)
    yield* probe.read(stream, "g", "c1")
    const cursor = yield* probe.call("opening a cursor", probe.groups.openCursor)
    const waiting = yield* Effect.fork(
      Effect.timed(
        Effect.either(
          cursor.read(stream, "g", "waiter", { count: 10, blockMillis: 10_000, timeoutMillis: 15_000 })
        )
      )
    )
    // Whether the read is waiting yet or not, it must end with MissingGroup.
    yield* Effect.sleep(Duration.millis(50))
    if (how === "destroyed") {
      yield* probe.same(
        "XGROUP DESTROY",
        yield* probe.call("XGROUP DESTROY", probe.raw.destroyGroup(stream, "g")),
        true
      )
    } else {
      yield* probe.call("DEL", probe.raw.deleteStream(stream))
    }
    const [took, woke] = yield* Fiber.join(waiting)
    yield* probe.require(
      woke._tag === "Left" &&
        woke.left instanceof GroupBackend.MissingGroup &&
        Duration.toMillis(took) < 5_000,
      () =>
        `a read waiting while the group was ${how} answered ${
          woke._tag === "Left" ? describeFailure(woke.left) : show(woke.right)
        } after ${Duration.format(took)}, not MissingGroup at once`
    )
    const g = probe.groups
    const id = ids[0]!
    const letter = { deadStream: `${stream}:dead`, fields: ["error", "x"], maxlen: 0 }
    yield* probe.missing(
      "a read",
      cursor.read(stream, "g", "c1", { count: 10, blockMillis: undefined, timeoutMillis: 10_000 })
    )
    yield* probe.missing("a claim", g.claim(stream, "g", "c1", { minIdleMillis: 0, start: "0-0", count: 10 }))
    yield* probe.missing("a renewal", g.renew(stream, "g", "c1", [id]))
    yield* probe.missing("a renewal of nothing", g.renew(stream, "g", "c1", []))
    yield* probe.missing("a redelivery", g.redeliver(stream, "g", "c1", [id]))
    yield* probe.missing("a redelivery of nothing", g.redeliver(stream, "g", "c1", []))
    yield* probe.missing("a dead letter", g.deadLetter(stream, "g", "c1", id, letter))
    yield* probe.missing("info", g.info(stream, "g"))
    yield* probe.missing("the removal of a consumer", g.removeIdleConsumer(stream, "g", "c1"))
    yield* probe.same("an ack", yield* probe.call("an ack", g.ack(stream, "g", ids)), 0)
    yield* probe.create(stream, "g", "0")
  })

/**
 * Every operation on a group destroyed (`XGROUP DESTROY`) or whose stream was deleted (`DEL`) fails
 * with `MissingGroup` — a read waiting at that moment too, at once — except `ack`, which answers 0;
 * `create` makes the group again.
 *
 * @since 0.2.0
 * @category checks
 */
export const missingGroup: Check = makeCheck(
  "every operation on a destroyed group or a deleted key fails with MissingGroup, ack answers 0",
  "missing",
  (probe) => Effect.zipRight(missingGroupCase(probe, "destroyed"), missingGroupCase(probe, "deleted"))
)

/**
 * Every check, in the order the suite runs them.
 *
 * @since 0.2.0
 * @category checks
 */
export const checks: ReadonlyArray<Check> = [
  createThenJoin,
  startPositions,
  membersShare,
  deliveryCounts,
  claimIdleAndPages,
  deletedWhilePending,
  redeliverOutcomes,
  renewOwnOnly,
  deadLetters,
  ackCounts,
  groupInfo,
  removeIdleConsumer,
  membersMadeByEntries,
  blockingReads,
  missingGroup
]

// ---------------------------------------------------------------------------------------------------
// the suite
// ---------------------------------------------------------------------------------------------------

/**
 * Options of {@link conformance}.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The bound on each check. Default 60 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Registers the suite with `@effect/vitest`: a `describe` block named `name` whose environment is
 * built once from `environment` (on the live clock) and shared by the checks, one `it` per check.
 *
 * @since 0.2.0
 * @category suite
 * @example
 * ```ts
 * import type { GroupBackend, StreamBackend } from "@maf/events"
 * import { GroupConformance } from "@maf/events-test"
 * import * as Layer from "effect/Layer"
 *
 * // A backend of your own: its two ports, and the raw operations on its streams.
 * declare const MyBackend: Layer.Layer<StreamBackend.StreamBackend | GroupBackend.GroupBackend>
 * declare const MyRaw: Layer.Layer<GroupConformance.GroupRaw>
 *
 * GroupConformance.conformance("my backend's groups", Layer.merge(MyBackend, MyRaw))
 * ```
 */
export const conformance = <E>(
  name: string,
  environment: Layer.Layer<Environment, E>,
  options: Options = {}
): void => {
  register("GroupConformance.conformance", name, environment, checks, {
    timeoutMillis: Duration.toMillis(options.timeout ?? Duration.seconds(60))
  })
}

// ---------------------------------------------------------------------------------------------------
// environments
// ---------------------------------------------------------------------------------------------------

/**
 * The raw operations of the in-memory backend (`appendFields`, `deleteEntries`, `trim`,
 * `destroyGroup`, `deleteStream`).
 *
 * @since 0.2.0
 * @category layers
 */
export const rawOfMemory: Layer.Layer<GroupRaw, never, MemoryStreamBackend.MemoryStreamBackend> =
  Layer.effect(
    GroupRaw,
    Effect.map(MemoryStreamBackend.MemoryStreamBackend, (memory) => ({
      appendFields: (stream, fields) => Effect.map(memory.appendFields(stream, [fields]), (ids) => ids[0]!),
      deleteEntries: memory.deleteEntries,
      trim: memory.trim,
      destroyGroup: memory.destroyGroup,
      deleteStream: memory.deleteStream
    }))
  )

/**
 * The raw operations as commands (`XADD`, `XDEL`, `XTRIM`, `XGROUP DESTROY`, `DEL`) on the
 * {@link RedisTestServer.RedisTestServer} of the environment.
 *
 * @since 0.2.0
 * @category layers
 */
export const rawOfTestServer: Layer.Layer<GroupRaw, never, RedisTestServer.RedisTestServer> = Layer.effect(
  GroupRaw,
  Effect.map(RedisTestServer.RedisTestServer, (server) => ({
    appendFields: (stream, fields) => Effect.map(server.command("XADD", stream, "*", ...fields), String),
    deleteEntries: (stream, ids) => Effect.map(server.command("XDEL", stream, ...ids), Number),
    trim: (stream, maxlen) => Effect.map(server.command("XTRIM", stream, "MAXLEN", maxlen), Number),
    destroyGroup: (stream, group) =>
      Effect.map(server.command("XGROUP", "DESTROY", stream, group), (reply) => Number(reply) === 1),
    deleteStream: (stream) => Effect.asVoid(server.command("DEL", stream))
  }))
)

/**
 * The suite's environment on a fresh in-memory backend.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Environment | MemoryStreamBackend.MemoryStreamBackend> =
  rawOfMemory.pipe(Layer.provideMerge(MemoryStreamBackend.layer))

/**
 * The suite's environment on a real `redis-server` started for it (and stopped with the layer): the
 * ports that `backend` builds for the server's URL, the raw operations on that server, and the
 * server itself.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerRedis = <E = never>(
  backend: (url: string) => Layer.Layer<StreamBackend.StreamBackend | GroupBackend.GroupBackend, E>,
  options: { readonly server?: RedisTestServer.Options | undefined } = {}
): Layer.Layer<Environment | RedisTestServer.RedisTestServer, RedisTestServer.RedisTestServerError | E> =>
  Layer.merge(
    Layer.unwrapEffect(Effect.map(RedisTestServer.RedisTestServer, (server) => backend(server.url))),
    rawOfTestServer
  ).pipe(Layer.provideMerge(RedisTestServer.layer(options.server)))
