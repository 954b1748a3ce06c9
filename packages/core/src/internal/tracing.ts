/**
 * The bus' tracing, with Effect's own `Tracer` (no OpenTelemetry import): whether a fiber's spans
 * would be seen at all, the W3C `traceparent` of a span and back, the entry field that carries it,
 * and the OpenTelemetry messaging attributes of the bus' spans (`send`, `receive`, `process`,
 * `settle`).
 *
 * Without a tracer Effect still makes every span (its built-in tracer's spans: random ids, a map of
 * attributes, a captured stack trace) and records nothing. The hot paths ask {@link spansWanted}
 * first (a few reads of the fiber's state, nothing allocated) and make no span when nothing would
 * see it.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { BackendServer, StreamEntry } from "../StreamBackend.js"

/** The entry field that carries the producer's trace context, beside `data`. */
export const traceparentField = "traceparent"

/** Effect's built-in tracer: the one every fiber has unless a tracer is provided; it records nothing. */
export const nativeTracer: Tracer.Tracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/** The fiber's tracer (a field the fiber keeps up to date: no look-up). */
export const tracerOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Tracer.Tracer => fiber.currentTracer

/**
 * The span a span made in `fiber` now would be a child of (one whose propagation is disabled is
 * skipped, as Effect does), or `undefined`.
 */
export const currentSpan = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Tracer.AnySpan | undefined => {
  let span = fiber.currentSpan
  while (span !== undefined && Context.get(span.context, Tracer.DisablePropagation)) {
    span = span._tag === "Span" ? Option.getOrUndefined(span.parent) : undefined
  }
  return span
}

/**
 * Whether a span made in `fiber` now would be seen: either the tracer is not Effect's built-in one
 * (it records), or the fiber is in a span (its children are visible to the program, and carry its
 * trace on); and tracing is on (`Effect.withTracerEnabled`). Untraced, two field reads.
 */
export const spansWanted = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  (fiber.currentTracer !== nativeTracer || currentSpan(fiber) !== undefined) &&
  fiber.getFiberRef(FiberRef.currentTracerEnabled)

const hex32 = /^[0-9a-f]{32}$/
const hex16 = /^[0-9a-f]{16}$/
const zeros32 = "00000000000000000000000000000000"
const zeros16 = "0000000000000000"

/**
 * A span's context as a W3C `traceparent` (`00-<trace-id>-<span-id>-<flags>`); `undefined` when its
 * ids are not W3C ids (32 and 16 lowercase hex digits, not all zero).
 */
export const formatTraceparent = (span: Tracer.AnySpan): string | undefined =>
  hex32.test(span.traceId) && hex16.test(span.spanId) && span.traceId !== zeros32 && span.spanId !== zeros16
    ? `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`
    : undefined

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/

/**
 * A W3C `traceparent` as an external span (the producer's span context); `undefined` when it is not
 * one: a bad form, version `ff`, ids all zero, or a version `00` with more after the flags. Later
 * versions are read by their first four parts, as the W3C recommendation says.
 */
export const parseTraceparent = (text: string): Tracer.ExternalSpan | undefined => {
  const match = traceparentPattern.exec(text.trim())
  if (match === null) return undefined
  const [, version, traceId, spanId, flags, rest] = match
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined
  if (traceId === zeros32 || spanId === zeros16) return undefined
  return Tracer.externalSpan({
    traceId: traceId!,
    spanId: spanId!,
    sampled: (Number.parseInt(flags!, 16) & 1) === 1
  })
}

/**
 * The `traceparent` field of an entry's fields (`[name, value, …]`), or `undefined`. An entry of the
 * `data` field alone (every untraced entry) is answered without a look.
 */
export const traceparentOf = (fields: ReadonlyArray<string>): string | undefined => {
  if (fields.length <= 2) return undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === traceparentField) return fields[i + 1]
  }
  return undefined
}

/** The producer's span context an entry carries, or `undefined`. */
export const producerOf = (entry: StreamEntry): Tracer.ExternalSpan | undefined => {
  const text = traceparentOf(entry.fields)
  return text === undefined ? undefined : parseTraceparent(text)
}

/** The messaging system named when a backend does not say. */
export const unknownSystem = "unknown"

/**
 * The attributes every span of the bus on `stream` carries (OpenTelemetry's messaging conventions):
 * `messaging.system`, `messaging.destination.name`, `server.address` / `server.port` where the
 * backend says where it talks to.
 */
export const destination = (
  stream: string,
  server: BackendServer | undefined
): Readonly<Record<string, unknown>> => {
  const attributes: Record<string, unknown> = {
    "messaging.system": server?.system ?? unknownSystem,
    "messaging.destination.name": stream
  }
  if (server?.address !== undefined) attributes["server.address"] = server.address
  if (server?.port !== undefined) attributes["server.port"] = server.port
  return attributes
}

/** The operation types of the messaging conventions that the bus' spans use. */
export type OperationType = "send" | "receive" | "process" | "settle"

/**
 * The attributes of one operation: `base` (see {@link destination}), the operation's type and
 * name, and `more`.
 */
export const operation = (
  base: Readonly<Record<string, unknown>>,
  type: OperationType,
  name: string,
  more?: Readonly<Record<string, unknown>>
): Record<string, unknown> => ({
  ...base,
  "messaging.operation.type": type,
  "messaging.operation.name": name,
  ...more
})

/** A link to a span, without attributes. */
export const linkTo = (span: Tracer.AnySpan): Tracer.SpanLink => ({ _tag: "SpanLink", span, attributes: {} })

/**
 * Records a span of an operation that is over (its start time known, its links known only at its
 * end), in `fiber`'s tracer, as a child of the fiber's span: a read's `receive` span, made only for
 * the reads that delivered entries (or failed).
 */
export const recordEnded = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  options: {
    readonly name: string
    readonly kind: Tracer.SpanKind
    readonly attributes: Readonly<Record<string, unknown>>
    readonly links: ReadonlyArray<Tracer.SpanLink>
    readonly startTime: bigint
    readonly endTime: bigint
    readonly exit: Exit.Exit<unknown, unknown>
  }
): void => {
  const parent = currentSpan(fiber)
  const span = tracerOf(fiber).span(
    options.name,
    parent === undefined ? Option.none() : Option.some(parent),
    Context.empty(),
    options.links,
    options.startTime,
    options.kind,
    { kind: options.kind, attributes: options.attributes, links: options.links }
  )
  for (const key in options.attributes) span.attribute(key, options.attributes[key])
  span.end(options.endTime, options.exit)
}
