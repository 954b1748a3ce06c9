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
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import {
  type AppendOptions,
  compareEntryIds,
  type EntryId,
  parseEntryId,
  type ReadBatch,
  type ReadOptions,
  StreamBackend,
  StreamBackendError,
  type StreamBackendService,
  type StreamEntry,
  type StreamInfo
} from "./StreamBackend.js"

/**
 * Entries per node: approximate trimming removes only whole nodes, as Redis' default
 * `stream-node-max-entries` 100 makes it do.
 *
 * @since 0.1.0
 * @category constants
 */
export const nodeSize = 100

interface StoredEntry extends StreamEntry, EntryId {}

class MemoryStream {
  entries: Array<StoredEntry> = []
  head = 0
  last: EntryId = { ms: 0, seq: 0 }
  entriesAdded = 0
  /** As in Redis 7.0: set by deletions in the middle (`XDEL`, not offered here), left alone by trimming. */
  readonly maxDeleted: EntryId = { ms: 0, seq: 0 }
  /** Completed, and replaced, at every append: what blocking reads wait on. */
  changed: Deferred.Deferred<void> = Deferred.unsafeMake(FiberId.none)

  get length(): number {
    return this.entries.length - this.head
  }

  nextId(nowMs: number): EntryId {
    this.last = nowMs > this.last.ms ? { ms: nowMs, seq: 0 } : { ms: this.last.ms, seq: this.last.seq + 1 }
    return this.last
  }

  add(nowMs: number, fields: ReadonlyArray<string>): string {
    const { ms, seq } = this.nextId(nowMs)
    const id = `${ms}-${seq}`
    this.entries.push({ id, ms, seq, fields })
    this.entriesAdded++
    return id
  }

  removeOldest(n: number): number {
    const count = Math.min(n, this.length)
    if (count <= 0) return 0
    this.head += count
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
    return count
  }

  trimApproximately(maxlen: number): void {
    if (maxlen <= 0 || this.length <= maxlen) return
    this.removeOldest(Math.floor((this.length - maxlen) / nodeSize) * nodeSize)
  }

  /** The index of the first entry with an id greater than `after`. */
  indexAfter(after: EntryId): number {
    let lo = this.head
    let hi = this.entries.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareEntryIds(this.entries[mid]!, after) <= 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  after(after: EntryId, count: number): ReadonlyArray<StreamEntry> {
    const from = this.indexAfter(after)
    const to = Math.min(this.entries.length, from + Math.max(1, count))
    const out = new Array<StreamEntry>(to - from)
    for (let i = from; i < to; i++) {
      const e = this.entries[i]!
      out[i - from] = { id: e.id, fields: e.fields }
    }
    return out
  }

  info(): StreamInfo {
    return {
      length: this.length,
      firstId: this.length > 0 ? this.entries[this.head]!.id : undefined,
      lastId: `${this.last.ms}-${this.last.seq}`,
      entriesAdded: this.entriesAdded,
      maxDeletedEntryId: `${this.maxDeleted.ms}-${this.maxDeleted.seq}`
    }
  }
}

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

/**
 * Creates an empty in-memory backend.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<MemoryStreamBackendService> = Effect.sync(() => {
  const streams = new Map<string, MemoryStream>()
  const streamOf = (name: string): MemoryStream => {
    let s = streams.get(name)
    if (s === undefined) {
      s = new MemoryStream()
      streams.set(name, s)
    }
    return s
  }
  const notify = (s: MemoryStream): void => {
    const changed = s.changed
    s.changed = Deferred.unsafeMake(FiberId.none)
    Deferred.unsafeDone(changed, Exit.void)
  }

  const addAll = (stream: string, entries: ReadonlyArray<ReadonlyArray<string>>, maxlen: number) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const s = streamOf(stream)
      const ids = entries.map((fields) => {
        const id = s.add(now, fields)
        s.trimApproximately(maxlen)
        return id
      })
      notify(s)
      return ids
    })

  const append = (stream: string, bodies: ReadonlyArray<string>, options: AppendOptions) =>
    addAll(
      stream,
      bodies.map((body) => ["data", body]),
      options.maxlen
    )

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
    append,
    info: (stream) => Effect.sync(() => streamOf(stream).info()),
    openCursor: Effect.succeed({ read }),
    appendFields: (stream, entries) => addAll(stream, entries, 0),
    trim: (stream, maxlen) =>
      Effect.sync(() => {
        const s = streamOf(stream)
        return s.removeOldest(s.length - Math.max(0, maxlen))
      }),
    entries: (stream) => Effect.sync(() => streamOf(stream).after({ ms: 0, seq: 0 }, Number.MAX_SAFE_INTEGER))
  }
  return service
})

/**
 * A fresh in-memory backend, as both the port (`StreamBackend`) and its test-facing service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<StreamBackend | MemoryStreamBackend> = Layer.effectContext(
  Effect.map(make, (service) =>
    Context.make(MemoryStreamBackend, service).pipe(Context.add(StreamBackend, service))
  )
)
