/**
 * The `EventConsumer` service: work shared by the members of a consumer group, each entry handled at
 * least once across crashes, never lost, its position kept by the server.
 *
 * - `consume({ group, handler })` runs until interrupted: it reads new entries and, in the same loop,
 *   claims entries left pending by dead members (idle past `minIdle`), hands each to the handler with
 *   bounded `concurrency`, and acknowledges it once the handler succeeds (acks batched).
 * - The handler's outcome: success (or `Outcome.Ack`) acknowledges; a failure, a defect or
 *   `Outcome.Retry` retries the entry after the retry schedule's delay, by this member, as a new
 *   delivery (the server's delivery count); `Outcome.DeadLetter`, or a failure of a delivery that
 *   reached `maxDeliveries`, moves it to the dead-letter stream and acknowledges it in one step.
 * - A member holds no more entries than it can start (`concurrency`); while a handler runs, its hold
 *   is renewed every third of `minIdle` so that a slow but live handler is not taken over; an entry
 *   claimed by another member meanwhile has its handler interrupted and its outcome dropped.
 * - Malformed entries and unknown kinds reach the handler as values (as the reader yields them);
 *   entries removed from the stream while pending come out as a {@link Gap} (nothing to acknowledge).
 * - Order: with `concurrency` 1 a member handles its entries one at a time in the order it got
 *   them; a retried entry is handled again before the member takes anything new. Across members,
 *   and after a claim, no order holds.
 * - Shutdown (the fiber interrupted, its scope closed): reading stops, handlers running are given
 *   `drainTimeout` to finish, what finished is acknowledged, the rest stays pending for others.
 * - Housekeeping: after each full claim scan, the group's other consumers idle past
 *   `removeIdleConsumersAfter` (default 1 hour) and holding nothing pending are removed.
 * - `stream(options)` is the same member as a `Stream` of {@link Received} messages, each settled by
 *   the program with its own `ack`, `retry` or `deadLetter` (one policy loop behind both forms).
 * - On a partitioned stream (`partitions`, see `Partitions`) the member runs a loop a partition key
 *   (order per partition at `concurrency` 1); each delivery's `stream` names its key.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as Event from "./Event.js"
import type * as EventCatalog from "./EventCatalog.js"
import { GroupBackend, type GroupBackendError, type MissingGroup } from "./GroupBackend.js"
import * as Consumer from "./internal/consumer.js"
import * as ConsumerOptions from "./internal/consumerOptions.js"
import * as ConsumerStream from "./internal/consumerStream.js"
import * as PartitionConsumer from "./internal/partitionConsumer.js"
import type * as ReadResult from "./ReadResult.js"

/**
 * What a delivery carries beside the read result.
 *
 * @since 0.2.0
 * @category models
 */
export interface DeliveryInfo {
  readonly stream: string
  readonly group: string
  readonly consumer: string
  /** How many times the entry has been delivered in all, this delivery included (the server's count). */
  readonly deliveryCount: number
}

/**
 * One entry delivered to a member: the result the reader would yield for it, with its delivery.
 *
 * @since 0.2.0
 * @category models
 */
export type Delivery<E extends Event.Any = Event.Canonical> = (
  | ReadResult.KnownEvent<E>
  | ReadResult.UnknownKind
  | ReadResult.Malformed
) &
  DeliveryInfo

/**
 * Entries that were pending for the group and were removed from the stream (trimmed or deleted)
 * before they were handled. They leave the pending list; there is nothing to acknowledge.
 *
 * @since 0.2.0
 * @category models
 */
export interface Gap {
  readonly _tag: "Gap"
  /** The first of `ids`. */
  readonly streamId: string
  /** The removed entries' ids. */
  readonly ids: ReadonlyArray<string>
  readonly lost: number
  readonly stream: string
  readonly group: string
  readonly consumer: string
}

/**
 * What a handler is given: a delivery or a gap; exhaustively matchable by `_tag`, as `ReadResult`.
 *
 * @since 0.2.0
 * @category models
 */
export type Message<E extends Event.Any = Event.Canonical> = Delivery<E> | Gap

/**
 * What the handler says of an entry: acknowledge it, retry it (after `after`, or the schedule's
 * delay), or move it to the dead letters with a reason.
 *
 * @since 0.2.0
 * @category models
 */
export type Outcome = Data.TaggedEnum<{
  Ack: {}
  Retry: { readonly after?: Duration.DurationInput | undefined }
  DeadLetter: { readonly reason: string }
}>

