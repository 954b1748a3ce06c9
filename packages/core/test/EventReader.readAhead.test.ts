/**
 * The read-ahead hint (`StreamCursor.readAhead`) as the cursor sees it: the stream, the position
 * after the full batch and the reader's own count and block; a hint that throws is the cursor's bug,
 * ignored, and reading goes on in order.
 */
import { describe, expect, it } from "@effect/vitest"
import { EventBus, EventReader, type StreamBackend } from "@maf/events"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { payloadIndex, publishMany, wrappedCursors } from "./helpers/reader.js"

interface Hint {
  readonly stream: string
  readonly after: string
  readonly options: StreamBackend.ReadOptions
}

/** Memory cursors taking hints: each recorded, and refused with a throw when `fails`. */
const hinted = (hints: Array<Hint>, fails: boolean) =>
  wrappedCursors((cursor) => ({
    read: cursor.read,
    readAhead: (stream, after, options) => {
      hints.push({ stream, after, options })
      if (fails) throw new Error("hint refused")
    }
  }))

const env = (hints: Array<Hint>, fails: boolean) =>
  EventReader.layer.pipe(Layer.provideMerge(EventBus.layer()), Layer.provideMerge(hinted(hints, fails)))

const readAll = (n: number) =>
  EventReader.stream({ from: "0", count: 128, block: "2 seconds" }).pipe(
    Stream.take(n),
    Stream.runCollect,
    Effect.map((results) => Chunk.toReadonlyArray(results))
  )

describe("EventReader's read-ahead hint", () => {
  it.scoped("names the stream, the last entry of the full batch, and the reader's count and block", () => {
    const hints: Array<Hint> = []
    return Effect.gen(function* () {
      yield* publishMany(0, 300)
      const results = yield* readAll(300)
      expect(results.map(payloadIndex)).toEqual(Array.from({ length: 300 }, (_, i) => i))
      expect(hints).toEqual([
        { stream: "maf:events", after: results[127]!.streamId, options: { count: 128, blockMillis: 2000 } },
        { stream: "maf:events", after: results[255]!.streamId, options: { count: 128, blockMillis: 2000 } }
      ])
    }).pipe(Effect.provide(env(hints, false)))
  })

  it.scoped("a hint that throws is ignored: every entry is still delivered once, in order", () => {
    const hints: Array<Hint> = []
    return Effect.gen(function* () {
      yield* publishMany(0, 300)
      const results = yield* readAll(300)
      expect(results.map(payloadIndex)).toEqual(Array.from({ length: 300 }, (_, i) => i))
      expect(hints).toHaveLength(2)
    }).pipe(Effect.provide(env(hints, true)))
  })
})
