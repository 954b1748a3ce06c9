/**
 * Gap detection (`internal/gap.ts`) case by case: what the reader knows of its position, the stream's
 * info just before a read, the ids the read answered, and the gap (with its count, where it can be
 * counted) and the count of entries added that the reader keeps after the batch. Ids are `<n>-0`,
 * the n-th entry ever added, so that counts can be checked by eye.
 */
import { describe, expect, it } from "@effect/vitest"
import { StreamBackend } from "@maf/events"
import { FastCheck as fc } from "effect"
import * as Gap from "../src/internal/gap.js"

/** The n-th entry ever added. */
const id = (n: number) => `${n}-0`

interface Case {
  readonly name: string
  readonly after: string
  readonly addedThrough: number | undefined
  /** The stream's info just before the read (a stream never deleted from, unless said). */
  readonly info: Partial<StreamBackend.StreamInfo> & Pick<StreamBackend.StreamInfo, "length">
  /** The entries the read answered, by number. */
  readonly read: ReadonlyArray<number>
  /** `"none"`, or the gap's count (`undefined`: a gap of unknown size). */
  readonly gap: "none" | { readonly lost: number | undefined }
  readonly addedThroughAfter: number | undefined
}

const cases: ReadonlyArray<Case> = [
  {
    name: "the server lost entries the reader had read (back from an older save): a gap of unknown size, the count learnt again",
    after: id(10),
    addedThrough: 10,
    // Back with 6 entries, then 2 new ones (numbered 11 and 12 here: ids go on with the clock).
    info: { length: 8, firstId: id(1), lastId: id(12), entriesAdded: 8 },
    read: [11, 12],
    gap: { lost: undefined },
    addedThroughAfter: 8
  },
  {
    name: "the stream deleted and made again: a gap of unknown size; not read to its end, the count unknown",
    after: id(10),
    addedThrough: 10,
    info: { length: 3, firstId: id(11), lastId: id(13), entriesAdded: 3 },
    read: [11, 12],
    gap: { lost: undefined },
    addedThroughAfter: undefined
  },
  {
    name: "as many entries added as the reader knows of: no loss told by the count",
    after: id(10),
    addedThrough: 10,
    info: { length: 11, firstId: id(1), lastId: id(11), entriesAdded: 11 },
    read: [11],
    gap: "none",
    addedThroughAfter: 11
  },
  {
    name: "no gap: the next entries of a stream nothing was removed from",
    after: id(3),
    addedThrough: 3,
    info: { length: 10, firstId: id(1), lastId: id(10), entriesAdded: 10 },
    read: [4, 5, 6],
    gap: "none",
    addedThroughAfter: 6
  },
  {
    name: "a read up to the stream's end learns the count again, from the info",
    after: id(3),
    addedThrough: undefined,
    info: { length: 10, firstId: id(1), lastId: id(10), entriesAdded: 10 },
    read: [4, 5, 6, 7, 8, 9, 10],
    gap: "none",
    addedThroughAfter: 10
  },
  {
    name: "a replay from 0 of a stream trimmed before the first read: every entry before the first",
    after: "0-0",
    addedThrough: 0,
    info: { length: 4, firstId: id(7), lastId: id(10), entriesAdded: 10 },
    read: [7, 8],
    gap: { lost: 6 },
    addedThroughAfter: 8
  },
  {
    name: "trimmed past the position while the reader was away: the entries between, counted",
    after: id(10),
    addedThrough: 10,
    info: { length: 5, firstId: id(36), lastId: id(40), entriesAdded: 40 },
    read: [36, 37, 38, 39, 40],
    gap: { lost: 25 },
    addedThroughAfter: 40
  },
  {
    name: "trimmed up to the position exactly: no gap",
    after: id(3),
    addedThrough: 3,
    info: { length: 7, firstId: id(4), lastId: id(10), entriesAdded: 10 },
    read: [4, 5],
    gap: "none",
    addedThroughAfter: 5
  },
  {
    name: "an entry deleted (XDEL) between the position and the first entry read: a gap of unknown size",
    after: id(3),
    addedThrough: 3,
    info: { length: 8, firstId: id(1), lastId: id(10), entriesAdded: 10, maxDeletedEntryId: id(5) },
    read: [6, 7],
    gap: { lost: undefined },
    addedThroughAfter: undefined
  },
  {
    name: "an entry deleted (XDEL) after the first entry read: no gap before it",
    after: id(3),
    addedThrough: 3,
    info: { length: 9, firstId: id(1), lastId: id(10), entriesAdded: 10, maxDeletedEntryId: id(8) },
    read: [4, 5, 6],
    gap: "none",
    addedThroughAfter: 6
  },
  {
    name: "from an id, the stream's first entry read first, an entry deleted further on: no gap before it",
    after: "3-5",
    addedThrough: undefined,
    info: { length: 6, firstId: id(4), lastId: id(10), entriesAdded: 10, maxDeletedEntryId: id(8) },
    read: [4, 5, 6],
    gap: "none",
    addedThroughAfter: undefined
  },
  {
    name: "an entry deleted (XDEL) at or before the position: no gap",
    after: id(5),
    addedThrough: 5,
    info: { length: 9, firstId: id(1), lastId: id(10), entriesAdded: 10, maxDeletedEntryId: id(5) },
    read: [6, 7],
    gap: "none",
    addedThroughAfter: 7
  },
  {
    name: "trimmed between the info and the read: a gap of unknown size",
    after: id(3),
    addedThrough: 3,
    info: { length: 6, firstId: id(5), lastId: id(10), entriesAdded: 10 },
    read: [7, 8],
    gap: { lost: undefined },
    addedThroughAfter: undefined
  },
  {
    name: "trimmed between the info and the read, read up to the end: uncounted, then counted again",
    after: id(3),
    addedThrough: 3,
    info: { length: 6, firstId: id(5), lastId: id(10), entriesAdded: 10 },
    read: [7, 8, 9, 10],
    gap: { lost: undefined },
    addedThroughAfter: 10
  },
  {
    name: "from an id, trimmed past it: a trim it cannot count is not reported",
    after: "2-5",
    addedThrough: undefined,
    info: { length: 5, firstId: id(6), lastId: id(10), entriesAdded: 10 },
    read: [6, 7, 8],
    gap: "none",
    addedThroughAfter: undefined
  },
  {
    name: "from an id, a deletion it can see by max-deleted-entry-id: lost unknown",
    after: "2-5",
    addedThrough: undefined,
    info: { length: 8, firstId: id(1), lastId: id(10), entriesAdded: 10, maxDeletedEntryId: id(4) },
    read: [5, 6],
    gap: { lost: undefined },
    addedThroughAfter: undefined
  },
  {
    name: "a stream emptied before a blocking read: every entry added after the position, counted",
    after: id(3),
    addedThrough: 3,
    info: { length: 0, lastId: id(10), entriesAdded: 10 },
    read: [11],
    gap: { lost: 7 },
    addedThroughAfter: 11
  },
  {
    name: "a stream emptied before a blocking read, from an id it once had entries after: lost unknown",
    after: "5-5",
    addedThrough: undefined,
    info: { length: 0, lastId: id(10), entriesAdded: 10 },
    read: [11],
    gap: { lost: undefined },
    addedThroughAfter: undefined
  },
  {
    name: "an empty stream never written past the position: no gap",
    after: "10-5",
    addedThrough: undefined,
    info: { length: 0, lastId: id(10), entriesAdded: 10 },
    read: [11],
    gap: "none",
    addedThroughAfter: undefined
  },
  {
    name: "a backend that tells no counts nor deletions: a trim is not reported",
    after: id(3),
    addedThrough: 3,
    info: {
      length: 5,
      firstId: id(6),
      lastId: id(10),
      entriesAdded: undefined,
      maxDeletedEntryId: undefined
    },
    read: [6, 7],
    gap: "none",
    addedThroughAfter: 5
  },
  {
    name: "a count of removed entries below the reader's own (a counter set back): no gap, never a negative one",
    after: id(3),
    addedThrough: 5,
    info: { length: 7, firstId: id(4), lastId: id(10), entriesAdded: 10 },
    read: [4, 5],
    gap: "none",
    addedThroughAfter: 7
  },
  {
    name: "an empty read: no gap, the count unchanged",
    after: id(3),
    addedThrough: 3,
    info: { length: 3, firstId: id(1), lastId: id(3), entriesAdded: 3 },
    read: [],
    gap: "none",
    addedThroughAfter: 3
  }
]

