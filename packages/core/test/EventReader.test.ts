import { describe, expect, it } from "@effect/vitest"
import {
  EventBus,
  EventReader,
  MemoryStreamBackend,
  ReadMetrics,
  ReadResult,
  StreamBackend
} from "@maf/events"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { ids, payloadIndex, publishMany, untilBlocked, wrappedCursors } from "./helpers/reader.js"

const memory = EventReader.layer.pipe(Layer.provideMerge(EventBus.layerMemory()))

/** The sizes of the chunks a reader from "0" with `count` delivers, over its first `take` results. */
const chunkSizes = (count: number, take: number) =>
  EventReader.stream({ from: "0", count }).pipe(
    Stream.take(take),
    Stream.chunks,
    Stream.map(Chunk.size),
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray)
  )

/** A backend that records the options of every read and can be made to fail reads. */
const spyBackend = (state: { reads: Array<StreamBackend.ReadOptions>; failEvery: number }) =>
  wrappedCursors((cursor) => ({
    read: (stream, after, options) =>
      Effect.suspend(() => {
        state.reads.push(options)
        return state.failEvery > 0 && state.reads.length % state.failEvery === 0
          ? Effect.fail(
              new StreamBackend.StreamBackendError({ reason: "Unavailable", message: "connection reset" })
            )
          : cursor.read(stream, after, options)
      })
  }))

