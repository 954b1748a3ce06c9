/**
 * An `EventBus` for testing code that publishes: it writes nothing anywhere and keeps every event
 * published, so that a test can assert on them — all of them, by kind, by arena, their kinds in
 * order.
 *
 * It behaves as a bus that never fails: `publish` answers `Written` with an id shaped like Redis'
 * (`<ms>-<seq>`, from the `Clock`, strictly increasing), `publishNowait` answers `true`, `flush`
 * returns at once. Events are recorded as published, with `ts` and `correlationId` filled from
 * Effect's `Clock` and `Random` when the input has none — so under `it.effect` (`TestClock` at 0)
 * and a seeded `Random`, the recorded values are exact.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { EventBus } from "@maf/events"
 * import { RecordingEventBus } from "@maf/events-test"
 * import * as Effect from "effect/Effect"
 *
 * it.effect("publishes the start of the arena", () =>
 *   Effect.gen(function* () {
 *     yield* EventBus.publish({ kind: "arena.start", arena: "trading" })
 *     expect(yield* RecordingEventBus.kinds).toEqual(["arena.start"])
 *   }).pipe(Effect.provide(RecordingEventBus.layer))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Event, EventBus, PublishResult, WireCodec } from "@maf/events"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * One published event, as recorded.
 *
 * @since 0.1.0
 * @category models
 */
export interface Recorded {
  /** The id `publish` answered (or would have: `publishNowait` events get one too). */
  readonly id: string
  /** Whether it was published with `publish` (awaited) or `publishNowait` (fire-and-forget). */
  readonly via: "publish" | "publishNowait"
  /** The event, with its defaults filled. */
  readonly event: Event.Any
  /** The `data` text the event would be written as. */
  readonly wire: string
}

/**
 * The recordings of the {@link layer}'s bus.
 *
 * @since 0.1.0
 * @category tags
 */
export class RecordingEventBus extends Context.Tag("@maf/events-test/RecordingEventBus")<
  RecordingEventBus,
  {
    /** Every event published, in order. */
    readonly all: Effect.Effect<ReadonlyArray<Event.Any>>
    /** The events of one kind, in order. */
    readonly byKind: <K extends string, P = Event.Payload>(
      kind: K
    ) => Effect.Effect<ReadonlyArray<Event.Event<K, P>>>
    /** The events of one arena, in order. */
    readonly byArena: (arena: string) => Effect.Effect<ReadonlyArray<Event.Any>>
    /** The kinds of the events published, in order (with repeats). */
    readonly kinds: Effect.Effect<ReadonlyArray<string>>
    /** Every event published, with its id, how it was published and its wire text. */
    readonly records: Effect.Effect<ReadonlyArray<Recorded>>
    /** Forgets everything recorded so far (ids go on increasing). */
    readonly clear: Effect.Effect<void>
  }
>() {}

/**
 * Makes a recording bus: the `EventBus` service, and its recordings.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<{
  readonly bus: EventBus.EventBusService
  readonly recordings: Context.Tag.Service<RecordingEventBus>
}> = Effect.sync(() => {
  let recorded: Array<Recorded> = []
  let lastMs = -1
  let seq = 0

  const record = <K extends string, P>(input: Event.Input<K, P>, via: Recorded["via"]) =>
    Effect.flatMap(Event.make(input), (event) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (now > lastMs) {
          lastMs = now
          seq = 0
        } else {
          seq++
        }
        const id = `${lastMs}-${seq}`
        recorded.push({ id, via, event, wire: WireCodec.encode(event) })
        return id
      })
    )

  const bus: EventBus.EventBusService = {
    stream: EventBus.defaults.stream,
    publish: (input) => Effect.map(record(input, "publish"), (id) => PublishResult.Written({ id })),
    publishNowait: (input) => Effect.as(record(input, "publishNowait"), true),
    flush: Effect.void
  }

  const events = () => recorded.map((r) => r.event)
  const recordings: Context.Tag.Service<RecordingEventBus> = {
    all: Effect.sync(events),
    byKind: <K extends string, P = Event.Payload>(kind: K) =>
      Effect.sync(
        () => events().filter((e) => e.kind === kind) as unknown as ReadonlyArray<Event.Event<K, P>>
      ),
    byArena: (arena) => Effect.sync(() => events().filter((e) => e.arena === arena)),
    kinds: Effect.sync(() => recorded.map((r) => r.event.kind)),
    records: Effect.sync(() => recorded.slice()),
    clear: Effect.sync(() => {
      recorded = []
    })
  }
  return { bus, recordings }
})

/**
 * A recording `EventBus` and its {@link RecordingEventBus}. Each time the layer is built it starts
 * empty (share it across tests with `it.layer` and `clear` between them, or provide it per test).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<EventBus.EventBus | RecordingEventBus> = Layer.effectContext(
  Effect.map(make, ({ bus, recordings }) =>
    Context.make(EventBus.EventBus, bus).pipe(Context.add(RecordingEventBus, recordings))
  )
)

/**
 * Every event published on the recording bus of the context, in order.
 *
 * @since 0.1.0
 * @category accessors
 */
export const all: Effect.Effect<ReadonlyArray<Event.Any>, never, RecordingEventBus> = Effect.flatMap(
  RecordingEventBus,
  (r) => r.all
)

/**
 * The events of one kind, in order; the payload type may be stated
 * (`byKind<"trade.fill", { qty: number }>("trade.fill")`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const byKind = <K extends string, P = Event.Payload>(
  kind: K
): Effect.Effect<ReadonlyArray<Event.Event<K, P>>, never, RecordingEventBus> =>
  Effect.flatMap(RecordingEventBus, (r) => r.byKind<K, P>(kind))

/**
 * The events of one arena, in order.
 *
 * @since 0.1.0
 * @category accessors
 */
export const byArena = (arena: string): Effect.Effect<ReadonlyArray<Event.Any>, never, RecordingEventBus> =>
  Effect.flatMap(RecordingEventBus, (r) => r.byArena(arena))

/**
 * The kinds of the events published, in order.
 *
 * @since 0.1.0
 * @category accessors
 */
export const kinds: Effect.Effect<ReadonlyArray<string>, never, RecordingEventBus> = Effect.flatMap(
  RecordingEventBus,
  (r) => r.kinds
)

/**
 * Every event published, with its id, how it was published (`via`) and its wire text.
 *
 * @since 0.1.0
 * @category accessors
 */
export const records: Effect.Effect<ReadonlyArray<Recorded>, never, RecordingEventBus> = Effect.flatMap(
  RecordingEventBus,
  (r) => r.records
)

/**
 * Forgets everything recorded so far.
 *
 * @since 0.1.0
 * @category accessors
 */
export const clear: Effect.Effect<void, never, RecordingEventBus> = Effect.flatMap(
  RecordingEventBus,
  (r) => r.clear
)
