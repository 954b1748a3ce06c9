/**
 * The consumer groups of the in-memory backend, with Redis 7.0's semantics: a pending entries list
 * (PEL) per group in id order, delivery counts and delivery times (idle = now − delivery time, on the
 * `Clock`, so `TestClock` drives it), consumers created by their first read or claim, `XAUTOCLAIM`
 * that removes entries deleted from the stream and reports their ids, `XCLAIM` of deleted entries
 * dropping them, `NOGROUP` for a group or stream that does not exist, and `XINFO`'s lag.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as GroupBackend from "../GroupBackend.js"
import { MissingGroup } from "../GroupBackend.js"
import { compareEntryIds, type EntryId, parseEntryId, StreamBackendError } from "../StreamBackend.js"
import type { MemoryStream } from "./memoryStream.js"

/** An entry delivered and not acknowledged. */
interface Pending extends EntryId {
  readonly id: string
  consumer: string
  deliveredAt: number
  deliveryCount: number
}

/** One consumer group of a stream. */
export class MemoryGroup {
  /** In id order (entries are added by reads of new entries, which come in id order). */
  readonly pel = new Map<string, Pending>()
  /** Each consumer's last read or claim. */
  readonly consumers = new Map<string, number>()
  constructor(
    public lastDelivered: EntryId,
    /** Entries delivered through `lastDelivered`, where known (Redis' `entries-read`). */
    public entriesRead: number | undefined
  ) {}
}

const idText = (id: EntryId): string => `${id.ms}-${id.seq}`

const invalidId = (id: string) =>
  new StreamBackendError({
    reason: "Rejected",
    message: `Invalid stream ID specified as stream command argument: ${id}`
  })

