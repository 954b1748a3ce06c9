/**
 * The `EventBus` service: publishes events to a stream without ever breaking, stalling or crashing
 * the program that publishes.
 *
 * - `publish` waits for the entry's id, never fails, and returns within `publishTimeout` whatever the
 *   backend does (down, unreachable, hung): the `PublishResult` says whether it was written.
 * - `publishNowait` never waits for the backend: events wait in a bounded buffer and leave in
 *   batches; they survive an outage up to the buffer's capacity; overflow follows the `overflow`
 *   policy and every dropped event is counted (`PublishMetrics.dropped`) and logged (once per
 *   streak).
 * - Closing the layer's scope drains the buffer within `drainTimeout`.
 * - A partitioned stream (`partitions`, see `Partitions`) has a publisher a partition key, each
 *   event routed by `partitionBy` (its arena by default): order holds per partition.
 *
 * The layers: `layerNull` (publishes nothing), `layerMemory` (the embedded backend) and `layer`
 * over any `StreamBackend` (the Redis one is in `@maf/events-redis`).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Event from "./Event.js"
import type * as EventCatalog from "./EventCatalog.js"
import * as PartitionBus from "./internal/partitionBus.js"
import * as Publisher from "./internal/publisher.js"
import * as MemoryStreamBackend from "./MemoryStreamBackend.js"
import * as PublishResult from "./PublishResult.js"
import type { StreamBackend, StreamBackendError } from "./StreamBackend.js"

/**
 * What happens when an event is published without waiting and the buffer is full: `"dropNewest"`
 * drops the new event, `"dropOldest"` makes room by dropping the oldest one waiting.
 *
 * @since 0.1.0
 * @category models
 */
export type OverflowPolicy = "dropNewest" | "dropOldest"

/**
 * Options of a publisher. Every one has a default (see {@link defaults}).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The stream's key. Default `"maf:events"`. */
  readonly stream?: string | undefined
  /** Approximate cap on the stream's length (`MAXLEN ~`); 0 turns trimming off. Default 100000. */
  readonly maxlen?: number | undefined
  /**
   * Events the fire-and-forget buffer holds, counting those in flight beyond the first batch (so the
   * memory bound is a buffer's worth plus one batch). Default 10000.
   */
  readonly bufferCapacity?: number | undefined
  /** Events written per batch at most. Default 500. */
  readonly batchSize?: number | undefined
  /** What a full buffer does. Default `"dropNewest"`. */
  readonly overflow?: OverflowPolicy | undefined
  /** The bound on an awaited `publish`. Default 500 ms. */
  readonly publishTimeout?: Duration.DurationInput | undefined
  /** The bound on one batch write; past it the batch is retried. Default 5 s. */
  readonly batchTimeout?: Duration.DurationInput | undefined
  /** How long closing waits for the buffer to drain. Default 5 s. */
  readonly drainTimeout?: Duration.DurationInput | undefined
  /**
   * How failed batch writes are retried. Default: jittered exponential from 20 ms, capped at 1 s,
   * forever (until the drain deadline at shutdown). A schedule that ends gives the batch up (counted
   * as dropped).
   */
  readonly retrySchedule?: Schedule.Schedule<unknown, StreamBackendError> | undefined
  /** The kinds whose payload Schemas encode typed payloads. Default: the canonical kinds. */
  readonly catalog?: EventCatalog.EventCatalog<any> | undefined
  /**
   * Whether an event published in a span carries that trace context on the wire, in a field
   * `traceparent` beside `data` (see the README's "Tracing"). Default `true`; `false` writes `data`
   * alone (spans are still made).
   *
   * @since 0.3.0
   */
  readonly propagateTrace?: boolean | undefined
  /**
   * The stream's partitions (see `Partitions`): above 1, `stream` names a logical stream over that
   * many keys, each with a publisher of its own (buffer, batches, bounds, metrics). Default 1.
   *
   * @since 0.3.0
   */
  readonly partitions?: number | undefined
  /**
   * An event's routing key: its partition is `crc16(key) mod partitions`, so events of one key keep
   * their order. Default: the arena (`""`, partition 0, without one). One that throws sends to partition 0.
   *
   * @since 0.3.0
   */
  readonly partitionBy?: ((event: Event.Input<string, unknown>) => string) | undefined
}

