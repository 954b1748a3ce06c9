/**
 * One stream of the in-memory backend: its entries, ids and counters, with Redis' semantics where the
 * bus, the reader and the groups rely on them, and its consumer groups (`memoryGroups.ts`).
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import { compareEntryIds, type EntryId, type StreamEntry, type StreamInfo } from "../StreamBackend.js"
import type { MemoryGroup } from "./memoryGroups.js"

/**
 * Entries per node: approximate trimming removes only whole nodes, as Redis' default
 * `stream-node-max-entries` 100 makes it do.
 */
export const nodeSize = 100

/** An entry as stored: its id also as numbers. */
export interface StoredEntry extends StreamEntry, EntryId {}

/** One stream. */
export class MemoryStream {
  /** Its consumer groups, by name. */
  readonly groups = new Map<string, MemoryGroup>()
  entries: Array<StoredEntry> = []
  head = 0
  last: EntryId = { ms: 0, seq: 0 }
  entriesAdded = 0
  /** As in Redis 7.0: set by deletions in the middle (`XDEL`), left alone by trimming. */
  maxDeleted: EntryId = { ms: 0, seq: 0 }
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

  /** The entry with this id, if it is in the stream. */
  get(id: EntryId): StoredEntry | undefined {
    const at = this.indexAfter({ ms: id.ms, seq: id.seq - 1 })
    const entry = this.entries[at]
    return entry !== undefined && compareEntryIds(entry, id) === 0 ? entry : undefined
  }

  /** Deletes entries by id, as `XDEL`: how many were there. */
  delete(ids: ReadonlyArray<EntryId>): number {
    let deleted = 0
    for (const id of ids) {
      const entry = this.get(id)
      if (entry === undefined) continue
      this.entries.splice(this.entries.indexOf(entry, this.head), 1)
      if (compareEntryIds(id, this.maxDeleted) > 0) this.maxDeleted = { ms: id.ms, seq: id.seq }
      deleted++
    }
    return deleted
  }

  /** Wakes every read waiting for this stream to change. */
  notify(): void {
    const changed = this.changed
    this.changed = Deferred.unsafeMake(FiberId.none)
    Deferred.unsafeDone(changed, Exit.void)
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
