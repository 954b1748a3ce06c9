/**
 * The reader's `receive` spans in the cases the tracing tests leave aside, with a tracer that records
 * what it is given: a read that fails is a failed span with no batch attributes; a read of traced and
 * untraced entries links to the traced ones' producers only; a cursor that bounds its reads is still
 * given the watchdog's bound when its reads are spans.
 */
import { describe, expect, it } from "@effect/vitest"
import { EventBus, EventReader, MemoryStreamBackend, StreamBackend } from "@maf/events"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { payloadIndex, publishMany, wrappedCursors } from "./helpers/reader.js"
import * as RecordingTracer from "./helpers/recordingTracer.js"

const receiveOf = (stream: string) => ({
  "messaging.system": "memory",
  "messaging.destination.name": stream,
  "messaging.operation.type": "receive",
  "messaging.operation.name": "read"
})

const over = (backend: Layer.Layer<StreamBackend.StreamBackend | MemoryStreamBackend.MemoryStreamBackend>) =>
  EventReader.layer.pipe(Layer.provideMerge(EventBus.layer()), Layer.provideMerge(backend))

describe("EventReader's receive spans", () => {
  it.live(
    "a read that fails is a failed span without batch attributes; the read after it, a span of its batch",
    () => {
      const { tracer, named } = RecordingTracer.make()
      let reads = 0
      const failingOnce = wrappedCursors((cursor) => ({
        read: (stream, after, options) =>
          ++reads === 1
            ? Effect.fail(new StreamBackend.StreamBackendError({ reason: "Unavailable", message: "reset" }))
            : cursor.read(stream, after, options)
      }))
      return Effect.gen(function* () {
        yield* publishMany(0, 1)
        const results = yield* EventReader.stream({ from: "0", retrySchedule: Schedule.recurs(1) }).pipe(
          Stream.take(1),
          Stream.runCollect
        )
        expect(Chunk.toReadonlyArray(results).map(payloadIndex)).toEqual([0])
        const [failed, delivered] = named("receive maf:events")
        expect(failed!.failed).toBe(true)
        expect(Object.fromEntries(failed!.attributes)).toEqual(receiveOf("maf:events"))
        expect(failed!.links).toEqual([])
        expect(delivered!.failed).toBe(false)
        expect(Object.fromEntries(delivered!.attributes)).toEqual({
          ...receiveOf("maf:events"),
          "messaging.batch.message_count": 1,
          "messaging.message.id": Chunk.unsafeHead(results).streamId
        })
      }).pipe(Effect.provide(over(failingOnce)), Effect.withTracer(tracer))
    }
  )

  it.live("a read of traced and untraced entries links to the traced entries' producers only", () => {
    const { tracer, named } = RecordingTracer.make()
    return Effect.gen(function* () {
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      yield* EventBus.publish({ kind: "arena.start" }).pipe(Effect.withSpan("p1"))
      // Written as a producer without tracing writes it: data alone.
      yield* mem.appendFields("maf:events", [
        ["data", JSON.stringify({ kind: "arena.start", ts: "2026-05-14T11:22:33.123456+00:00" })]
      ])
      yield* EventBus.publish({ kind: "arena.complete" }).pipe(Effect.withSpan("p2"))
      const results = yield* EventReader.stream({ from: "0" }).pipe(Stream.take(3), Stream.runCollect)
      expect(Chunk.toReadonlyArray(results).map((r) => r._tag)).toEqual([
        "KnownEvent",
        "KnownEvent",
        "KnownEvent"
      ])
      const [receive] = named("receive maf:events")
      expect(receive!.attributes.get("messaging.batch.message_count")).toBe(3)
      expect(receive!.linkedSpanIds).toEqual(named("send maf:events").map((send) => send.spanId))
    }).pipe(Effect.provide(over(wrappedCursors((cursor) => cursor))), Effect.withTracer(tracer))
  })

  it.live("a cursor that bounds its reads is given the watchdog's bound when its reads are spans too", () => {
    const { tracer, named } = RecordingTracer.make()
    const reads: Array<StreamBackend.ReadOptions> = []
    const bounding = wrappedCursors((cursor) => ({
      boundsReads: true,
      read: (stream, after, options) =>
        Effect.suspend(() => {
          reads.push(options)
          return cursor.read(stream, after, options)
        })
    }))
    return Effect.gen(function* () {
      yield* publishMany(0, 2)
      const results = yield* EventReader.stream({
        from: "0",
        count: 5,
        block: "300 millis",
        watchdogGrace: "1 second"
      }).pipe(Stream.take(2), Stream.runCollect)
      expect(Chunk.toReadonlyArray(results).map(payloadIndex)).toEqual([0, 1])
      expect(reads).toStrictEqual([{ count: 5, blockMillis: 300, timeoutMillis: 1300 }])
      expect(
        named("receive maf:events").map((span) => span.attributes.get("messaging.batch.message_count"))
      ).toEqual([2])
    }).pipe(Effect.provide(over(bounding)), Effect.withTracer(tracer))
  })
})