/**
 * The defaults of {@link Options}.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: typeof Publisher.defaults = Publisher.defaults

/**
 * The service's operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventBusService {
  /** The stream's key. */
  readonly stream: string
  /**
   * Publishes one event and waits for its id. Never fails; returns within `publishTimeout`.
   * `ts` and `correlationId` are filled (from `Clock` and `Random`) when the input has none.
   */
  readonly publish: <K extends string, P>(
    input: Event.Input<K, P>
  ) => Effect.Effect<PublishResult.PublishResult>
  /**
   * Puts one event in the buffer without waiting for the backend: `true` when it was taken, `false`
   * when it was dropped (buffer full under `"dropNewest"`, bus closed, or `layerNull`). While two
   * batches or more are unanswered, it lets the host's event loop run once every batch's worth of
   * events (one `setImmediate`, before the event is taken), so that a tight publishing loop does not
   * keep the answers and the socket from being handled: it can suspend for that turn, so run it in
   * a fiber (`Effect.runFork`, `Effect.runPromise`), not with `Effect.runSync`.
   */
  readonly publishNowait: <K extends string, P>(input: Event.Input<K, P>) => Effect.Effect<boolean>
  /**
   * Waits until every event taken by `publishNowait` before this call is written or given up. Not
   * bounded: during an outage it waits for the backend; bound it with `Effect.timeout`.
   */
  readonly flush: Effect.Effect<void>
}

/**
 * The event bus.
 *
 * @since 0.1.0
 * @category tags
 * @example
 * import { Effect } from "effect"
 * import { EventBus } from "@maf/events"
 *
 * const program = Effect.gen(function* () {
 *   const bus = yield* EventBus.EventBus
 *   const result = yield* bus.publish({ kind: "phase.start", arena: "trading", phase: "analysis" })
 *   yield* bus.publishNowait({ kind: "agent.signal", arena: "trading", payload: { signal: "buy" } })
 * })
 *
 * Effect.runPromise(Effect.provide(program, EventBus.layerMemory()))
 */
export class EventBus extends Context.Tag("@maf/events/EventBus")<EventBus, EventBusService>() {}

/**
 * `Config.unwrap` of a layer's options, where no options at all (`{}`) is a valid wrap
 * (`Config.unwrap({})` throws on effect 3.22). Shared by the `layerConfig`s of every package.
 *
 * @since 0.2.0
 * @category config
 */
export const unwrapOptions = <A extends object>(options: Config.Config.Wrap<A>): Config.Config<A> =>
  Object.keys(options).length === 0 ? Config.succeed({} as A) : Config.unwrap(options)

/**
 * Publishes one event with the `EventBus` of the context and waits for its id.
 *
 * @since 0.1.0
 * @category accessors
 */
export const publish = <K extends string, P>(
  input: Event.Input<K, P>
): Effect.Effect<PublishResult.PublishResult, never, EventBus> =>
  Effect.flatMap(EventBus, (bus) => bus.publish(input))

/**
 * Publishes one event with the `EventBus` of the context without waiting.
 *
 * @since 0.1.0
 * @category accessors
 */
export const publishNowait = <K extends string, P>(
  input: Event.Input<K, P>
): Effect.Effect<boolean, never, EventBus> => Effect.flatMap(EventBus, (bus) => bus.publishNowait(input))

/**
 * A publisher over the `StreamBackend` of the context; its background writer lives in the scope,
 * and closing the scope drains the buffer within `drainTimeout`.
 *
 * Invalid options (a capacity or batch size below 1, a negative `maxlen`) are defects: they are
 * programming errors, found when the layer is built.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<EventBusService, never, StreamBackend | Scope.Scope> =>
  options.partitions === undefined ? Publisher.make(options) : PartitionBus.make(options)

/**
 * The bus over the `StreamBackend` of the context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<EventBus, never, StreamBackend> =>
  Layer.scoped(EventBus, make(options))

/**
 * The bus over the `StreamBackend` of the context, with options read from `Config`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<EventBus, import("effect/ConfigError").ConfigError, StreamBackend> =>
  Layer.scoped(EventBus, Effect.flatMap(unwrapOptions(options), make))

/**
 * The bus on the embedded in-memory backend, which the layer also provides (for readers and tests).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (
  options: Options = {}
): Layer.Layer<EventBus | StreamBackend | MemoryStreamBackend.MemoryStreamBackend> =>
  layer(options).pipe(Layer.provideMerge(MemoryStreamBackend.layer))

const disabled = Effect.succeed(
  PublishResult.NotWritten({ reason: "Disabled", message: "the bus is disabled" })
)
const notTaken = Effect.succeed(false)

/**
 * A bus that publishes nothing and costs next to nothing: `publish` answers `NotWritten` with
 * reason `Disabled`, `publishNowait` answers `false`. For tests and offline runs.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNull: Layer.Layer<EventBus> = Layer.succeed(EventBus, {
  stream: "",
  publish: () => disabled,
  publishNowait: () => notTaken,
  flush: Effect.void
})
