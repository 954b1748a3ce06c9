/**
 * What `consume` keeps of the entries its member takes, as a thin layer over the group port: the
 * `data` text of each entry delivered (for the JSON line, as `tail` keeps it), and, for `--limit`,
 * which entries are taken, settled (acknowledged, or moved to the dead letters) or let go (claimed
 * by another member, deleted from the stream). What the server confirmed is what counts: an entry is
 * settled when its `XACK` or its dead letter succeeded, not when its handler returned.
 *
 * With a limit, the member takes no more entries than the limit leaves room for (reads and claims
 * are cut to it; with no room, a read waits its block time and finds nothing), so that no entry is
 * taken and then left pending at the end: `--limit N` settles N entries, whatever the concurrency
 * and however many partitions are read at once. A read or claim on its way holds the room it was
 * given until it answers; a read takes only its share of the room left (split among the cursors
 * not reading), so that a read blocked on an empty partition holds little while the others take
 * entries; and a read that finds no room waits in line, served first come first served as room is
 * given back, within its block time (a partition whose read came back empty goes behind those
 * waiting).
 *
 * @since 0.2.0
 */
import type { GroupBackend } from "@maf/events"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
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
  /**
   * The `data` text of entry `id` of `stream`, delivered and not yet settled (`undefined`: none, or
   * not known). By stream and id: two partitions of a stream may hold entries of the same id.
   */
  readonly dataOf: (stream: string, id: string) => string | undefined
  /** Whether another member took entry `id` of `stream` over while this one held it (answered once). */
  readonly takenOver: (stream: string, id: string) => boolean
  /** How many entries were settled (acknowledged or dead-lettered) so far. */
  readonly settled: () => number
  /** Done when the limit's count of entries is settled (never, without a limit). */
  readonly done: Deferred.Deferred<void>
}

