/**
 * A cursor that bounds its own reads (`boundsReads`, as the Redis one): on the live clock each read
 * is given the watchdog's bound (block + grace) and runs in the reader's fiber; under another clock,
 * or with a watchdog past a host timer's reach, the reader keeps the bound itself and gives none.
 * Either way, a read the cursor fails is tried again after the last delivered entry.
 */
import { describe, expect, it } from "@effect/vitest"
import { EventBus, EventReader, StreamBackend } from "@maf/events"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { payloadIndex, publishMany, wrappedCursors } from "./helpers/reader.js"

interface Read {
  readonly after: string
  readonly options: StreamBackend.ReadOptions
}

/** Memory cursors saying they bound their reads, recording each read; `failing` reads fail. */
const boundingCursors = (reads: Array<Read>, failing: ReadonlySet<number> = new Set()) =>
  wrappedCursors((cursor) => ({
    boundsReads: true,
    read: (stream, after, options) =>
      Effect.suspend(() => {
        reads.push({ after, options })
        return failing.has(reads.length)
          ? Effect.fail(new StreamBackend.StreamBackendError({ reason: "Unavailable", message: "reset" }))
          : cursor.read(stream, after, options)
      })
  }))

const env = (reads: Array<Read>, failing?: ReadonlySet<number>) =>
  EventReader.layer.pipe(
    Layer.provideMerge(EventBus.layer()),
    Layer.provideMerge(boundingCursors(reads, failing))
  )

const readIndexes = (options: EventReader.ReadOptions, take: number) =>
  EventReader.stream(options).pipe(
    Stream.take(take),
    Stream.runCollect,
    Effect.map((results) => Chunk.toReadonlyArray(results).map(payloadIndex))
  )

describe("EventReader on a cursor that bounds its reads", () => {
  it.live("on the live clock, each read is given the watchdog's bound: block + grace", () => {
    const reads: Array<Read> = []
    return Effect.gen(function* () {
      yield* publishMany(0, 5)
      const indexes = yield* readIndexes(
        { from: "0", count: 2, block: "300 millis", watchdogGrace: "1 second" },
        5
      )
      expect(indexes).toEqual([0, 1, 2, 3, 4])
      expect(reads.map((r) => r.options)).toStrictEqual([
        { count: 2, blockMillis: 300, timeoutMillis: 1300 },
        { count: 2, blockMillis: 300, timeoutMillis: 1300 },
        { count: 2, blockMillis: 300, timeoutMillis: 1300 }
      ])
      expect(reads[0]!.after).toBe("0-0")
    }).pipe(Effect.provide(env(reads)), Effect.scoped)
  })

  it.live("a failed bounded read is tried again after the last delivered entry", () => {
    const reads: Array<Read> = []
    return Effect.gen(function* () {
      yield* publishMany(0, 4)
      const indexes = yield* readIndexes(
        { from: "0", count: 2, retrySchedule: Schedule.spaced("1 millis") },
        4
      )
      expect(indexes).toEqual([0, 1, 2, 3])
      // The second read failed; the third is the same read again.
      expect(reads[2]!.after).toBe(reads[1]!.after)
      expect(reads[1]!.after).not.toBe("0-0")
    }).pipe(Effect.provide(env(reads, new Set([2]))), Effect.scoped)
  })

  it.effect("under another clock (the TestClock), the reader keeps the bound: none is given", () => {
    const reads: Array<Read> = []
    return Effect.gen(function* () {
      yield* publishMany(0, 2)
      expect(yield* readIndexes({ from: "0", count: 5, block: "1 second" }, 2)).toEqual([0, 1])
      expect(reads.map((r) => r.options)).toStrictEqual([{ count: 5, blockMillis: 1000 }])
    }).pipe(Effect.provide(env(reads)), Effect.scoped)
  })

  it.live("a watchdog past a host timer's reach is kept by the reader: none is given", () => {
    const reads: Array<Read> = []
    return Effect.gen(function* () {
      yield* publishMany(0, 2)
      expect(
        yield* readIndexes({ from: "0", count: 5, block: "1 second", watchdogGrace: "30 days" }, 2)
      ).toEqual([0, 1])
      expect(reads.map((r) => r.options)).toStrictEqual([{ count: 5, blockMillis: 1000 }])
    }).pipe(Effect.provide(env(reads)), Effect.scoped)
  })
})
