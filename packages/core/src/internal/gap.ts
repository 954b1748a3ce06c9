/**
 * Gap detection, as a pure function of what the reader knows and what a read answered: whether
 * entries after the reader's position were removed (trimmed or deleted) before it read them, how
 * many where that can be counted, and how many entries were ever added up to the batch's last one.
 * See docs/DESIGN.md, "Gaps are found by counting".
 *
 * @internal
 */
import type * as ReadResult from "../ReadResult.js"
import type { ReadBatch, StreamInfo } from "../StreamBackend.js"

/** What the reader knows of its position. */
export interface Position {
  /** The last id delivered (or the pinned start; `"0-0"` for a replay from the start). */
  readonly after: string
  /** How many entries were ever added up to `after`, where known. */
  readonly addedThrough: number | undefined
}

/** A batch accounted for: the gap before its first entry, if any, and the count after it. */
export interface Accounted {
  readonly gap: ReadResult.Gap | undefined
  /** How many entries were ever added up to the batch's last entry, where known. */
  readonly addedThrough: number | undefined
}

/** The number written by `text` from `from` to `to` (digits only, a safe integer), or -1. */
const digitsAt = (text: string, from: number, to: number): number => {
  if (from >= to) return -1
  let n = 0
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return -1
    n = n * 10 + digit
  }
  return Number.isSafeInteger(n) ? n : -1
}

/**
 * Whether entry id `a` (`<ms>-<seq>` or `<ms>`) comes after `b`; false when either is undefined or
 * not an id. As `compareEntryIds` of `parseEntryId`s, without allocating: it runs a few times a read.
 */
export const greater = (a: string | undefined, b: string | undefined): boolean => {
  if (a === undefined || b === undefined) return false
  const aDash = a.indexOf("-")
  const bDash = b.indexOf("-")
  const aMs = digitsAt(a, 0, aDash === -1 ? a.length : aDash)
  const bMs = digitsAt(b, 0, bDash === -1 ? b.length : bDash)
  const aSeq = aDash === -1 ? 0 : digitsAt(a, aDash + 1, a.length)
  const bSeq = bDash === -1 ? 0 : digitsAt(b, bDash + 1, b.length)
  if (aMs < 0 || bMs < 0 || aSeq < 0 || bSeq < 0) return false
  return aMs === bMs ? aSeq > bSeq : aMs > bMs
}

/**
 * How many entries after `after` were removed before `firstId` (the first entry read): 0 for none,
 * `undefined` for a gap that can be seen but not counted.
 */
const lostBefore = (
  { after, addedThrough }: Position,
  info: StreamInfo,
  firstId: string
): number | undefined => {
  const added = info.entriesAdded
  const counted = addedThrough !== undefined && added !== undefined
  // Empty when the snapshot was taken (a blocking read then waited): whatever had been added after
  // `after` by then was removed unread; uncounted, the last id given tells whether there was any.
  if (info.length === 0) {
    if (counted) return Math.max(0, added - addedThrough)
    return greater(info.lastId, after) ? undefined : 0
  }
  // The first entry read is the stream's first: all that was removed came before it, the entries up
  // to `after` among them (the reader drops entries at or before `after`, so `firstId` is after it).
  if (firstId === info.firstId && counted) return Math.max(0, added - info.length - addedThrough)
  // A deletion (`XDEL`) between `after` and the first entry read.
  if (greater(info.maxDeletedEntryId, after) && greater(firstId, info.maxDeletedEntryId)) return undefined
  // The stream's first entry was past `after` at the snapshot, and the read began later still: the
  // entries in between were trimmed after the snapshot.
  if (greater(info.firstId, after) && greater(firstId, info.firstId)) return undefined
  return 0
}

/**
 * The gap before `batch`, read after `position`, and how many entries were ever added up to its last
 * entry. The batch's entries are all after `position.after` (the reader drops any others first).
 * Counts are kept while every gap is counted, and learnt again from a read up to the stream's end.
 */
export const detectGap = (position: Position, batch: ReadBatch): Accounted => {
  const { entries, info } = batch
  const first = entries[0]
  if (first === undefined) return { gap: undefined, addedThrough: position.addedThrough }
  const last = entries[entries.length - 1] ?? first
  // The stream counts fewer entries ever added than the reader knows of up to its position: the
  // server lost some (back from an older save, a replica behind it promoted, the stream deleted and
  // made again). Whether any after the position were among them cannot be told: a gap of unknown
  // size, and the count learnt again from the stream.
  if (
    position.addedThrough !== undefined &&
    info.entriesAdded !== undefined &&
    info.entriesAdded < position.addedThrough
  )
    return {
      gap: { _tag: "Gap", streamId: first.id, after: position.after, lost: undefined },
      addedThrough: last.id === info.lastId ? info.entriesAdded : undefined
    }
  const lost = lostBefore(position, info, first.id)
  const gap: ReadResult.Gap | undefined =
    lost === 0 ? undefined : { _tag: "Gap", streamId: first.id, after: position.after, lost }
  // Read up to the end as the snapshot saw it: the count is exact again.
  if (last.id === info.lastId && info.entriesAdded !== undefined)
    return { gap, addedThrough: info.entriesAdded }
  const addedThrough =
    position.addedThrough === undefined || lost === undefined
      ? undefined
      : position.addedThrough + lost + entries.length
  return { gap, addedThrough }
}
