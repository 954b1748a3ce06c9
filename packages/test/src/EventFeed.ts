/**
 * An `EventReader` fed with given entries, for testing code that consumes events: the consumer under
 * test reads exactly what the test put in the stream — events, malformed entries, unknown kinds, and
 * gaps — through the real reader and decoder, on the in-memory backend.
 *
 * - An `Event.Input` becomes an entry with its wire body (`ts` and `correlationId` filled from the
 *   `Clock` and `Random` when missing, so exact under `TestClock` and a seeded `Random`); it is read
 *   as `KnownEvent`, or as `UnknownKind` when its kind is not in the reader's catalog.
 * - {@link raw} and {@link data} put raw entries (any fields, bad JSON, bodies failing the schema):
 *   read as `Malformed` (or as whatever they decode to).
 * - {@link gap} stands for `lost` entries trimmed away before the reader got to them: the reader
 *   reads what comes before, then a `Gap` notice (`lost` counted exactly), then what follows.
 *
 * Gaps are played for the reader that reads the feed first: entries are written up to the next gap,
 * and the rest only once a reader has asked for what comes after them. A feed is meant for one
 * reader reading from `"0"` (the default of a consumer under test is often `"$"`: give it
 * `from: "0"`, or feed it after it started, with {@link EventFeedService.feed}).
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { EventReader } from "@maf/events"
 * import { EventFeed } from "@maf/events-test"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 *
 * it.effect("reads what was fed", () =>
 *   Effect.gen(function* () {
 *     const tags = yield* EventReader.stream({ from: "0" }).pipe(
 *       Stream.take(4),
 *       Stream.map((result) => result._tag),
 *       Stream.runCollect
 *     )
 *     // ["KnownEvent", "Malformed", "Gap", "KnownEvent"]
 *   }).pipe(
 *     Effect.provide(
 *       EventFeed.layer([
 *         { kind: "arena.start", arena: "trading" },
 *         EventFeed.data("{not json"),
 *         EventFeed.gap(3),
 *         { kind: "arena.complete", arena: "trading" }
 *       ])
 *     )
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 */
import {
  Event,
  type EventCatalog,
  EventReader,
  MemoryStreamBackend,
  StreamBackend,
  WireCodec
} from "@maf/events"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * A raw entry: its field list as given (`[name, value, …]`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Raw {
  readonly _tag: "Raw"
  readonly fields: ReadonlyArray<string>
}

/**
 * Entries trimmed away unread: the reader gets a `Gap` notice with `lost` in their place (before the
 * next entry fed after it).
 *
 * @since 0.1.0
 * @category models
 */
export interface Gap {
  readonly _tag: "Gap"
  readonly lost: number
}

/**
 * What a feed is made of: events to publish, raw entries and gaps.
 *
 * @since 0.1.0
 * @category models
 */
export type Item = Event.Input<string, unknown> | Raw | Gap

/**
 * A raw entry with the given fields, e.g. `raw("other", "x")` (no `data` field: read as `Malformed`
 * with reason `no_data_field`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const raw = (...fields: ReadonlyArray<string>): Raw => ({ _tag: "Raw", fields })

/**
 * A raw entry whose `data` field holds `text` as it is, e.g. `data("{not json")` (read as
 * `Malformed` with reason `json_decode`) or `data('{"kind":"x.y","ts":"2026-01-01T00:00:00Z"}')`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const data = (text: string): Raw => raw(WireCodec.dataField, text)

/**
 * `lost` entries trimmed away before the reader got to them. A count below 1 is a programming error
 * (a `RangeError` is thrown).
 *
 * @since 0.1.0
 * @category constructors
 */
export const gap = (lost: number): Gap => {
  if (!Number.isSafeInteger(lost) || lost < 1)
    throw new RangeError(`EventFeed.gap needs a count >= 1, got ${lost}`)
  return { _tag: "Gap", lost }
}

const isRaw = (item: Item): item is Raw => "_tag" in item && item._tag === "Raw"
const isGap = (item: Item): item is Gap => "_tag" in item && item._tag === "Gap"

/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The stream fed. Default `"maf:events"`. */
  readonly stream?: string | undefined
  /** The catalog whose payload Schemas encode typed payloads of the events fed. Default: canonical. */
  readonly catalog?: EventCatalog.EventCatalog<any> | undefined
}

/**
 * The feed's operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventFeedService {
  /** The stream fed. */
  readonly stream: string
  /** Feeds more, after what was fed before (a consumer already reading gets it). */
  readonly feed: (...items: ReadonlyArray<Item>) => Effect.Effect<void>
  /** The ids of the entries fed and written so far (not of the entries a gap stands for), in order. */
  readonly ids: Effect.Effect<ReadonlyArray<string>>
  /**
   * Waits until a reader has asked for what comes after everything fed: the consumer has taken all
   * of it (a reader asks for more only when its consumer wants more). For consumers that read on,
   * as services do; not for a `Stream.take(n)` that stops at the last entry.
   */
  readonly consumed: Effect.Effect<void>
}

