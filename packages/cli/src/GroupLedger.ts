/**
 * What `consume` keeps of the entries its member takes, as a thin layer over the group port: the
 * `data` text of each entry delivered (for the JSON line, as `tail` keeps it), and, for `--limit`,
 * which entries are taken, settled (acknowledged, or moved to the dead letters) or let go (claimed
 * by another member, deleted from the stream). What the server confirmed is what counts: an entry is
 * settled when its `XACK` or its dead letter succeeded, not when its handler returned.
 *
 * With a limit, the member takes no more entries than the limit leaves room for (reads and claims
 * are cut to it; with no room, a read waits its block time and finds nothing), so that no entry is
 * taken and then left pending at the end: `--limit N` settles N entries, whatever the concurrency.
 *
 * @since 0.2.0
 */
import type { GroupBackend } from "@maf/events"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Feed from "./Feed.js"

/**
 * A ledger over a group port.
 *
 * @since 0.2.0
 * @category models
 */
export interface GroupLedger {
  /** The port as the member sees it: each answer recorded here. */
  readonly groups: GroupBackend.GroupBackendService
  /** The `data` text of an entry delivered and not yet settled (`undefined`: none, or not known). */
  readonly dataOf: (id: string) => string | undefined
  /** Whether another member took the entry over while this one held it (answered once). */
  readonly takenOver: (id: string) => boolean
  /** How many entries were settled (acknowledged or dead-lettered) so far. */
  readonly settled: () => number
  /** Done when the limit's count of entries is settled (never, without a limit). */
  readonly done: Deferred.Deferred<void>
}

/**
 * A ledger over `groups`; `limit` (`undefined`: none) is how many entries to settle.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  groups: GroupBackend.GroupBackendService,
  limit: number | undefined
): Effect.Effect<GroupLedger> =>
  Effect.map(Deferred.make<void>(), (done) => {
    /** Taken, not settled nor let go: its `data` text. */
    const open = new Map<string, string | undefined>()
    /** Taken over by another member (a renewal did not keep them), until asked. */
    const lost = new Set<string>()
    let settled = 0
    const room = () => (limit === undefined ? Number.POSITIVE_INFINITY : limit - settled - open.size)
    const checkDone = Effect.suspend(() =>
      limit !== undefined && settled >= limit ? Deferred.succeed(done, undefined) : Effect.void
    )
    const take = (entries: ReadonlyArray<GroupBackend.GroupEntry>) => {
      for (const entry of entries) open.set(entry.id, Feed.dataOf(entry.fields))
    }
    const letGo = (ids: Iterable<string>) => {
      for (const id of ids) open.delete(id)
    }
    const settle = (ids: ReadonlyArray<string>) =>
      Effect.suspend(() => {
        for (const id of ids) if (open.delete(id)) settled++
        return checkDone
      })

    const ledger: GroupBackend.GroupBackendService = {
      ...groups,
      create: (stream, group, start) => Effect.tap(groups.create(stream, group, start), () => checkDone),
      openCursor: Effect.map(groups.openCursor, (cursor) => ({
        read: (stream, group, consumer, options) =>
          Effect.suspend(() => {
            const count = Math.min(options.count, room())
            if (count <= 0) {
              // Nothing more to take: as a read that found nothing in its block time.
              return Effect.as(Effect.sleep(Duration.millis(options.blockMillis ?? 0)), [])
            }
            return Effect.tap(cursor.read(stream, group, consumer, { ...options, count }), take)
          })
      })),
      claim: (stream, group, consumer, options) =>
        Effect.suspend(() => {
          const count = Math.min(options.count, room())
          if (count <= 0) return Effect.succeed({ entries: [], deleted: [], next: "0-0" })
          return Effect.tap(groups.claim(stream, group, consumer, { ...options, count }), (claimed) =>
            take(claimed.entries)
          )
        }),
      redeliver: (stream, group, consumer, ids) =>
        Effect.tap(groups.redeliver(stream, group, consumer, ids), (again) => {
          take(again.entries)
          letGo(again.deleted)
          letGo(again.lost)
        }),
      renew: (stream, group, consumer, ids) =>
        Effect.tap(groups.renew(stream, group, consumer, ids), ({ renewed }) => {
          const still = new Set(renewed)
          const gone = ids.filter((id) => !still.has(id))
          letGo(gone)
          for (const id of gone) lost.add(id)
        }),
      ack: (stream, group, ids) => Effect.tap(groups.ack(stream, group, ids), () => settle(ids)),
      deadLetter: (stream, group, consumer, id, letter) =>
        Effect.tap(groups.deadLetter(stream, group, consumer, id, letter), (outcome) => {
          if (outcome === "moved") return settle([id])
          letGo([id])
          return Effect.void
        })
    }
    return {
      groups: ledger,
      dataOf: (id) => open.get(id),
      takenOver: (id) => lost.delete(id),
      settled: () => settled,
      done
    }
  })