describe("EventReader on the memory backend", () => {
  it.scoped("replays everything from 0, in order, as typed events", () =>
    Effect.gen(function* () {
      yield* publishMany(0, 1200)
      const results = yield* EventReader.stream({ from: "0" }).pipe(Stream.take(1200), Stream.runCollect)
      expect(Chunk.toReadonlyArray(results).map(payloadIndex)).toEqual(
        Array.from({ length: 1200 }, (_, i) => i)
      )
      const first = Chunk.unsafeHead(results)
      expect(first._tag).toBe("KnownEvent")
      if (first._tag === "KnownEvent") expect(first.event.kind).toBe("agent.signal")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("entries read count in the stream's read total, with the reading fiber's metric labels", () =>
    Effect.gen(function* () {
      const stream = "metrics-read"
      const bus = yield* EventBus.EventBus
      for (let i = 0; i < 30; i++) yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })
      yield* bus.flush
      const total = ReadMetrics.read.pipe(Metric.tagged("stream", stream))
      const labelled = total.pipe(Metric.tagged("desk", "risk"))
      yield* EventReader.stream({ stream, from: "0" }).pipe(Stream.take(10), Stream.runDrain)
      yield* EventReader.stream({ stream, from: "0" }).pipe(
        Stream.take(30),
        Stream.runDrain,
        Effect.tagMetrics("desk", "risk")
      )
      // Counted a read at a time: what each read delivered (one read of 30 entries apiece here).
      expect((yield* Metric.value(total)).count).toBe(30)
      expect((yield* Metric.value(labelled)).count).toBe(30)
    }).pipe(
      Effect.provide(
        EventReader.layer.pipe(Layer.provideMerge(EventBus.layerMemory({ stream: "metrics-read" })))
      )
    )
  )

  it.scoped("a live tail from $ delivers what is written after it started, not before", () =>
    Effect.gen(function* () {
      yield* publishMany(0, 10)
      // The reader pins $ and blocks; the events arrive while it waits.
      const fiber = yield* Effect.fork(
        EventReader.stream({ from: "$", block: "50 millis" }).pipe(Stream.take(5), Stream.runCollect)
      )
      yield* untilBlocked(fiber)
      yield* publishMany(10, 15)
      const results = yield* fiber.await.pipe(Effect.flatten)
      expect(Chunk.toReadonlyArray(results).map(payloadIndex)).toEqual([10, 11, 12, 13, 14])
    }).pipe(Effect.provide(memory))
  )

  it.scoped("starting from an id delivers what comes after it", () =>
    Effect.gen(function* () {
      yield* publishMany(0, 5)
      const all = yield* EventReader.stream({ from: "0" }).pipe(Stream.take(5), Stream.runCollect)
      const third = Chunk.toReadonlyArray(all)[2]!.streamId
      const after = yield* EventReader.stream({ from: third }).pipe(Stream.take(2), Stream.runCollect)
      expect(Chunk.toReadonlyArray(after).map(payloadIndex)).toEqual([3, 4])
    }).pipe(Effect.provide(memory))
  )

  it.scoped("reads ask for count entries and block for the block time; one read per pull", () =>
    Effect.gen(function* () {
      const state = { reads: [] as Array<StreamBackend.ReadOptions>, failEvery: 0 }
      yield* Effect.gen(function* () {
        yield* publishMany(0, 10)
        const pull = yield* Stream.toPull(EventReader.stream({ from: "0", count: 3, block: "250 millis" }))
        expect(Chunk.size(yield* pull)).toBe(3)
        expect(state.reads).toEqual([{ count: 3, blockMillis: 250 }])
        expect(Chunk.size(yield* pull)).toBe(3)
        expect(state.reads).toHaveLength(2)
      }).pipe(
        Effect.provide(
          EventReader.layer.pipe(Layer.provideMerge(EventBus.layer()), Layer.provideMerge(spyBackend(state)))
        )
      )
    })
  )

  it.scoped("after failed reads it resumes right after the last delivered entry: each once, in order", () =>
    Effect.gen(function* () {
      const state = { reads: [] as Array<StreamBackend.ReadOptions>, failEvery: 3 }
      yield* Effect.gen(function* () {
        yield* publishMany(0, 1000)
        const results = yield* EventReader.stream({
          from: "0",
          count: 7,
          retrySchedule: Schedule.recurs(5)
        }).pipe(Stream.take(1000), Stream.runCollect)
        expect(Chunk.toReadonlyArray(results).map(payloadIndex)).toEqual(
          Array.from({ length: 1000 }, (_, i) => i)
        )
        expect(state.reads.length).toBeGreaterThan(1000 / 7 + 1000 / 7 / 3 - 2)
      }).pipe(
        Effect.provide(
          EventReader.layer.pipe(Layer.provideMerge(EventBus.layer()), Layer.provideMerge(spyBackend(state)))
        )
      )
    })
  )

  it.scoped("a finite retry schedule that runs out ends the stream with the error", () =>
    Effect.gen(function* () {
      const state = { reads: [] as Array<StreamBackend.ReadOptions>, failEvery: 1 }
      const exit = yield* EventReader.stream({ from: "0", retrySchedule: Schedule.recurs(2) }).pipe(
        Stream.runCollect,
        Effect.exit,
        Effect.provide(EventReader.layer.pipe(Layer.provideMerge(spyBackend(state))))
      )
      expect(exit._tag).toBe("Failure")
      expect(state.reads).toHaveLength(3)
    })
  )

  it.scoped("malformed entries and unknown kinds come out as their variants and reading goes on", () =>
    Effect.gen(function* () {
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      yield* publishMany(0, 1)
      yield* mem.appendFields("maf:events", [
        ["other", "x"],
        ["data", "{not json"],
        ["data", "[1, 2]"],
        ["data", JSON.stringify({ kind: "phase.start", ts: "yesterday" })],
        [
          "data",
          JSON.stringify({ kind: "trade.fill", ts: "2026-05-14T11:22:33.123456+00:00", payload: { q: 1 } })
        ]
      ])
      yield* publishMany(1, 2)
      const results = Chunk.toReadonlyArray(
        yield* EventReader.stream({ from: "0" }).pipe(Stream.take(7), Stream.runCollect)
      )
      expect(results.map((r) => (r._tag === "Malformed" ? `Malformed:${r.reason}` : r._tag))).toEqual([
        "KnownEvent",
        "Malformed:no_data_field",
        "Malformed:json_decode",
        "Malformed:schema",
        "Malformed:schema",
        "UnknownKind",
        "KnownEvent"
      ])
      expect(results[2]).toMatchObject({ raw: "{not json" })
      expect(results[5]).toMatchObject({ kind: "trade.fill", body: { payload: { q: 1 } } })
    }).pipe(Effect.provide(memory))
  )

  it.scoped(
    "entries trimmed while the reader is paused come out as one gap with the ids and the count, then the rest",
    () =>
      Effect.gen(function* () {
        const mem = yield* MemoryStreamBackend.MemoryStreamBackend
        yield* publishMany(0, 10)
        const pull = yield* Stream.toPull(EventReader.stream({ from: "0", count: 10 }))
        const firstTen = Chunk.toReadonlyArray(yield* pull)
        expect(firstTen.map(payloadIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        // Paused: 30 more are written and all but the last 5 of the stream are trimmed away.
        yield* publishMany(10, 40)
        yield* mem.trim("maf:events", 5)
        const remaining = yield* mem.entries("maf:events")
        const next = Chunk.toReadonlyArray(yield* pull)
        expect(next[0]).toEqual(ReadResult.gap(remaining[0]!.id, firstTen[9]!.streamId, 25))
        expect(next.slice(1).map(payloadIndex)).toEqual([35, 36, 37, 38, 39])
        expect(ids(next.slice(1))).toEqual(remaining.map((e) => e.id))
      }).pipe(Effect.provide(memory))
  )

  it.scoped("a gap is reported for a $ start too, with the count", () =>
    Effect.gen(function* () {
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      yield* publishMany(0, 3)
      const pull = yield* Stream.toPull(EventReader.stream({ from: "$", block: "10 millis" }))
      const fiber = yield* Effect.fork(pull)
      yield* untilBlocked(fiber)
      yield* publishMany(3, 4)
      const first = Chunk.toReadonlyArray(yield* fiber.await.pipe(Effect.flatten))
      expect(first.map(payloadIndex)).toEqual([3])
      yield* publishMany(4, 20)
      yield* mem.trim("maf:events", 4)
      const next = Chunk.toReadonlyArray(yield* pull)
      expect(next[0]).toMatchObject({ _tag: "Gap", after: first[0]!.streamId, lost: 12 })
      expect(next.slice(1).map(payloadIndex)).toEqual([16, 17, 18, 19])
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a replay from 0 of a trimmed stream starts with a gap: the history it cannot give", () =>
    Effect.gen(function* () {
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      yield* publishMany(0, 10)
      yield* mem.trim("maf:events", 4)
      const results = Chunk.toReadonlyArray(
        yield* EventReader.stream({ from: "0" }).pipe(Stream.take(5), Stream.runCollect)
      )
      expect(results[0]).toMatchObject({ _tag: "Gap", after: "0-0", lost: 6 })
      expect(results.slice(1).map(payloadIndex)).toEqual([6, 7, 8, 9])
    }).pipe(Effect.provide(memory))
  )

  it.effect("an empty read waits for the block time, then reads again (TestClock)", () =>
    Effect.gen(function* () {
      const pull = yield* Stream.toPull(EventReader.stream({ from: "$", block: "5 seconds" }))
      const fiber = yield* Effect.fork(pull)
      yield* TestClock.adjust("4999 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const chunk = yield* fiber.await.pipe(Effect.flatten)
      expect(Chunk.isEmpty(chunk)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(memory))
  )

  it.effect("bad options are clear defects: an id that is not one", () =>
    Effect.gen(function* () {
      const exit = yield* EventReader.stream({ from: "yesterday" }).pipe(Stream.runHead, Effect.exit)
      expect(exit._tag).toBe("Failure")
      expect(String(exit._tag === "Failure" ? exit.cause : "")).toMatch(
        /from must be "\$", "0" or an entry id/
      )
    }).pipe(Effect.provide(memory))
  )
})

/** A backend whose cursor logs its reads and the reads it is told come next (`readAhead`). */
const hintedBackend = (log: Array<string>) =>
  wrappedCursors((cursor) => ({
    read: (stream, after, options) =>
      Effect.suspend(() => {
        log.push(`read after ${after}`)
        return cursor.read(stream, after, options)
      }),
    readAhead: (_stream, after) => {
      log.push(`hint after ${after}`)
    }
  }))

describe("EventReader reading a backlog: the read after a full batch is hinted when the consumer asks for more", () => {
  const range = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + k)

  it.scoped(
    "a full batch of 200 comes in two chunks; the next read is hinted only when the second is pulled",
    () => {
      const log: Array<string> = []
      return Effect.gen(function* () {
        yield* publishMany(0, 450)
        const pull = yield* Stream.toPull(EventReader.stream({ from: "0", count: 200 }))
        const pulled = () => Effect.map(pull, (chunk) => Chunk.toReadonlyArray(chunk))

        const first = yield* pulled()
        expect(first.map(payloadIndex)).toEqual(range(0, 100))
        expect(log).toEqual(["read after 0-0"])

        const second = yield* pulled()
        expect(second.map(payloadIndex)).toEqual(range(100, 100))
        const end = second[99]!.streamId
        expect(log).toEqual(["read after 0-0", `hint after ${end}`])

        // The read made is the one hinted.
        expect((yield* pulled()).map(payloadIndex)).toEqual(range(200, 100))
        expect(log.slice(2)).toEqual([`read after ${end}`])
        expect((yield* pulled()).map(payloadIndex)).toEqual(range(300, 100))
        // The last batch is not full (50 of 200): one chunk, nothing hinted after it.
        const last = yield* pulled()
        expect(last.map(payloadIndex)).toEqual(range(400, 50))
        expect(log.filter((line) => line.startsWith("hint"))).toHaveLength(2)
      }).pipe(
        Effect.provide(
          EventReader.layer.pipe(Layer.provideMerge(EventBus.layer()), Layer.provideMerge(hintedBackend(log)))
        )
      )
    }
  )

  it.scoped("from a cursor that takes no hints (the memory backend), full batches come whole", () =>
    Effect.gen(function* () {
      yield* publishMany(0, 400)
      expect(yield* chunkSizes(200, 400)).toEqual([200, 200])
    }).pipe(Effect.provide(memory))
  )

  it.scoped("below a count of 128, batches come whole and nothing is hinted", () => {
    const log: Array<string> = []
    return Effect.gen(function* () {
      yield* publishMany(0, 300)
      expect(yield* chunkSizes(100, 300)).toEqual([100, 100, 100])
      expect(log.every((line) => line.startsWith("read"))).toBe(true)
    }).pipe(
      Effect.provide(
        EventReader.layer.pipe(Layer.provideMerge(EventBus.layer()), Layer.provideMerge(hintedBackend(log)))
      )
    )
  })
})

describe("EventReader gaps on an emptied stream", () => {
  it.scoped("a replay from 0 of a stream trimmed to nothing reports the gap when the next entry comes", () =>
    Effect.gen(function* () {
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      yield* publishMany(0, 3)
      yield* mem.trim("maf:events", 0)
      const fiber = yield* Effect.fork(
        EventReader.stream({ from: "0", block: "1 second" }).pipe(Stream.take(2), Stream.runCollect)
      )
      yield* untilBlocked(fiber)
      yield* publishMany(3, 4)
      const results = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      expect(results[0]).toMatchObject({ _tag: "Gap", after: "0-0", lost: 3 })
      expect(payloadIndex(results[1]!)).toBe(3)
    }).pipe(Effect.provide(memory))
  )
})

describe("EventReader pinning a $ start", () => {
  it.live("a stream info that never answers is cut by the watchdog, and the reader tries again", () =>
    Effect.gen(function* () {
      let hangs = 1
      const hangingInfo = Layer.effect(
        StreamBackend.StreamBackend,
        Effect.map(MemoryStreamBackend.MemoryStreamBackend, (mem) => ({
          ...mem,
          info: (stream: string) => (hangs-- > 0 ? Effect.never : mem.info(stream))
        }))
      ).pipe(Layer.provideMerge(MemoryStreamBackend.layer))
      yield* Effect.gen(function* () {
        const fiber = yield* Effect.fork(
          EventReader.stream({
            from: "$",
            block: "20 millis",
            watchdogGrace: "30 millis",
            retrySchedule: Schedule.spaced("5 millis")
          }).pipe(Stream.take(1), Stream.runCollect)
        )
        // Published until the pinned reader sees one: the first pin hangs until the watchdog ends it.
        while (fiber.unsafePoll() === null) {
          yield* publishMany(0, 1)
          yield* Effect.sleep("10 millis")
        }
        expect(Chunk.size(yield* Fiber.join(fiber))).toBe(1)
        expect(hangs).toBeLessThan(0)
      }).pipe(
        Effect.provide(
          EventReader.layer.pipe(Layer.provideMerge(EventBus.layer()), Layer.provideMerge(hangingInfo))
        )
      )
    })
  )
})
