/**
 * The `EventReader` service: a stream's entries as an Effect `Stream` of `ReadResult`s that never
 * stops on bad data or Redis trouble, never duplicates, and never skips silently.
 *
 * - Start at the live tail (`"$"`, pinned to the stream's concrete last id before the first read, so
 *   that a reconnect neither replays nor skips), at the beginning (`"0"`), or after an entry id.
 * - After any failure the reader re-opens its cursor (a connection of its own, for Redis) and resumes
 *   right after the last entry it delivered, pacing retries by a `Schedule` (default: jittered
 *   exponential from 50 ms, capped at 2 s, forever).
 * - A watchdog bounds every read (block time + `watchdogGrace`): a hung server or a half-open
 *   connection cannot stall the stream.
 * - Entries removed (trimmed, deleted) before they were read come out as a `Gap` notice.
 * - Pull-based: the next read starts only when the consumer wants more.
 * - A partitioned stream (`partitions`, see `Partitions`) is read with a cursor a partition, merged
 *   into one `Stream`: each partition's order kept, positions and gaps per partition.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as Event from "./Event.js"
import type * as EventCatalog from "./EventCatalog.js"
import * as PartitionReader from "./internal/partitionReader.js"
import * as Reader from "./internal/reader.js"
import type * as Partitions from "./Partitions.js"
import type * as ReadResult from "./ReadResult.js"
import { StreamBackend, type StreamBackendError } from "./StreamBackend.js"

/**
 * Options of a read. Every one has a default (see {@link defaults}).
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions<E extends Event.Any = Event.Canonical> {
  /** The stream's key (a partitioned stream's name). Default `"maf:events"`. */
  readonly stream?: string | undefined
  /**
   * Where to start: `"$"` (live tail: what is written from now on), `"0"` (everything still in the
   * stream), or an entry id (what comes after it). Default `"$"`. On a partitioned stream, every
   * partition not named in `positions` starts there.
   */
  readonly from?: string | undefined
  /**
   * The stream's partitions (see `Partitions`): above 1, every partition is read (a cursor each) and
   * the results merged, each partition's order kept, each result naming its `partition`. Default 1.
   *
   * @since 0.3.0
   */
  readonly partitions?: number | undefined
  /**
   * Where each partition starts, by partition key (see `Partitions.advance`); the others start at `from`.
   *
   * @since 0.3.0
   */
  readonly positions?: Partitions.Positions | undefined
  /** Entries per read at most. Default 500. */
  readonly count?: number | undefined
  /** How long one read waits for new entries. Default 5 s (as the reference). */
  readonly block?: Duration.DurationInput | undefined
  /** Added to `block` to make the watchdog's bound on one read. Default 2 s. */
  readonly watchdogGrace?: Duration.DurationInput | undefined
  /**
   * How failed reads are retried. Default: jittered exponential from 50 ms, capped at 2 s, forever.
   * A schedule that ends makes the stream fail with the last error.
   */
  readonly retrySchedule?: Schedule.Schedule<unknown, StreamBackendError> | undefined
  /** The kinds decoded to typed events; others come out as `UnknownKind`. Default: the canonical kinds. */
  readonly catalog?: EventCatalog.EventCatalog<E> | undefined
  /**
   * Whether results carry the producer's span context (`producerSpan`, from an entry's
   * `traceparent` field) and `receive` spans link to it. Default `true`.
   *
   * @since 0.3.0
   */
  readonly propagateTrace?: boolean | undefined
}

/**
 * The defaults of {@link ReadOptions}.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: typeof Reader.defaults = Reader.defaults

/**
 * The service's operation.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventReaderService {
  /**
   * The stream's entries as read results. It fails only when a custom `retrySchedule` ends; it ends
   * when the consumer stops; its cursor is closed at once when it ends or is interrupted.
   */
  readonly stream: <E extends Event.Any = Event.Canonical>(
    options?: ReadOptions<E>
  ) => Stream.Stream<ReadResult.ReadResult<E>, StreamBackendError>
}

/**
 * The event reader.
 *
 * @since 0.1.0
 * @category tags
 * @example
 * import { Effect, Match, Stream } from "effect"
 * import { EventReader, ReadResult } from "@maf/events"
 *
 * const program = Effect.gen(function* () {
 *   const reader = yield* EventReader.EventReader
 *   yield* reader.stream({ from: "0" }).pipe(
 *     Stream.take(10),
 *     Stream.runForEach((result) =>
 *       Match.value(result).pipe(
 *         Match.tagsExhaustive({
 *           KnownEvent: ({ event }) => Effect.log(`${event.kind} in ${event.arena}`),
 *           UnknownKind: ({ kind }) => Effect.log(`unknown kind ${kind}`),
 *           Malformed: ({ reason }) => Effect.log(`malformed: ${reason}`),
 *           Gap: ({ lost }) => Effect.log(`gap: ${lost ?? "some"} entries lost`)
 *         })
 *       )
 *     )
 *   )
 * })
 */
export class EventReader extends Context.Tag("@maf/events/EventReader")<EventReader, EventReaderService>() {}

/**
 * A reader over a backend.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (backend: StreamBackend["Type"]): EventReaderService => ({
  stream: (options = {}) =>
    options.partitions === undefined && options.positions === undefined
      ? Reader.stream(backend, options)
      : PartitionReader.stream(backend, options)
})

/**
 * The reader over the `StreamBackend` of the context (the memory one of `EventBus.layerMemory`, or
 * the Redis one of `@maf/events-redis`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<EventReader, never, StreamBackend> = Layer.effect(
  EventReader,
  Effect.map(StreamBackend, make)
)

/**
 * The stream of the `EventReader` of the context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const stream = <E extends Event.Any = Event.Canonical>(
  options?: ReadOptions<E>
): Stream.Stream<ReadResult.ReadResult<E>, StreamBackendError, EventReader> =>
  Stream.unwrap(Effect.map(EventReader, (reader) => reader.stream(options)))
