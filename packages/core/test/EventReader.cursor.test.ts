/**
 * The reader's cursor as a user of a backend sees it, on the memory backend (its cursors wrapped to
 * record what they are asked, or to fail and hang as a server can):
 *
 * - one cursor serves every read until a read fails; an opening that fails is released before the
 *   reader tries again;
 * - the watchdog: a read that never answers ends, once the retry schedule is spent, with a `Timeout`
 *   error naming the bound; on the live clock, a cursor that does not bound its reads is given no
 *   bound and is cut by the watchdog;
 * - a failure to pin a `$` start is logged as a retry from the start;
 * - a count of 1 is a valid count; a batch that starts with entries already delivered delivers its
 *   new ones at once;
 * - the warnings about an entry name the stream and the entry.
 */
import { describe, expect, it } from "@effect/vitest"
import { EventBus, EventReader, MemoryStreamBackend, StreamBackend } from "@maf/events"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { captureLogs } from "./helpers/logs.js"
import { loggedCursors, payloadIndex, publishMany, wrappedCursors } from "./helpers/reader.js"

const reset = () => new StreamBackend.StreamBackendError({ reason: "Unavailable", message: "reset" })

/** The reader and the bus over `backend`. */
const over = (backend: Layer.Layer<StreamBackend.StreamBackend | MemoryStreamBackend.MemoryStreamBackend>) =>
  EventReader.layer.pipe(Layer.provideMerge(EventBus.layer()), Layer.provideMerge(backend))

describe("EventReader's cursor", () => {
  it.scoped("one cursor serves every read, and is closed when the stream ends", () => {
    const state = { failOpens: 0, failReads: 0, log: [] as Array<string> }
    return Effect.gen(function* () {
      yield* publishMany(0, 6)
      const results = yield* EventReader.stream({ from: "0", count: 2 }).pipe(
        Stream.take(6),
        Stream.runCollect
      )
      expect(Chunk.toReadonlyArray(results).map(payloadIndex)).toEqual([0, 1, 2, 3, 4, 5])
      expect(state.log).toEqual(["open 1", "read on 1", "read on 1", "read on 1", "close 1"])
    }).pipe(Effect.provide(over(loggedCursors(state))))
  })

  it.scoped("an opening that fails is released before the reader opens the next cursor", () => {
    const state = { failOpens: 2, failReads: 0, log: [] as Array<string> }
    return Effect.gen(function* () {
      yield* publishMany(0, 2)
      const results = yield* EventReader.stream({ from: "0", retrySchedule: Schedule.recurs(3) }).pipe(
        Stream.take(2),
        Stream.runCollect
      )
      expect(Chunk.toReadonlyArray(results).map(payloadIndex)).toEqual([0, 1])
      expect(state.log).toEqual(["open 1", "close 1", "open 2", "close 2", "open 3", "read on 3", "close 3"])
    }).pipe(Effect.provide(over(loggedCursors(state))))
  })
})

/** The memory backend whose reads never answer while `state.hangs` is above 0 (one less a read). */
const hangingReads = (state: { hangs: number; readonly reads: Array<StreamBackend.ReadOptions> }) =>
  wrappedCursors((cursor) => ({
    read: (stream, after, options) =>
      Effect.suspend(() => {
        state.reads.push(options)
        return state.hangs-- > 0 ? Effect.never : cursor.read(stream, after, options)
      })
  }))