/**
 * The constructors of {@link Outcome}: `Outcome.Ack()`, `Outcome.Retry({ after })`,
 * `Outcome.DeadLetter({ reason })`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const Outcome = Data.taggedEnum<Outcome>()

/**
 * Options of a member, in either form. Only `group` is required (see {@link defaults}).
 *
 * @since 0.2.0
 * @category models
 */
export interface MemberOptions<E extends Event.Any = Event.Canonical> {
  /** The group's name. */
  readonly group: string
  /** The stream's key (a partitioned stream's name). Default `"maf:events"`. */
  readonly stream?: string | undefined
  /**
   * The stream's partitions (see `Partitions`): above 1, the member runs on every partition key (the
   * same group and name on each, a member loop each, dead letters to each key's `<key>:dead`), the
   * handlers of all sharing `concurrency`. Default 1.
   *
   * @since 0.3.0
   */
  readonly partitions?: number | undefined
  /** This member's name. Default: stable per process, `<HOSTNAME>-<pid>` ({@link defaultConsumerName}). */
  readonly consumer?: string | undefined
  /** Where a group made by this member starts: `"$"` (default), `"0"` or an entry id. An existing group is joined as it is. */
  readonly from?: string | undefined
  /** Handlers running at once (in the stream form: messages unsettled at once), and entries held at most. Default 1. */
  readonly concurrency?: number | undefined
  /** How long an entry is pending untouched before another member may claim it. Default 30 s. */
  readonly minIdle?: Duration.DurationInput | undefined
  /** Deliveries before an entry that keeps failing is dead-lettered; 0: unlimited. Default 5. */
  readonly maxDeliveries?: number | undefined
  /** The dead-letter stream. Default `<stream>:dead` (on a partitioned stream, `<partition key>:dead`: not settable). */
  readonly deadLetterStream?: string | undefined
  /**
   * The delay before a retry, by the number of failures so far; once it ends, the next failure
   * dead-letters the entry. Default: jittered exponential from 100 ms, capped at 5 s, forever.
   */
  readonly retrySchedule?: Schedule.Schedule<Duration.Duration, unknown> | undefined
  /** How backend failures are retried. Default: jittered exponential from 50 ms, capped at 2 s. */
  readonly failureSchedule?: Schedule.Schedule<unknown, GroupBackendError> | undefined
  /** What a missing group (`NOGROUP`) does: make it again from `from` (default), or fail. */
  readonly onMissingGroup?: "recreate" | "fail" | undefined
  /** How long handlers running at shutdown are given to finish. Default 10 s. */
  readonly drainTimeout?: Duration.DurationInput | undefined
  /** How long one read waits for new entries. Default 1 s. */
  readonly block?: Duration.DurationInput | undefined
  /**
   * Other consumers of the group idle this long and holding nothing pending are removed
   * (`XGROUP DELCONSUMER`). Default 1 hour; `Duration.infinity` turns it off.
   */
  readonly removeIdleConsumersAfter?: Duration.DurationInput | undefined
  /** The kinds decoded to typed events; others come out as `UnknownKind`. Default: the canonical kinds. */
  readonly catalog?: EventCatalog.EventCatalog<E> | undefined
  /**
   * Whether deliveries carry the producer's span context (`producerSpan`, from an entry's
   * `traceparent` field) and `process` spans link to it. Default `true`.
   *
   * @since 0.3.0
   */
  readonly propagateTrace?: boolean | undefined
  /**
   * Whether a `process` span is a child of the producer's span (one trace from the producer to the
   * handler) instead of linking to it. Default `false` (a link, as OpenTelemetry's messaging
   * conventions recommend).
   *
   * @since 0.3.0
   */
  readonly parentOnProducer?: boolean | undefined
}

/**
 * Options of `consume`: a member's options and its handler.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConsumeOptions<E extends Event.Any, R> extends MemberOptions<E> {
  /** Handles one message; its success acknowledges the entry (see {@link Outcome}). */
  readonly handler: (message: Message<E>) => Effect.Effect<Outcome | void, unknown, R>
}

/**
 * How the program settles a message of the stream form. The first settlement counts; later ones,
 * and any made after the stream ended, do nothing. Each returns once the member has taken it (an
 * ack leaves in the member's next batched `XACK`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Settle {
  /** Acknowledges the entry. */
  readonly ack: Effect.Effect<void>
  /** Retries the entry after `after` (or the retry schedule's delay): it comes out again, a new delivery. */
  readonly retry: (after?: Duration.DurationInput) => Effect.Effect<void>
  /** Moves the entry to the dead-letter stream with `reason`, and acknowledges it, in one step. */
  readonly deadLetter: (reason: string) => Effect.Effect<void>
}

