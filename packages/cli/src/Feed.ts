/**
 * What `tail` and the dashboard follow: the reader's `Stream` of results over a backend, each with
 * the entry's wire body as it was written (for the JSON line), filtered by kind globs and arena.
 *
 * The body comes from a thin tee on the backend's cursor: the `data` text of every entry read is
 * kept (per stream, until its result has passed), and parsed when its result is a known event. The
 * reader itself (resume, retries, watchdog, gaps) is the library's.
 *
 * Filters: a known event or an unknown kind passes when its kind matches a glob (or there are none)
 * and its arena is the one asked for (or none is). Malformed entries and gaps always pass: they are
 * notices about the stream itself.
 *
 * @since 0.1.0
 */
import { EventReader, type ReadResult, StreamBackend, WireCodec } from "@maf/events"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { JsonObject } from "./Format.js"
import * as KindGlob from "./KindGlob.js"

/**
 * One result, with the entry's parsed wire body when the result is a known event (`undefined` when
 * the body could not be kept or parsed: the JSON line then re-creates it from the event).
 *
 * @since 0.1.0
 * @category models
 */
export interface Item {
  readonly result: ReadResult.ReadResult
  readonly body: JsonObject | undefined
}

/**
 * Options of a feed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The stream's key. */
  readonly stream: string
  /** `"$"`, `"0"` or an entry id: what comes after it. */
  readonly from: string
  /** Kind globs; empty: every kind. */
  readonly kinds?: ReadonlyArray<string> | undefined
  /** Only this arena. */
  readonly arena?: string | undefined
  /** Passed to the reader (tests make reads short). */
  readonly read?: Omit<EventReader.ReadOptions, "stream" | "from" | "catalog"> | undefined
}

/**
 * Checks a start position: `"$"`, `"0"` or an entry id (`1715680953123-0`, or `1715680953123`);
 * `undefined` when it is one, else what is wrong.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkFrom = (from: string): string | undefined =>
  from === "$" || from === "0" || StreamBackend.parseEntryId(from) !== undefined
    ? undefined
    : `must be $, 0 or an entry id like 1715680953123-0, got ${JSON.stringify(from)}`

/**
 * The longest arena a filter may name, in characters.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxArenaLength = 200

/**
 * Checks the filters of a feed against their bounds (`KindGlob.limits`, {@link maxArenaLength}):
 * `undefined` when they are within them, else what is wrong. The dashboard answers 400 with it,
 * `tail` a usage error.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkFilters = (kinds: ReadonlyArray<string>, arena: string | undefined): string | undefined =>
  KindGlob.check(kinds) ??
  (arena !== undefined && arena.length > maxArenaLength
    ? `an arena filter has at most ${maxArenaLength} characters, got ${arena.length}`
    : undefined)

/**
 * A filter on results from kind globs and an arena (see the module's description).
 *
 * @since 0.1.0
 * @category filters
 */
export const filter = (
  kinds: ReadonlyArray<string> = [],
  arena?: string | undefined
): ((result: ReadResult.ReadResult) => boolean) => {
  const kindMatches = KindGlob.matcher(kinds)
  return (result) => {
    switch (result._tag) {
      case "KnownEvent":
        return kindMatches(result.event.kind) && (arena === undefined || result.event.arena === arena)
      case "UnknownKind":
        return kindMatches(result.kind) && (arena === undefined || result.body.arena === arena)
      default:
        return true
    }
  }
}

/**
 * The `data` field's text of an entry's fields (`undefined` when it has none).
 *
 * @since 0.2.0
 * @category getters
 */
export const dataOf = (fields: ReadonlyArray<string>): string | undefined => {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === WireCodec.dataField) return fields[i + 1]
  return undefined
}

/**
 * A `data` text parsed as a JSON object (`undefined` when there is none, or it is not one).
 *
 * @since 0.2.0
 * @category getters
 */
export const parseObject = (text: string | undefined): JsonObject | undefined => {
  if (text === undefined) return undefined
  try {
    const parsed: unknown = JSON.parse(text)
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as JsonObject)
      : undefined
  } catch {
    // Python's NaN / Infinity tokens: the body is re-created from the decoded event instead.
    return undefined
  }
}

/**
 * The feed over a backend.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  backend: StreamBackend.StreamBackendService,
  options: Options
): Stream.Stream<Item, StreamBackend.StreamBackendError> =>
  Stream.suspend(() => {
    // By key and id: the partitions of a partitioned stream give out ids of their own, the same
    // id in two of them when written in the same millisecond.
    const bodies = new Map<string, string | undefined>()
    const bodyKey = (key: string, id: string) => `${key}\n${id}`
    const teed: StreamBackend.StreamBackendService = {
      ...backend,
      // The cursor's own properties (`boundsReads`) stay: the wrapper only looks at what it reads.
      openCursor: Effect.map(backend.openCursor, (cursor) => ({
        ...cursor,
        read: (stream, after, readOptions) =>
          Effect.tap(cursor.read(stream, after, readOptions), (batch) => {
            for (const entry of batch.entries) bodies.set(bodyKey(stream, entry.id), dataOf(entry.fields))
          })
      }))
    }
    const keep = filter(options.kinds, options.arena)
    return EventReader.make(teed)
      .stream({ ...options.read, stream: options.stream, from: options.from })
      .pipe(
        Stream.map((result): Item => {
          if (result._tag === "Gap") return { result, body: undefined }
          const key = bodyKey(result.partition ?? options.stream, result.streamId)
          const text = bodies.get(key)
          bodies.delete(key)
          return { result, body: result._tag === "KnownEvent" ? parseObject(text) : undefined }
        }),
        Stream.filter((item) => keep(item.result))
      )
  })

/**
 * The feed over the `StreamBackend` of the context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const stream = (
  options: Options
): Stream.Stream<Item, StreamBackend.StreamBackendError, StreamBackend.StreamBackend> =>
  Stream.unwrap(Effect.map(StreamBackend.StreamBackend, (backend) => make(backend, options)))
