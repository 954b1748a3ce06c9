/**
 * The reader of a partitioned stream, composed of the single-key reader (`reader.ts`): one reader a
 * partition (its own cursor, `$` pinned, resume, watchdog, gaps and metrics, all per key), merged
 * into one `Stream` as their chunks come. Each partition's order is kept; across partitions the
 * order is the order of arrival. Every result carries its partition key, so that a program can keep
 * one position a partition and resume from them (`positions`).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Event from "../Event.js"
import type { ReadOptions } from "../EventReader.js"
import type { Positions } from "../Partitions.js"
import type * as ReadResult from "../ReadResult.js"
import {
  parseEntryId,
  StreamBackend,
  type StreamBackendError,
  type StreamBackendService
} from "../StreamBackend.js"
import * as Partitions from "./partitions.js"
import * as Reader from "./reader.js"

const refuse = (message: string): never => {
  throw new RangeError(`EventReader option ${message}`)
}

/** The key and start of each partition: `positions` checked against the keys, `from` for the others. */
const plan = <E extends Event.Any>(
  options: ReadOptions<E>
): ReadonlyArray<{ readonly key: string; readonly from: string | undefined }> => {
  const stream = options.stream ?? Reader.defaults.stream
  const keys = Partitions.keys(
    stream,
    Partitions.requirePartitions(options.partitions ?? 1, "EventReader"),
    "EventReader"
  )
  const positions = options.positions ?? {}
  for (const [key, id] of Object.entries(positions)) {
    if (!keys.includes(key)) {
      refuse(
        `positions names ${JSON.stringify(key)}, which is not a partition of ${JSON.stringify(stream)} over ${keys.length} (its keys: ${keys.join(", ")})`
      )
    }
    if (typeof id !== "string" || (id !== "$" && id !== "0" && parseEntryId(id) === undefined)) {
      refuse(`positions of ${key} must be "$", "0" or an entry id like 1715680953123-0, got ${String(id)}`)
    }
  }
  return keys.map((key) => ({ key, from: positions[key] ?? options.from }))
}

/**
 * The partitioned stream's results: one reader a partition, merged; a chunk at most waits in the
 * merge for each, so that every reader still reads when the consumer wants more. One partition's
 * stream failing (a custom `retrySchedule` ending) fails the whole and closes the others.
 */
export const stream = <E extends Event.Any>(
  backend: StreamBackendService,
  options: ReadOptions<E>
): Stream.Stream<ReadResult.ReadResult<E>, StreamBackendError> =>
  Stream.unwrap(
    Effect.map(Effect.orDie(Effect.try({ try: () => plan(options), catch: (e) => e })), (partitions) => {
      const { partitions: _count, positions: _positions, ...single } = options
      if (partitions.length === 1) {
        const { key, from } = partitions[0]!
        return Reader.stream(backend, { ...single, stream: key, from })
      }
      return Stream.mergeAll(
        partitions.map(({ key, from }) =>
          Stream.map(
            Reader.stream(backend, { ...single, stream: key, from }),
            (result): ReadResult.ReadResult<E> => ({ ...result, partition: key })
          )
        ),
        { concurrency: "unbounded", bufferSize: 1 }
      )
    })
  )

/** The last id of every partition now, by key (`Partitions.lastIds`). */
export const lastIds = (
  stream: string,
  partitions: number
): Effect.Effect<Positions, StreamBackendError, StreamBackend> =>
  Effect.flatMap(StreamBackend, (backend) =>
    Effect.suspend(() => {
      const keys = Partitions.keys(stream, partitions)
      return Effect.map(
        // Stryker disable next-line ObjectLiteral,StringLiteral: one partition's info after another gives the same positions, slower
        Effect.forEach(keys, (key) => backend.info(key), { concurrency: "unbounded" }),
        (infos): Positions => Object.fromEntries(keys.map((key, i) => [key, infos[i]!.lastId]))
      )
    })
  )
