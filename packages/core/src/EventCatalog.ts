/**
 * The set of kinds a reader decodes to typed events: the canonical kinds by default, plus the kinds
 * a user defines. A kind outside the catalog is read as the `UnknownKind` variant.
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import type * as Event from "./Event.js"
import * as EventKind from "./EventKind.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@maf/events/EventCatalog")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A catalog of kinds whose events are of type `E`.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventCatalog<out E extends Event.Any = Event.Any> extends Pipeable {
  readonly [TypeId]: { readonly _E: (_: never) => E }
  readonly kinds: ReadonlyMap<string, EventKind.Any>
}

/**
 * The event type of a catalog.
 *
 * @since 0.1.0
 * @category models
 */
export type EventOf<C> = C extends EventCatalog<infer E> ? E : never

/**
 * The union of the events of the kinds in `Kinds`, where a later definition of a kind replaces an
 * earlier one.
 *
 * @since 0.1.0
 * @category models
 */
export type Merge<E extends Event.Any, Kinds extends ReadonlyArray<EventKind.Any>> =
  | Exclude<E, { readonly kind: Kinds[number]["kind"] }>
  | EventKind.EventOf<Kinds[number]>

const Proto = {
  [TypeId]: { _E: (_: never) => _ },
  pipe() {
    // biome-ignore lint/complexity/noArguments: the Pipeable protocol
    return pipeArguments(this, arguments)
  }
}

const fromMap = <E extends Event.Any>(kinds: ReadonlyMap<string, EventKind.Any>): EventCatalog<E> => {
  const self = Object.create(Proto)
  self.kinds = kinds
  return self
}

/**
 * A catalog of exactly the given kinds.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <const Kinds extends ReadonlyArray<EventKind.Any>>(
  ...kinds: Kinds
): EventCatalog<EventKind.EventOf<Kinds[number]>> => fromMap(new Map(kinds.map((k) => [k.kind, k])))

/**
 * The 19 canonical kinds with untyped JSON payloads: what readers decode by default.
 *
 * @since 0.1.0
 * @category constructors
 */
export const canonical: EventCatalog<Event.Canonical> = make(...Object.values(EventKind.canonical))

/**
 * Adds kinds to a catalog; a kind already there is replaced (to give a canonical kind a typed
 * payload, say).
 *
 * @since 0.1.0
 * @category combinators
 * @example
 * import { Schema } from "effect"
 * import { EventCatalog, EventKind } from "@maf/events"
 *
 * const TradeFill = EventKind.make("trade.fill", Schema.Struct({ symbol: Schema.String, qty: Schema.Number }))
 * const catalog = EventCatalog.canonical.pipe(EventCatalog.add(TradeFill))
 * // EventCatalog<Event.Canonical | Event<"trade.fill", { symbol: string; qty: number }>>
 */
export const add: {
  <const Kinds extends ReadonlyArray<EventKind.Any>>(
    ...kinds: Kinds
  ): <E extends Event.Any>(self: EventCatalog<E>) => EventCatalog<Merge<E, Kinds>>
  <E extends Event.Any, const Kinds extends ReadonlyArray<EventKind.Any>>(
    self: EventCatalog<E>,
    ...kinds: Kinds
  ): EventCatalog<Merge<E, Kinds>>
} = dual(
  (args) => isEventCatalog(args[0]),
  (self: EventCatalog<any>, ...kinds: ReadonlyArray<EventKind.Any>): EventCatalog<any> => {
    const map = new Map(self.kinds)
    for (const k of kinds) map.set(k.kind, k)
    return fromMap(map)
  }
)

/**
 * Whether `u` is an `EventCatalog`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isEventCatalog = (u: unknown): u is EventCatalog<Event.Any> =>
  typeof u === "object" && u !== null && TypeId in u
