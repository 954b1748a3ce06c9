/**
 * How far a demo has come on each key of its stream (the stream's own, or each partition key): what
 * its live tail has shown, so that a finite demo ends once the tail has shown every event and its
 * quick group (`archiver`) has taken them all; and the lines it ends with, each key's events shown
 * and every group's pending count and lag there.
 *
 * @since 0.3.0
 */
import { GroupBackend, Partitions, type ReadResult, StreamBackend } from "@maf/events"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

/**
 * A demo's progress over the keys of its stream.
 *
 * @since 0.3.0
 * @category models
 */
export interface Progress {
  /** The stream's keys: its partition keys, partition 0 first, or the stream's own key. */
  readonly keys: ReadonlyArray<string>
  /** Records a result the tail has shown. */
  readonly shown: (result: ReadResult.ReadResult) => void
  /**
   * Succeeds once the tail has shown the last entry of every key (as it is now) and `group` has
   * taken and acknowledged every entry of each (nothing pending, no lag); fails otherwise.
   */
  readonly settled: (
    group: string
  ) => Effect.Effect<void, "behind", StreamBackend.StreamBackend | GroupBackend.GroupBackend>
  /** A line a key: `<key>: <n> shown; <group>: <p> pending, lag <l>; …`. */
  readonly report: (
    groups: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<string>, never, GroupBackend.GroupBackend>
}

const reached = (id: string | undefined, target: string): boolean => {
  const a = StreamBackend.parseEntryId(id ?? "0-0")
  const b = StreamBackend.parseEntryId(target)
  return a !== undefined && b !== undefined && StreamBackend.compareEntryIds(a, b) >= 0
}

/**
 * The progress of a demo on `stream` over `partitions` (`undefined`: one key), its tail started at
 * `start` (each key's last id then; `undefined` when it could not be read).
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (
  stream: string,
  partitions: number | undefined,
  start: Partitions.Positions | undefined
): Progress => {
  const keys = Partitions.keys(stream, partitions ?? 1)
  const last = new Map<string, string>(Object.entries(start ?? {}))
  const counts = new Map<string, number>()
  return {
    keys,
    shown: (result) => {
      if (result._tag === "Gap") return
      const key = result.partition ?? stream
      last.set(key, result.streamId)
      counts.set(key, (counts.get(key) ?? 0) + 1)
    },
    settled: (group) =>
      Effect.gen(function* () {
        const ends = yield* Partitions.lastIds({ stream, partitions: partitions ?? 1 })
        if (keys.some((key) => !reached(last.get(key), ends[key] ?? "0-0")))
          return yield* Effect.fail("behind")
        const groups = yield* GroupBackend.GroupBackend
        for (const key of keys) {
          const info = yield* groups.info(key, group)
          if (info.pending > 0 || info.lag !== 0) return yield* Effect.fail("behind")
        }
      }).pipe(Effect.mapError(() => "behind" as const)),
    report: (names) =>
      Effect.flatMap(GroupBackend.GroupBackend, (groups) =>
        Effect.forEach(keys, (key) =>
          Effect.map(
            Effect.forEach(names, (name) =>
              Effect.map(Effect.either(groups.info(key, name)), (info) =>
                Either.match(info, {
                  onLeft: (error) => `${name}: ${error._tag === "MissingGroup" ? "no group" : error.message}`,
                  onRight: (group) => `${name}: ${group.pending} pending, lag ${group.lag ?? "unknown"}`
                })
              )
            ),
            (states) => [`${key}: ${counts.get(key) ?? 0} shown`, ...states].join("; ")
          )
        )
      )
  }
}