const batch = (c: Pick<Case, "info" | "read">): StreamBackend.ReadBatch => ({
  entries: c.read.map((n) => ({ id: id(n), fields: ["data", "{}"] })),
  info: { firstId: undefined, lastId: "0-0", entriesAdded: undefined, maxDeletedEntryId: "0-0", ...c.info }
})

describe("detectGap", () => {
  for (const c of cases) {
    it(c.name, () => {
      const accounted = Gap.detectGap({ after: c.after, addedThrough: c.addedThrough }, batch(c))
      expect(accounted).toEqual({
        gap:
          c.gap === "none"
            ? undefined
            : { _tag: "Gap", streamId: id(c.read[0] ?? 0), after: c.after, lost: c.gap.lost },
        addedThrough: c.addedThroughAfter
      })
    })
  }

  it("a second gap is counted from the count the first left", () => {
    // A replay from 0 of entries 1..10 trimmed to 6..10, read two at a time; then 11..30 are added
    // and the stream trimmed to 26..30 while the reader holds 6..7.
    const first = Gap.detectGap(
      { after: "0-0", addedThrough: 0 },
      batch({ info: { length: 5, firstId: id(6), lastId: id(10), entriesAdded: 10 }, read: [6, 7] })
    )
    expect(first.gap?.lost).toBe(5)
    expect(first.addedThrough).toBe(7)
    const second = Gap.detectGap(
      { after: id(7), addedThrough: first.addedThrough },
      batch({ info: { length: 5, firstId: id(26), lastId: id(30), entriesAdded: 30 }, read: [26, 27] })
    )
    expect(second.gap).toEqual({ _tag: "Gap", streamId: id(26), after: id(7), lost: 18 })
    expect(second.addedThrough).toBe(27)
  })
})