/**
 * A message of the stream form: a delivery to settle, or a {@link Gap} (nothing to settle).
 *
 * @since 0.2.0
 * @category models
 */
export type Received<E extends Event.Any = Event.Canonical> = (Delivery<E> & Settle) | Gap

/**
 * The defaults of {@link MemberOptions}.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaults: typeof ConsumerOptions.defaults = ConsumerOptions.defaults

/**
 * The default member name: `<HOSTNAME>-<pid>` (the `HOSTNAME` environment variable, `"host"` when
 * unset): unique per process on a host or in a container, and the same for its whole life. What a
 * member held when it stopped is claimed after `minIdle`, whatever the name of the next one.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultConsumerName: () => string = ConsumerOptions.defaultConsumerName

/**
 * The service's operation.
 *
 * @since 0.2.0
 * @category models
 */
export interface EventConsumerService {
  /**
   * Runs a member of the group until interrupted. It fails only with a missing group under
   * `onMissingGroup: "fail"`, or when a custom `failureSchedule` ends.
   */
  readonly consume: <R, E extends Event.Any = Event.Canonical>(
    options: ConsumeOptions<E, R>
  ) => Effect.Effect<never, GroupBackendError | MissingGroup, R>
  /**
   * The same member as a `Stream` of messages, each settled by the program (see {@link Settle}):
   * no more than `concurrency` unsettled at once. A message left unsettled when the stream ends
   * stays pending, for a claim. It fails as `consume` does.
   */
  readonly stream: <E extends Event.Any = Event.Canonical>(
    options: MemberOptions<E>
  ) => Stream.Stream<Received<E>, GroupBackendError | MissingGroup>
}

/**
 * The event consumer.
 *
 * @since 0.2.0
 * @category tags
 * @example
 * import { Effect } from "effect"
 * import { EventConsumer } from "@maf/events"
 *
 * const auditor = EventConsumer.consume({
 *   group: "auditor",
 *   handler: (message) =>
 *     message._tag === "KnownEvent" && message.event.kind === "llm.call"
 *       ? Effect.log(`cost of ${message.streamId}`)
 *       : Effect.void
 * })
 */
export class EventConsumer extends Context.Tag("@maf/events/EventConsumer")<
  EventConsumer,
  EventConsumerService
>() {}

/**
 * A consumer over a group backend.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (groups: GroupBackend["Type"]): EventConsumerService => ({
  consume: (options) =>
    options.partitions === undefined
      ? Consumer.consume(groups, options, options.handler)
      : PartitionConsumer.consume(groups, options, options.handler),
  stream: (options) =>
    options.partitions === undefined
      ? ConsumerStream.stream(groups, options)
      : PartitionConsumer.stream(groups, options)
})

/**
 * The consumer over the `GroupBackend` of the context (the memory one of `MemoryStreamBackend.layer`,
 * or the Redis one of `@maf/events-redis`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<EventConsumer, never, GroupBackend> = Layer.effect(
  EventConsumer,
  Effect.map(GroupBackend, make)
)

/**
 * Runs a member with the `EventConsumer` of the context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const consume = <R, E extends Event.Any = Event.Canonical>(
  options: ConsumeOptions<E, R>
): Effect.Effect<never, GroupBackendError | MissingGroup, R | EventConsumer> =>
  Effect.flatMap(EventConsumer, (consumer) => consumer.consume(options))

/**
 * The messages of a member of the `EventConsumer` of the context, each settled by the program.
 *
 * @since 0.2.0
 * @category accessors
 * @example
 * import { Effect, Stream } from "effect"
 * import { EventConsumer } from "@maf/events"
 *
 * const audited = EventConsumer.stream({ group: "auditor", concurrency: 8 }).pipe(
 *   Stream.mapEffect(
 *     (message) =>
 *       message._tag === "Gap"
 *         ? Effect.void
 *         : Effect.log(`${message.streamId}, delivery ${message.deliveryCount}`).pipe(Effect.zipRight(message.ack)),
 *     { concurrency: 8 }
 *   ),
 *   Stream.runDrain
 * )
 */
export const stream = <E extends Event.Any = Event.Canonical>(
  options: MemberOptions<E>
): Stream.Stream<Received<E>, GroupBackendError | MissingGroup, EventConsumer> =>
  Stream.unwrap(Effect.map(EventConsumer, (consumer) => consumer.stream(options)))