/** An entry's key in the ledger: its stream (a partition key) and its id. */
const keyOf = (stream: string, id: string) => `${stream}\u0000${id}`

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
    /** Taken, not settled nor let go: its `data` text, by {@link keyOf}. */
    const open = new Map<string, string | undefined>()
    /** Taken over by another member (a renewal did not keep them), until asked: by {@link keyOf}. */
    const lost = new Set<string>()
    let settled = 0
    /** The room given to reads and claims on their way, until they answer. */
    let reserved = 0
    /** The cursors open (a partitioned member opens one a partition), and how many are reading. */
    let cursors = 0
    let reading = 0
    /** Reads waiting for room, first come first served: each is given its share when there is some. */
    const line: Array<{ readonly wanted: number; readonly give: (count: number) => void }> = []
    const room = () =>
      limit === undefined ? Number.POSITIVE_INFINITY : limit - settled - open.size - reserved
    /** Gives a read its share of the room (the room split among the cursors not reading), or 0. */
    const grant = (wanted: number): number => {
      const free = room()
      if (free <= 0) return 0
      const count = Math.min(wanted, Math.ceil(free / Math.max(1, cursors - reading)))
      reserved += count
      reading++
      return count
    }
    /** Serves the reads waiting in line, in order, while there is room. */
    const serve = () => {
      while (line.length > 0) {
        const count = grant(line[0]!.wanted)
        if (count === 0) return
        line.shift()!.give(count)
      }
    }
    const giveBack = (count: number, read: boolean) => {
      reserved -= count
      if (read) reading--
      serve()
    }
    /**
     * The room for a read of `wanted` entries: at once when no read waits and there is room, else
     * in line until served or `waitMillis` ran out (0: not given).
     */
    const turn = (wanted: number, waitMillis: number): Effect.Effect<number> =>
      Effect.suspend(() => {
        if (line.length === 0) {
          const count = grant(wanted)
          if (count > 0 || waitMillis <= 0) return Effect.succeed(count)
        }
        if (waitMillis <= 0) return Effect.succeed(0)
        let given = 0
        const served = Effect.async<number>((resume) => {
          const place = {
            wanted,
            give: (count: number) => {
              given = count
              resume(Effect.succeed(count))
            }
          }
          line.push(place)
          return Effect.sync(() => {
            const at = line.indexOf(place)
            if (at >= 0) line.splice(at, 1)
          })
        })
        // Room given as the wait ran out (or the read was interrupted) goes back to the others.
        return Effect.onExit(
          Effect.timeoutTo(served, {
            duration: Duration.millis(waitMillis),
            onTimeout: () => 0,
            onSuccess: (count) => count
          }),
          (exit) =>
            Effect.sync(() => {
              if (given > 0 && (Exit.isFailure(exit) || exit.value === 0)) giveBack(given, true)
            })
        )
      })
    const checkDone = Effect.suspend(() =>
      limit !== undefined && settled >= limit ? Deferred.succeed(done, undefined) : Effect.void
    )
    const take = (stream: string, entries: ReadonlyArray<GroupBackend.GroupEntry>) => {
      for (const entry of entries) open.set(keyOf(stream, entry.id), Feed.dataOf(entry.fields))
    }
    const letGo = (stream: string, ids: ReadonlyArray<string>) => {
      for (const id of ids) open.delete(keyOf(stream, id))
      serve()
    }
    const settle = (stream: string, ids: ReadonlyArray<string>) =>
      Effect.suspend(() => {
        for (const id of ids) if (open.delete(keyOf(stream, id))) settled++
        return checkDone
      })

    const ledger: GroupBackend.GroupBackendService = {
      ...groups,
      create: (stream, group, start) => Effect.tap(groups.create(stream, group, start), () => checkDone),
      openCursor: Effect.flatMap(groups.openCursor, (cursor) =>
        Effect.as(
          Effect.acquireRelease(
            Effect.sync(() => cursors++),
            () => Effect.sync(() => cursors--)
          ),
          {
            read: (stream, group, consumer, options) =>
              limit === undefined
                ? Effect.tap(cursor.read(stream, group, consumer, options), (entries) =>
                    take(stream, entries)
                  )
                : // Uninterruptible but for the waits and the read: room given is always given back.
                  Effect.uninterruptibleMask((restore) =>
                    Effect.gen(function* () {
                      const block = options.blockMillis ?? 0
                      const asked = yield* Clock.currentTimeMillis
                      const count = yield* restore(turn(options.count, block))
                      const waited = (yield* Clock.currentTimeMillis) - asked
                      if (count === 0) {
                        // No room in the block time: as a read that found nothing.
                        if (block > waited) yield* restore(Effect.sleep(Duration.millis(block - waited)))
                        return []
                      }
                      // What is left of the block time after the wait (never 0: that blocks for ever).
                      const blockMillis =
                        options.blockMillis === undefined
                          ? undefined
                          : Math.max(1, options.blockMillis - waited)
                      return yield* Effect.ensuring(
                        restore(
                          Effect.tap(
                            cursor.read(stream, group, consumer, {
                              count,
                              blockMillis,
                              timeoutMillis: Math.max(1, options.timeoutMillis - waited)
                            }),
                            (entries) => take(stream, entries)
                          )
                        ),
                        Effect.sync(() => giveBack(count, true))
                      )
                    })
                  )
          } satisfies GroupBackend.GroupCursor
        )
      ),
      claim: (stream, group, consumer, options) =>
        Effect.suspend(() => {
          // (While reads wait in line there is no room: room given back goes to them at once.)
          const count = Math.min(options.count, room())
          if (count <= 0) return Effect.succeed({ entries: [], deleted: [], next: "0-0" })
          return Effect.acquireUseRelease(
            Effect.sync(() => {
              reserved += count
            }),
            () =>
              Effect.tap(groups.claim(stream, group, consumer, { ...options, count }), (claimed) =>
                take(stream, claimed.entries)
              ),
            () => Effect.sync(() => giveBack(count, false))
          )
        }),
      redeliver: (stream, group, consumer, ids) =>
        Effect.tap(groups.redeliver(stream, group, consumer, ids), (again) => {
          take(stream, again.entries)
          letGo(stream, again.deleted)
          letGo(stream, again.lost)
        }),
      renew: (stream, group, consumer, ids) =>
        Effect.tap(groups.renew(stream, group, consumer, ids), ({ renewed }) => {
          const still = new Set(renewed)
          const gone = ids.filter((id) => !still.has(id))
          letGo(stream, gone)
          for (const id of gone) lost.add(keyOf(stream, id))
        }),
      ack: (stream, group, ids) => Effect.tap(groups.ack(stream, group, ids), () => settle(stream, ids)),
      deadLetter: (stream, group, consumer, id, letter) =>
        Effect.tap(groups.deadLetter(stream, group, consumer, id, letter), (outcome) => {
          if (outcome === "moved") return settle(stream, [id])
          letGo(stream, [id])
          return Effect.void
        })
    }
    return {
      groups: ledger,
      dataOf: (stream, id) => open.get(keyOf(stream, id)),
      takenOver: (stream, id) => lost.delete(keyOf(stream, id)),
      settled: () => settled,
      done
    }
  })
