/**
 * The definition of one kind of event: its name and the Schema of its payload. Users define their
 * own kinds with typed payloads and add them to an `EventCatalog` to have them decoded, typed.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Event from "./Event.js"

/**
 * The wire body of an event whose payload's wire form is `I`.
 *
 * @since 0.1.0
 * @category models
 */
export interface WireBody<K extends string = string, I = unknown> {
  readonly schema_version?: string
  readonly kind: K
  readonly arena?: string
  readonly arena_id?: string
  readonly phase?: string
  readonly ts: string
  readonly correlation_id?: string
  readonly payload?: I
}

/**
 * The fields a kind's `make` takes: the envelope, and the payload (required when the kind's payload
 * is typed, optional for untyped JSON payloads).
 *
 * @since 0.1.0
 * @category models
 */
export type Fields<P> = Omit<Event.Input<string, P>, "kind" | "payload"> &
  (Event.Payload extends P ? { readonly payload?: P | undefined } : { readonly payload: P })

/**
 * A kind of event: its name, the Schema of its payload, the Schema of its whole wire body, and a
 * constructor of publishable inputs.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventKind<K extends string, P = Event.Payload, I = unknown> {
  readonly kind: K
  /** The payload's Schema: decodes the wire form `I` (JSON) to the typed `P`. */
  readonly payload: Schema.Schema<P, I>
  /** The whole wire body's Schema: snake_case JSON object to camelCase `Event`. */
  readonly body: Schema.Schema<Event.Event<K, P>, WireBody<K, I>>
  /** Whether encoding runs the payload's Schema (true for every user-given payload Schema). */
  readonly transformsPayload: boolean
  /** An input of this kind, ready to publish; `ts` and `correlationId` are filled when published. */
  readonly make: (fields: Fields<P>) => Event.Input<K, P>
}

/**
 * Any kind definition.
 *
 * @since 0.1.0
 * @category models
 */
export interface Any {
  readonly kind: string
  readonly payload: Schema.Schema<any, any>
  readonly body: Schema.Schema<any, any>
  readonly transformsPayload: boolean
  readonly make: (fields: any) => Event.Input<string, any>
}

/**
 * The event type of a kind definition.
 *
 * @since 0.1.0
 * @category models
 */
export type EventOf<T> = T extends EventKind<infer K, infer P, any> ? Event.Event<K, P> : never

const envelopeString = Schema.optionalWith(Schema.String, { default: () => "" })

/**
 * The Schema of a whole wire body, given the kind and the payload's Schema.
 *
 * @since 0.1.0
 * @category schemas
 */
export const bodySchema = <K extends string, P, I>(
  kind: K,
  payload: Schema.Schema<P, I>
): Schema.Schema<Event.Event<K, P>, WireBody<K, I>> =>
  Schema.Struct({
    kind: Schema.Literal(kind),
    arena: envelopeString,
    arenaId: envelopeString.pipe(Schema.fromKey("arena_id")),
    phase: envelopeString,
    ts: Event.Timestamp,
    correlationId: envelopeString.pipe(Schema.fromKey("correlation_id")),
    // The reference writes `payload or {}`: a missing payload is an empty one.
    payload: Schema.optionalWith(payload, { default: () => ({}) as P })
  }) as any

/**
 * Defines a kind. Without a payload Schema the payload is any JSON object.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Schema } from "effect"
 * import { EventKind } from "@maf/events"
 *
 * const TradeFill = EventKind.make(
 *   "trade.fill",
 *   Schema.Struct({ symbol: Schema.String, qty: Schema.Number, price: Schema.Number })
 * )
 * const input = TradeFill.make({ arena: "trading", payload: { symbol: "AAPL", qty: 10, price: 187.5 } })
 */
export const make: {
  <K extends string>(kind: K): EventKind<K, Event.Payload, Event.Payload>
  <K extends string, P, I>(kind: K, payload: Schema.Schema<P, I>): EventKind<K, P, I>
} = <K extends string, P, I>(kind: K, payload?: Schema.Schema<P, I>): EventKind<K, P, I> => {
  const payloadSchema = (payload ?? Event.PayloadSchema) as Schema.Schema<P, I>
  return {
    kind,
    payload: payloadSchema,
    body: bodySchema(kind, payloadSchema),
    transformsPayload: payload !== undefined,
    make: (fields) => ({ ...fields, kind }) as Event.Input<K, P>
  }
}

/**
 * The definitions of the 19 canonical kinds, each with an untyped JSON payload.
 *
 * @since 0.1.0
 * @category kinds
 * @example
 * import { EventKind } from "@maf/events"
 *
 * const input = EventKind.canonical["phase.complete"].make({ arena: "trading", payload: { score: 0.9 } })
 */
export const canonical: { readonly [K in Event.CanonicalKind]: EventKind<K, Event.Payload, Event.Payload> } =
  Object.fromEntries(Event.canonicalKinds.map((kind) => [kind, make(kind)])) as any