/** The groups of the streams that `streamOf` gives (made on demand) and `existing` finds. */
export const make = (
  streamOf: (name: string) => MemoryStream,
  existing: (name: string) => MemoryStream | undefined
): GroupBackend.GroupBackendService => {
  const missing = (stream: string, group: string, command: string) =>
    new MissingGroup({
      stream,
      group,
      message: `NOGROUP No such key '${stream}' or consumer group '${group}' in ${command}`
    })

  /** The stream and group, or `MissingGroup`; `f` runs at the clock's time. */
  const withGroup = <A>(
    stream: string,
    group: string,
    command: string,
    f: (s: MemoryStream, g: MemoryGroup, now: number) => A
  ): Effect.Effect<A, MissingGroup> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const s = existing(stream)
      const g = s?.groups.get(group)
      return s === undefined || g === undefined
        ? Effect.fail(missing(stream, group, command))
        : Effect.succeed(f(s, g, now))
    })

  /**
   * As Redis 7.0: a consumer that exists is seen at every read or claim; one that does not is made
   * only when it is given entries (an empty read or claim makes none).
   */
  const seen = (g: MemoryGroup, consumer: string, now: number, given: number): void => {
    if (given > 0 || g.consumers.has(consumer)) g.consumers.set(consumer, now)
  }

  const create: GroupBackend.GroupBackendService["create"] = (stream, group, start) =>
    Effect.suspend(() => {
      const s = streamOf(stream)
      if (s.groups.has(group)) return Effect.succeed("joined" as const)
      if (start === "$") {
        s.groups.set(group, new MemoryGroup(s.last, s.entriesAdded))
      } else {
        const id = start === "0" ? { ms: 0, seq: 0 } : parseEntryId(start)
        if (id === undefined) return Effect.fail(invalidId(start))
        const read =
          id.ms === 0 && id.seq === 0 ? 0 : compareEntryIds(id, s.last) >= 0 ? s.entriesAdded : undefined
        s.groups.set(group, new MemoryGroup(id, read))
      }
      return Effect.succeed("created" as const)
    })

  /** New entries for `consumer`, now (no waiting). */
  const takeNew = (s: MemoryStream, g: MemoryGroup, consumer: string, count: number, now: number) => {
    const entries = s.after(g.lastDelivered, count)
    seen(g, consumer, now, entries.length)
    for (const entry of entries) {
      const id = parseEntryId(entry.id)!
      g.pel.set(entry.id, {
        id: entry.id,
        ms: id.ms,
        seq: id.seq,
        consumer,
        deliveredAt: now,
        deliveryCount: 1
      })
      g.lastDelivered = id
    }
    if (g.entriesRead !== undefined) g.entriesRead += entries.length
    if (entries.length > 0 && compareEntryIds(g.lastDelivered, s.last) === 0) g.entriesRead = s.entriesAdded
    return entries.map((entry) => ({ id: entry.id, fields: entry.fields, deliveryCount: 1 }))
  }

  const read: GroupBackend.GroupCursor["read"] = (stream, group, consumer, options) => {
    const attempt = withGroup(stream, group, "XREADGROUP with GROUP option", (s, g, now) => ({
      entries: takeNew(s, g, consumer, options.count, now),
      changed: s.changed
    }))
    return Effect.flatMap(attempt, ({ entries, changed }) => {
      if (entries.length > 0 || options.blockMillis === undefined) return Effect.succeed(entries)
      const wait = Deferred.await(changed)
      const bounded = options.blockMillis === 0 ? wait : Effect.timeoutOption(wait, options.blockMillis)
      // After the wait the group is looked up again: it may have been destroyed meanwhile (NOGROUP).
      return Effect.zipRight(
        bounded,
        withGroup(stream, group, "XREADGROUP with GROUP option", (s, g, now) =>
          takeNew(s, g, consumer, options.count, now)
        )
      )
    })
  }

  const ack: GroupBackend.GroupBackendService["ack"] = (stream, group, ids) =>
    Effect.sync(() => {
      const g = existing(stream)?.groups.get(group)
      if (g === undefined) return 0
      let acked = 0
      for (const id of ids) if (g.pel.delete(id)) acked++
      return acked
    })

  const claim: GroupBackend.GroupBackendService["claim"] = (stream, group, consumer, options) =>
    Effect.suspend((): Effect.Effect<GroupBackend.Claimed, GroupBackend.GroupBackendError> => {
      const start = parseEntryId(options.start)
      if (start === undefined) return Effect.fail(invalidId(options.start))
      return withGroup(stream, group, "XAUTOCLAIM", (s, g, now) => {
        const entries: Array<GroupBackend.GroupEntry> = []
        const deleted: Array<string> = []
        // As Redis: at most count × 10 pending entries looked at in one call.
        let attempts = options.count * 10
        let next = "0-0"
        for (const pending of g.pel.values()) {
          if (compareEntryIds(pending, start) < 0) continue
          if (entries.length + deleted.length >= options.count || attempts-- <= 0) {
            next = pending.id
            break
          }
          if (now - pending.deliveredAt < options.minIdleMillis) continue
          const entry = s.get(pending)
          if (entry === undefined) {
            g.pel.delete(pending.id)
            deleted.push(pending.id)
            continue
          }
          pending.consumer = consumer
          pending.deliveredAt = now
          pending.deliveryCount++
          entries.push({ id: entry.id, fields: entry.fields, deliveryCount: pending.deliveryCount })
        }
        seen(g, consumer, now, entries.length)
        return { entries, deleted, next }
      })
    })

  const renew: GroupBackend.GroupBackendService["renew"] = (stream, group, consumer, ids) =>
    withGroup(stream, group, "XCLAIM", (s, g, now) => {
      const renewed: Array<string> = []
      const deleted: Array<string> = []
      for (const id of ids) {
        const pending = g.pel.get(id)
        if (pending === undefined || pending.consumer !== consumer) continue
        // As Redis 7.0's XCLAIM … JUSTID: an entry deleted from the stream leaves the pending list.
        if (s.get(pending) === undefined) {
          g.pel.delete(id)
          deleted.push(id)
          continue
        }
        pending.deliveredAt = now
        renewed.push(id)
      }
      return { renewed, deleted }
    })

  const redeliver: GroupBackend.GroupBackendService["redeliver"] = (stream, group, consumer, ids) =>
    withGroup(stream, group, "XCLAIM", (s, g, now) => {
      const entries: Array<GroupBackend.GroupEntry> = []
      const deleted: Array<string> = []
      const lost: Array<string> = []
      for (const id of ids) {
        const pending = g.pel.get(id)
        if (pending === undefined || pending.consumer !== consumer) {
          lost.push(id)
          continue
        }
        const entry = s.get(pending)
        if (entry === undefined) {
          g.pel.delete(id)
          deleted.push(id)
          continue
        }
        pending.deliveredAt = now
        pending.deliveryCount++
        entries.push({ id, fields: entry.fields, deliveryCount: pending.deliveryCount })
      }
      seen(g, consumer, now, entries.length)
      return { entries, deleted, lost }
    })

  const deadLetter: GroupBackend.GroupBackendService["deadLetter"] = (stream, group, consumer, id, letter) =>
    withGroup(stream, group, "XCLAIM", (s, g, now): GroupBackend.DeadLetterOutcome => {
      const pending = g.pel.get(id)
      if (pending === undefined || pending.consumer !== consumer) return "lost"
      g.pel.delete(id)
      const entry = s.get(pending)
      if (entry === undefined) return "deleted"
      const dataAt = entry.fields.findIndex((field, i) => i % 2 === 0 && field === "data")
      const original = dataAt === -1 ? entry.fields : ["data", entry.fields[dataAt + 1]!]
      const dead = streamOf(letter.deadStream)
      dead.add(now, [...original, ...letter.fields])
      dead.trimApproximately(letter.maxlen)
      dead.notify()
      return "moved"
    })

  const info: GroupBackend.GroupBackendService["info"] = (stream, group) =>
    withGroup(stream, group, "XINFO", (s, g, now): GroupBackend.GroupInfo => {
      const held = new Map<string, number>()
      for (const pending of g.pel.values()) held.set(pending.consumer, (held.get(pending.consumer) ?? 0) + 1)
      // As Redis 7.0: the lag is known while no entry after the group's position was deleted.
      const lag =
        g.entriesRead !== undefined && compareEntryIds(s.maxDeleted, g.lastDelivered) <= 0
          ? s.entriesAdded - g.entriesRead
          : undefined
      return {
        name: group,
        pending: g.pel.size,
        lastDeliveredId: idText(g.lastDelivered),
        lag,
        consumers: [...g.consumers].map(([name, at]) => ({
          name,
          pending: held.get(name) ?? 0,
          idleMillis: now - at
        }))
      }
    })

  const removeIdleConsumer: GroupBackend.GroupBackendService["removeIdleConsumer"] = (
    stream,
    group,
    consumer
  ) =>
    withGroup(stream, group, "XGROUP DELCONSUMER", (_s, g) => {
      if (!g.consumers.has(consumer)) return false
      for (const pending of g.pel.values()) if (pending.consumer === consumer) return false
      g.consumers.delete(consumer)
      return true
    })

  return {
    create,
    openCursor: Effect.succeed({ read }),
    ack,
    claim,
    renew,
    redeliver,
    deadLetter,
    info,
    removeIdleConsumer
  }
}
