/**
 * How the bus shows up in traces, with Effect's own tracer (provide any `Tracer`, e.g.
 * `@effect/opentelemetry`'s; this package imports no OpenTelemetry). Spans, named and attributed by
 * OpenTelemetry's messaging conventions (`messaging.system`, `messaging.destination.name`,
 * `messaging.operation.type` / `.name`, `messaging.message.id`, `messaging.consumer.group.name`,
 * `server.address` / `server.port`):
 *
 * - `send <stream>` (producer): an awaited `publish`, and each batch of fire-and-forget events
 *   (`messaging.batch.message_count`, a root span linking to the spans they were published in);
 * - `receive <stream>` (client): a reader's read that delivered entries (or failed);
 * - `process <stream>` (consumer): a consumer group's handler, linking to the producer's span;
 * - `settle <stream>` (client): a member's batch of acks, and each dead letter.
 *
 * The trace context crosses the bus in a second field of the entry, `traceparent` (W3C), beside
 * `data`: the `send` span of an awaited publish, or the span a fire-and-forget event was published
 * in. Readers' results and consumers' deliveries carry it as `producerSpan`. Spans are made only
 * where they would be seen: a tracer other than Effect's built-in one, or a fiber in a span.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import * as internal from "./internal/tracing.js"

/**
 * The entry field that carries the producer's trace context, beside `data`.
 *
 * @since 0.3.0
 * @category constants
 */
export const traceparentField: "traceparent" = internal.traceparentField

/**
 * A span's context as a W3C `traceparent` (`00-<trace-id>-<span-id>-<flags>`); none when its ids
 * are not W3C ids (32 and 16 lowercase hex digits, not all zero).
 *
 * @since 0.3.0
 * @category conversions
 */
export const toTraceparent = (span: Tracer.AnySpan): Option.Option<string> =>
  Option.fromNullable(internal.formatTraceparent(span))

/**
 * A W3C `traceparent` as an external span (to link to, or to continue with `Effect.withParentSpan`);
 * none when it is not a valid one.
 *
 * @since 0.3.0
 * @category conversions
 * @example
 * import { Effect, Option } from "effect"
 * import { EventBus, Tracing } from "@maf/events"
 *
 * // Continue the trace of a caller that passed its context on (an HTTP header, an environment variable).
 * const publishIn = (traceparent: string) =>
 *   Option.match(Tracing.fromTraceparent(traceparent), {
 *     onNone: () => EventBus.publish({ kind: "arena.start", arena: "trading" }),
 *     onSome: (span) =>
 *       EventBus.publish({ kind: "arena.start", arena: "trading" }).pipe(Effect.withParentSpan(span))
 *   })
 */
export const fromTraceparent = (text: string): Option.Option<Tracer.ExternalSpan> =>
  Option.fromNullable(internal.parseTraceparent(text))

/**
 * The producer's span context of an entry's fields (`[name, value, …]`): its `traceparent` field.
 *
 * @since 0.3.0
 * @category conversions
 */
export const fromFields = (fields: ReadonlyArray<string>): Option.Option<Tracer.ExternalSpan> => {
  const text = internal.traceparentOf(fields)
  return text === undefined ? Option.none() : fromTraceparent(text)
}

/**
 * `Effect.withSpan`, but only where the span would be seen (as the bus decides for its own spans: a
 * tracer other than Effect's built-in one, or a span around). Elsewhere `self` runs as it is, and
 * what it publishes carries no trace context. For a span around work that publishes without waiting,
 * whose events then carry this span's context.
 *
 * @since 0.3.0
 * @category combinators
 */
export const withSpanWhenTraced =
  (name: string, options?: Tracer.SpanOptions) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.withFiberRuntime<A, E, R>((fiber) =>
      internal.spansWanted(fiber) ? Effect.withSpan(self, name, options) : self
    )
