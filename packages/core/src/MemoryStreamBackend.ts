/**
 * The embedded backend: streams held in memory, with Redis' semantics where the bus and the reader
 * rely on them: ids `<ms>-<seq>` from the `Clock`, strictly increasing; approximate `MAXLEN ~`
 * trimming in whole nodes of 100 entries; `XINFO STREAM`'s `entries-added` and
 * `max-deleted-entry-id`; reads after an id that block until an entry arrives or time runs out.
 *
 * It is the default for the demo and for unit tests; the conformance suite holds it to the same
 * contract as Redis.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { GroupBackend, type GroupBackendService } from "./GroupBackend.js"
import * as MemoryGroups from "./internal/memoryGroups.js"
import * as MemoryStreamInternal from "./internal/memoryStream.js"
import { traceparentField } from "./internal/tracing.js"
import {
  type AppendOptions,
  type BackendServer,
  parseEntryId,
  type ReadBatch,
  type ReadOptions,
  StreamBackend,
  StreamBackendError,
  type StreamBackendService,
  type StreamEntry
} from "./StreamBackend.js"

/**
 * Entries per node: approximate trimming removes only whole nodes, as Redis' default
 * `stream-node-max-entries` 100 makes it do.
 *
 * @since 0.1.0
 * @category constants
 */
export const nodeSize: number = MemoryStreamInternal.nodeSize

/**
 * The in-memory backend, with the extra operations tests need on top of the port.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryStreamBackendService extends StreamBackendService {
  /** Appends raw entries (any fields, malformed ones too), as a raw `XADD` would. */
  readonly appendFields: (
    stream: string,
    entries: ReadonlyArray<ReadonlyArray<string>>
  ) => Effect.Effect<ReadonlyArray<string>>
  /** Removes the oldest entries so that at most `maxlen` remain (exact, as `XTRIM MAXLEN`); returns how many went. */
  readonly trim: (stream: string, maxlen: number) => Effect.Effect<number>
  /** The entries now in the stream, oldest first. */
  readonly entries: (stream: string) => Effect.Effect<ReadonlyArray<StreamEntry>>
  /** Deletes entries by id, as `XDEL` (a deletion in the middle): how many were there. */
  readonly deleteEntries: (stream: string, ids: ReadonlyArray<string>) => Effect.Effect<number>
  /** Deletes the stream and its groups, as `DEL` (or an eviction, or `FLUSHALL`, for this key). */
  readonly deleteStream: (stream: string) => Effect.Effect<void>
  /** Destroys a consumer group, as `XGROUP DESTROY`: whether it existed. */
  readonly destroyGroup: (stream: string, group: string) => Effect.Effect<boolean>
  /** The stream's consumer groups (the port), on the same streams. */
  readonly groups: GroupBackendService
}

/**
 * The in-memory backend with its extra operations, as a service.
 *
 * @since 0.1.0
 * @category tags
 */
export class MemoryStreamBackend extends Context.Tag("@maf/events/MemoryStreamBackend")<
  MemoryStreamBackend,
  MemoryStreamBackendService
>() {}

const invalidId = (id: string) =>
  new StreamBackendError({
    reason: "Rejected",
    message: `Invalid stream ID specified as stream command argument: ${id}`
  })

/** What the spans of the bus name as the in-memory backend's system. */
const server: BackendServer = { system: "memory" }

/**
 * Creates an empty in-memory backend.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<MemoryStreamBackendService> = Effect.sync(() => {
  const streams = new Map<string, MemoryStreamInternal.MemoryStream>()
  const streamOf = (name: string): MemoryStreamInternal.MemoryStream => {
    let s = streams.get(name)
    if (s === undefined) {
      s = new MemoryStreamInternal.MemoryStream()
      streams.set(name, s)
    }
    return s
  }

  const addAll = (stream: string, entries: ReadonlyArray<ReadonlyArray<string>>, maxlen: number) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const s = streamOf(stream)
      const ids = entries.map((fields) => {
        const id = s.add(now, fields)
        s.trimApproximately(maxlen)
        return id
      })
      s.notify()
      return ids
    })

  const append = (stream: string, bodies: ReadonlyArray<string>, options: AppendOptions) => {
    const traceparents = options.traceparents
    return addAll(
      stream,
      bodies.map((body, i) => {
        const traceparent = traceparents?.[i]
        return traceparent === undefined ? ["data", body] : ["data", body, traceparentField, traceparent]
      }),
      options.maxlen
    )
  }

  const read = (
    stream: string,
    after: string,
    options: ReadOptions
  ): Effect.Effect<ReadBatch, StreamBackendError> =>
    Effect.suspend(() => {
      const s = streamOf(stream)
      const from = after === "$" ? s.last : parseEntryId(after)
      if (from === undefined) return Effect.fail(invalidId(after))
      const info = s.info()
      const now = s.after(from, options.count)
      if (now.length > 0 || options.blockMillis === undefined) return Effect.succeed({ entries: now, info })
      const wait = Deferred.await(s.changed)
      const bounded = options.blockMillis === 0 ? wait : Effect.timeoutOption(wait, options.blockMillis)
      return Effect.map(bounded, () => ({ entries: s.after(from, options.count), info }))
    })

  const service: MemoryStreamBackendService = {
    server,
    append,
    info: (stream) => Effect.sync(() => streamOf(stream).info()),
    openCursor: Effect.succeed({ read }),
    appendFields: (stream, entries) => addAll(stream, entries, 0),
    trim: (stream, maxlen) =>
      Effect.sync(() => {
        const s = streamOf(stream)
        return s.removeOldest(s.length - Math.max(0, maxlen))
      }),
    entries: (stream) =>
      Effect.sync(() => streamOf(stream).after({ ms: 0, seq: 0 }, Number.MAX_SAFE_INTEGER)),
    deleteEntries: (stream, ids) =>
      Effect.sync(() => {
        const parsed = ids.flatMap((id) => parseEntryId(id) ?? [])
        return streams.get(stream)?.delete(parsed) ?? 0
      }),
    deleteStream: (stream) =>
      Effect.sync(() => {
        const s = streams.get(stream)
        streams.delete(stream)
        // Blocked group reads wake and find their group gone.
        s?.notify()
      }),
    destroyGroup: (stream, group) =>
      Effect.sync(() => {
        const s = streams.get(stream)
        const existed = s?.groups.delete(group) ?? false
        s?.notify()
        return existed
      }),
    groups: { ...MemoryGroups.make(streamOf, (name) => streams.get(name)), server }
  }
  return service
})

/**
 * A fresh in-memory backend, as the ports (`StreamBackend`, `GroupBackend`) and its test-facing
 * service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<StreamBackend | GroupBackend | MemoryStreamBackend> = Layer.effectContext(
  Effect.map(make, (service) =>
    Context.make(MemoryStreamBackend, service).pipe(
      Context.add(StreamBackend, service),
      Context.add(GroupBackend, service.groups)
    )
  )
)