describe("greater: the order of entry ids, read without allocating", () => {
  const part = fc.oneof(
    fc.nat({ max: 20 }).map(String),
    fc.constantFrom("9007199254740991", "9007199254740992", "", "01", "1e3", " 1", "x")
  )
  const entryId = fc.oneof(
    part,
    fc.tuple(part, part).map(([ms, seq]) => `${ms}-${seq}`),
    fc.string()
  )

  it.prop(
    "agrees with compareEntryIds of parseEntryId: false when either is not an id",
    { a: entryId, b: entryId },
    ({ a, b }) => {
      const x = StreamBackend.parseEntryId(a)
      const y = StreamBackend.parseEntryId(b)
      expect(Gap.greater(a, b)).toBe(
        x !== undefined && y !== undefined && StreamBackend.compareEntryIds(x, y) > 0
      )
    },
    { fastCheck: { numRuns: 5000 } }
  )

  it("an id without a sequence is its sequence 0; undefined is after nothing and nothing is after it", () => {
    expect(Gap.greater("5", "4-9")).toBe(true)
    expect(Gap.greater("5", "5-0")).toBe(false)
    expect(Gap.greater("5-1", "5")).toBe(true)
    expect(Gap.greater(undefined, "0-0")).toBe(false)
    expect(Gap.greater("1-0", undefined)).toBe(false)
  })
})
