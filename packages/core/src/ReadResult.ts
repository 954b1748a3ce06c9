/**
 * What a reader yields for each stream entry: a known event, an unknown kind, a malformed entry, or
 * a gap notice for entries trimmed away before they were read. Every member carries a stream id, and
 * the union is exhaustively matchable with `Match.valueTags` / `Match.tagsExhaustive`.
 *
 * @since 0.1.0
 */
import type * as Tracer from "effect/Tracer"
import type * as Event from "./Event.js"

/**
 * An entry decoded to an event of a kind in the reader's catalog.
 *
 * @since 0.1.0
 * @category models
 */
export interface KnownEvent<E extends Event.Any = Event.Any> {
  readonly _tag: "KnownEvent"
  readonly streamId: string
  readonly event: E
  /**
   * The span context of the producer that wrote the entry (its `traceparent` field), when it was
   * published in a span; link to it (`Effect.linkSpans`) or continue it (`Effect.withParentSpan`).
   *
   * @since 0.3.0
   */
  readonly producerSpan?: Tracer.ExternalSpan | undefined
  /** The partition key it was read from: set by a reader of a partitioned stream only (`Partitions`). */
  readonly partition?: string | undefined
}

/**
 * An entry whose body is well formed but whose kind the reader's catalog does not know (a newer
 * producer, say). The raw kind and the whole parsed body are kept.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnknownKind {
  readonly _tag: "UnknownKind"
  readonly streamId: string
  readonly kind: string
  readonly body: { readonly [key: string]: unknown }
  /**
   * The span context of the producer that wrote the entry (its `traceparent` field), when it was
   * published in a span; link to it (`Effect.linkSpans`) or continue it (`Effect.withParentSpan`).
   *
   * @since 0.3.0
   */
  readonly producerSpan?: Tracer.ExternalSpan | undefined
  /** The partition key it was read from: set by a reader of a partitioned stream only (`Partitions`). */
  readonly partition?: string | undefined
}

/**
 * Why an entry is malformed: it has no `data` field, its `data` is not JSON, or its JSON does not
 * satisfy the event's Schema (not an object, no string `kind`, a bad envelope or payload).
 *
 * @since 0.1.0
 * @category models
 */
export type MalformedReason = "no_data_field" | "json_decode" | "schema"

/**
 * An entry that cannot be read as an event. The reason, a message and the raw text are kept.
 *
 * @since 0.1.0
 * @category models
 */
export interface Malformed {
  readonly _tag: "Malformed"
  readonly streamId: string
  readonly reason: MalformedReason
  readonly message: string
  /** The `data` field's text; `undefined` when there is none. */
  readonly raw: string | undefined
  /** The entry's raw field list (`[name, value, name, value, …]`). */
  readonly fields: ReadonlyArray<string>
  /**
   * The span context of the producer that wrote the entry (its `traceparent` field), when it was
   * published in a span; link to it (`Effect.linkSpans`) or continue it (`Effect.withParentSpan`).
   *
   * @since 0.3.0
   */
  readonly producerSpan?: Tracer.ExternalSpan | undefined
  /** The partition key it was read from: set by a reader of a partitioned stream only (`Partitions`). */
  readonly partition?: string | undefined
}

/**
 * A notice that entries after `after` were removed (trimmed by `MAXLEN` or deleted) before the
 * reader got them. `streamId` is the id of the first entry still there after the gap; on a
 * partitioned stream, `partition` names the key the gap is in.
 *
 * @since 0.1.0
 * @category models
 */
export interface Gap {
  readonly _tag: "Gap"
  readonly streamId: string
  /** The last id the reader delivered before the gap (`"0-0"` when it had delivered none). */
  readonly after: string
  /** How many entries were lost, where the backend can tell; `undefined` otherwise. */
  readonly lost: number | undefined
  /** The partition key it was read from: set by a reader of a partitioned stream only (`Partitions`). */
  readonly partition?: string | undefined
}

/**
 * One result of reading a stream.
 *
 * @since 0.1.0
 * @category models
 */
export type ReadResult<E extends Event.Any = Event.Any> = KnownEvent<E> | UnknownKind | Malformed | Gap

/**
 * @since 0.1.0
 * @category constructors
 */
export const knownEvent = <E extends Event.Any>(streamId: string, event: E): KnownEvent<E> => ({
  _tag: "KnownEvent",
  streamId,
  event
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const unknownKind = (streamId: string, kind: string, body: UnknownKind["body"]): UnknownKind => ({
  _tag: "UnknownKind",
  streamId,
  kind,
  body
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const malformed = (
  streamId: string,
  reason: MalformedReason,
  message: string,
  raw: string | undefined,
  fields: ReadonlyArray<string>
): Malformed => ({ _tag: "Malformed", streamId, reason, message, raw, fields })

/**
 * @since 0.1.0
 * @category constructors
 */
export const gap = (streamId: string, after: string, lost: number | undefined): Gap => ({
  _tag: "Gap",
  streamId,
  after,
  lost
})

/**
 * Whether a result is a known event.
 *
 * @since 0.1.0
 * @category guards
 */
export const isKnownEvent = <E extends Event.Any>(result: ReadResult<E>): result is KnownEvent<E> =>
  result._tag === "KnownEvent"