/**
 * The feed of the context.
 *
 * @since 0.1.0
 * @category tags
 */
export class EventFeed extends Context.Tag("@maf/events-test/EventFeed")<EventFeed, EventFeedService>() {}

const fillerFields: ReadonlyArray<string> = ["filler", "trimmed before it was read"]

interface Segment {
  /** Entries trimmed away just before this segment. */
  lost: number
  readonly entries: Array<ReadonlyArray<string>>
}

const reached = (id: string, target: string): boolean => {
  const x = StreamBackend.parseEntryId(id)
  const y = StreamBackend.parseEntryId(target)
  return x !== undefined && y !== undefined && StreamBackend.compareEntryIds(x, y) >= 0
}

/**
 * Makes a feed on the in-memory backend: the feed, and the backend to read it from (pass it to
 * `EventReader.make`, or provide it as the `StreamBackend`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  items: ReadonlyArray<Item>,
  options: Options = {}
): Effect.Effect<{ readonly feed: EventFeedService; readonly backend: StreamBackend.StreamBackendService }> =>
  Effect.gen(function* () {
    const memory = yield* MemoryStreamBackend.make
    const stream = options.stream ?? EventReader.defaults.stream
    const codec = options.catalog === undefined ? WireCodec.canonical : WireCodec.make(options.catalog)
    const ids: Array<string> = []
    // What waits behind a gap until a reader has read everything before it.
    const queue: Array<Segment> = []
    let everythingRead = yield* Deferred.make<void>()

    const fieldsOf = (item: Event.Input<string, unknown> | Raw): Effect.Effect<ReadonlyArray<string>> =>
      isRaw(item)
        ? Effect.succeed(item.fields)
        : Effect.map(Event.make(item), (event) => [WireCodec.dataField, codec.encode(event)])

    const write = (entries: ReadonlyArray<ReadonlyArray<string>>) => memory.appendFields(stream, entries)

    const feed = (...more: ReadonlyArray<Item>): Effect.Effect<void> =>
      Effect.gen(function* () {
        if (more.length === 0) return
        if (yield* Deferred.isDone(everythingRead)) everythingRead = yield* Deferred.make<void>()
        for (const item of more) {
          const last = queue.at(-1)
          if (isGap(item)) {
            if (last !== undefined && last.entries.length === 0) last.lost += item.lost
            else queue.push({ lost: item.lost, entries: [] })
          } else {
            const fields = yield* fieldsOf(item)
            if (last !== undefined) last.entries.push(fields)
            else ids.push(...(yield* write([fields])))
          }
        }
      })

    /** A reader asks for what comes after `after`: play the next gap when it has read everything. */
    const onRead = (after: string): Effect.Effect<void> =>
      Effect.gen(function* () {
        // The in-memory backend's info never fails.
        const info = yield* Effect.orDie(memory.info(stream))
        if (!reached(after, info.lastId)) return
        const next = queue.shift()
        if (next === undefined) {
          yield* Deferred.succeed(everythingRead, undefined)
          return
        }
        const written = yield* write([
          ...Array.from({ length: next.lost }, () => fillerFields),
          ...next.entries
        ])
        ids.push(...written.slice(next.lost))
        // The entries a gap stands for are trimmed away, with everything already read.
        yield* memory.trim(stream, next.entries.length)
      })

    const backend: StreamBackend.StreamBackendService = {
      append: memory.append,
      info: memory.info,
      openCursor: Effect.map(memory.openCursor, (cursor) => ({
        read: (name: string, after: string, readOptions: StreamBackend.ReadOptions) =>
          name === stream
            ? Effect.zipRight(onRead(after), cursor.read(name, after, readOptions))
            : cursor.read(name, after, readOptions)
      }))
    }

    yield* feed(...items)
    return {
      backend,
      feed: {
        stream,
        feed,
        ids: Effect.sync(() => ids.slice()),
        consumed: Effect.suspend(() => Deferred.await(everythingRead))
      }
    }
  })

/**
 * An `EventReader` fed with `items` (on a fresh in-memory backend, also provided as the
 * `StreamBackend`), and its {@link EventFeed}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  items: ReadonlyArray<Item>,
  options: Options = {}
): Layer.Layer<EventReader.EventReader | EventFeed | StreamBackend.StreamBackend> =>
  Layer.effectContext(
    Effect.map(make(items, options), ({ backend, feed }) =>
      Context.make(EventFeed, feed).pipe(
        Context.add(StreamBackend.StreamBackend, backend),
        Context.add(EventReader.EventReader, EventReader.make(backend))
      )
    )
  )

/**
 * Feeds more to the {@link EventFeed} of the context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const feed = (...items: ReadonlyArray<Item>): Effect.Effect<void, never, EventFeed> =>
  Effect.flatMap(EventFeed, (f) => f.feed(...items))

/**
 * Waits until the consumer has taken everything fed (see {@link EventFeedService.consumed}).
 *
 * @since 0.1.0
 * @category accessors
 */
export const consumed: Effect.Effect<void, never, EventFeed> = Effect.flatMap(EventFeed, (f) => f.consumed)