describe("EventReader's watchdog", () => {
  it.scoped("a read that never answers fails with a Timeout naming the bound, once retries are spent", () => {
    const state = { hangs: Number.POSITIVE_INFINITY, reads: [] as Array<StreamBackend.ReadOptions> }
    return Effect.gen(function* () {
      const fiber = yield* Effect.fork(
        EventReader.stream({
          from: "0",
          block: "1 second",
          watchdogGrace: "500 millis",
          retrySchedule: Schedule.recurs(0)
        }).pipe(Stream.runCollect)
      )
      yield* TestClock.adjust("1499 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : exit
      expect(error).toBeInstanceOf(StreamBackend.StreamBackendError)
      // Named: an Error's message is not one of its enumerable properties, which toEqual compares.
      expect(error).toMatchObject({ reason: "Timeout", message: "no answer within 1500 ms (watchdog)" })
    }).pipe(Effect.provide(over(hangingReads(state))))
  })

  it.live(
    "on the live clock, a cursor that does not bound its reads is given no bound, and a hung read is cut",
    () => {
      const state = { hangs: 1, reads: [] as Array<StreamBackend.ReadOptions> }
      return Effect.gen(function* () {
        yield* publishMany(0, 2)
        const results = yield* EventReader.stream({
          from: "0",
          count: 5,
          block: "20 millis",
          watchdogGrace: "30 millis",
          retrySchedule: Schedule.spaced("1 millis")
        }).pipe(Stream.take(2), Stream.runCollect)
        expect(Chunk.toReadonlyArray(results).map(payloadIndex)).toEqual([0, 1])
        expect(state.reads).toStrictEqual([
          { count: 5, blockMillis: 20 },
          { count: 5, blockMillis: 20 }
        ])
      }).pipe(Effect.provide(over(hangingReads(state))), Effect.scoped)
    }
  )
})

describe("EventReader's reads", () => {
  it.scoped("a count of 1 reads one entry at a time", () => {
    const state = { hangs: 0, reads: [] as Array<StreamBackend.ReadOptions> }
    return Effect.gen(function* () {
      yield* publishMany(0, 3)
      const pull = yield* Stream.toPull(EventReader.stream({ from: "0", count: 1 }))
      for (let i = 0; i < 3; i++) expect(Chunk.toReadonlyArray(yield* pull).map(payloadIndex)).toEqual([i])
      expect(state.reads.map((options) => options.count)).toEqual([1, 1, 1])
    }).pipe(Effect.provide(over(hangingReads(state))))
  })

  it.scoped(
    "a batch that starts with entries already delivered delivers its new ones in the same pull",
    () => {
      let reads = 0
      // The second read is answered from the start, with room for the old entries and the new.
      const rewinding = wrappedCursors((cursor) => ({
        read: (stream, after, options) =>
          ++reads === 2
            ? cursor.read(stream, "0-0", { ...options, count: 6 })
            : cursor.read(stream, after, options)
      }))
      return Effect.gen(function* () {
        yield* publishMany(0, 6)
        const pull = yield* Stream.toPull(EventReader.stream({ from: "0", count: 3 }))
        expect(Chunk.toReadonlyArray(yield* pull).map(payloadIndex)).toEqual([0, 1, 2])
        expect(Chunk.toReadonlyArray(yield* pull).map(payloadIndex)).toEqual([3, 4, 5])
        expect(reads).toBe(2)
      }).pipe(Effect.provide(over(rewinding)))
    }
  )

  it.scoped("a failure to pin a $ start is logged as a retry from the start", () => {
    let infoFailures = 1
    const failingInfo = Layer.effect(
      StreamBackend.StreamBackend,
      Effect.map(MemoryStreamBackend.MemoryStreamBackend, (mem) => ({
        ...mem,
        info: (stream: string) => (infoFailures-- > 0 ? Effect.fail(reset()) : mem.info(stream))
      }))
    ).pipe(Layer.provideMerge(MemoryStreamBackend.layer))
    const { lines, layer } = captureLogs()
    return Effect.gen(function* () {
      const pull = yield* Stream.toPull(
        EventReader.stream({ from: "$", block: "1 second", retrySchedule: Schedule.recurs(1) })
      )
      const fiber = yield* Effect.fork(pull)
      yield* TestClock.adjust("1 second")
      expect(Chunk.isEmpty(yield* Fiber.join(fiber))).toBe(true)
      expect(lines[0]).toMatch(/^WARN EventReader read failed: Unavailable: reset; retrying after \(start\) /)
    }).pipe(Effect.provide(Layer.merge(over(failingInfo), layer)))
  })
})

describe("EventReader's warnings about an entry", () => {
  it.scoped("name the stream and the entry's id in their annotations", () => {
    const annotated: Array<Record<string, unknown>> = []
    const logger = Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ annotations }) => {
        annotated.push(Object.fromEntries(HashMap.toEntries(annotations)))
      })
    )
    return Effect.gen(function* () {
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      const [unknownId, malformedId] = yield* mem.appendFields("annotated", [
        ["data", JSON.stringify({ kind: "trade.fill", ts: "2026-05-14T11:22:33.123456+00:00" })],
        ["data", "{not json"]
      ])
      yield* EventReader.stream({ stream: "annotated", from: "0" }).pipe(Stream.take(2), Stream.runDrain)
      expect(annotated).toEqual([
        { stream: "annotated", streamId: unknownId },
        { stream: "annotated", streamId: malformedId }
      ])
    }).pipe(Effect.provide(Layer.merge(over(wrappedCursors((cursor) => cursor)), logger)))
  })
})
