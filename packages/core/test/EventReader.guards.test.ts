/**
 * The reader's guards and accounting, rule by rule, on the memory backend (its cursors wrapped, where
 * a test needs it, to answer as a faulty or racing server would):
 *
 * - entries at or before the reader's position are never delivered, whatever a backend answers;
 * - gaps found through the reader: an entry deleted mid-stream (`XDEL`) or further on, a trim between
 *   the stream's info and the read, a second gap counted from what the first left, a stream emptied
 *   past the id read from;
 * - a failed read closes its cursor, the next read opens a new one, and the failure is counted and
 *   logged (the first of a streak, then one line at most every 100 failures and 5 s, the recovery);
 * - the read metrics and warnings: gaps and entries lost, malformed entries (a warning for the first
 *   of a reason and every 100th), unknown kinds (a warning for the first of a kind);
 * - invalid `count`, `block` and `watchdogGrace` options are refused with a message saying what is
 *   expected.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  EventBus,
  EventReader,
  MemoryStreamBackend,
  ReadMetrics,
  ReadResult,
  type StreamBackend
} from "@maf/events"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { loggedCursors, payloadIndex, publishMany, wrappedCursors } from "./helpers/reader.js"

/** The reader and the bus on `stream` over `backend` (the memory backend by default). */
const readerOn = (
  stream: string,
  backend: Layer.Layer<
    StreamBackend.StreamBackend | MemoryStreamBackend.MemoryStreamBackend
  > = wrappedCursors((cursor) => cursor)
) => EventReader.layer.pipe(Layer.provideMerge(EventBus.layer({ stream })), Layer.provideMerge(backend))

/** The lines logged (`LEVEL message`) while the layer it gives is provided. */
const logged = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
  })
  return { lines, logger: Logger.replace(Logger.defaultLogger, logger) }
}

/** What the next read does between taking the stream's info and reading, if anything. */
interface Interleaved {
  between?: Effect.Effect<void> | undefined
}

/**
 * The memory backend whose next read, once `between` is set, takes the stream's info, runs it, then
 * reads: what can happen between XINFO and XREAD sent back to back (another client's command, or
 * what is written while a blocking read waits).
 */
const interleaved = (state: Interleaved) =>
  wrappedCursors((cursor, mem) => ({
    read: (stream, after, options) => {
      const between = state.between
      if (between === undefined) return cursor.read(stream, after, options)
      state.between = undefined
      return Effect.gen(function* () {
        const info = yield* mem.info(stream)
        yield* between
        const batch = yield* cursor.read(stream, after, options)
        return { entries: batch.entries, info }
      })
    }
  }))

const counter = (metric: Metric.Metric.Counter<number>, stream: string, tag?: readonly [string, string]) => {
  const onStream = Metric.tagged(metric, "stream", stream)
  return Effect.map(
    Metric.value(tag === undefined ? onStream : Metric.tagged(onStream, tag[0], tag[1])),
    (state) => state.count
  )
}

const pullAll = <A, E, R>(pull: Effect.Effect<Chunk.Chunk<A>, unknown, R>) =>
  Effect.map(pull, (chunk) => Chunk.toReadonlyArray(chunk)) as Effect.Effect<ReadonlyArray<A>, E, R>

describe("EventReader never delivers an entry at or before its position", () => {
  it.scoped("a backend answering each read from the previous position: every entry once, in order", () => {
    // Each read answers from where the read before it started: the last batch again, then new ones.
    const positions: Array<string> = []
    const repeating = wrappedCursors((cursor) => ({
      read: (stream, after, options) =>
        Effect.suspend(() => {
          const from = positions.at(-1) ?? after
          positions.push(after)
          return cursor.read(stream, from, { ...options, count: options.count * 2 })
        })
    }))
    return Effect.gen(function* () {
      yield* publishMany(0, 20)
      const results = yield* EventReader.stream({ stream: "stale", from: "0", count: 3 }).pipe(
        Stream.take(20),
        Stream.runCollect
      )
      expect(Chunk.toReadonlyArray(results).map(payloadIndex)).toEqual(
        Array.from({ length: 20 }, (_, i) => i)
      )
      // The backend did answer old entries: every read after the first started before its position.
      expect(positions.length).toBeGreaterThan(3)
    }).pipe(Effect.provide(readerOn("stale", repeating)))
  })

  it.scoped(
    "a batch of old entries only is dropped whole, and the next read is made from the same position",
    () => {
      const reads: Array<string> = []
      const replaying = wrappedCursors((cursor) => ({
        read: (stream, after, options) => {
          reads.push(after)
          // The second read is answered from the start: entries the reader has delivered.
          return cursor.read(stream, reads.length === 2 ? "0-0" : after, options)
        }
      }))
      return Effect.gen(function* () {
        yield* publishMany(0, 6)
        const results = yield* EventReader.stream({ stream: "replayed", from: "0", count: 3 }).pipe(
          Stream.take(6),
          Stream.runCollect
        )
        expect(Chunk.toReadonlyArray(results).map(payloadIndex)).toEqual([0, 1, 2, 3, 4, 5])
        const third = Chunk.toReadonlyArray(results)[2]!.streamId
        expect(reads).toEqual(["0-0", third, third])
      }).pipe(Effect.provide(readerOn("replayed", replaying)))
    }
  )
})

describe("EventReader gaps, through the reader", () => {
  it.scoped("an entry deleted mid-stream (XDEL): a gap of unknown size, then counts again from the end", () =>
    Effect.gen(function* () {
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      yield* publishMany(0, 10)
      const pull = yield* Stream.toPull(EventReader.stream({ stream: "xdel", from: "0", count: 3 }))
      const first = yield* pullAll(pull)
      const all = yield* mem.entries("xdel")
      // Entries 3 and 4 deleted, unread.
      yield* mem.deleteEntries("xdel", [all[3]!.id, all[4]!.id])
      const next = yield* pullAll(pull)
      expect(next[0]).toEqual(ReadResult.gap(all[5]!.id, first[2]!.streamId, undefined))
      expect(next.slice(1).map(payloadIndex)).toEqual([5, 6, 7])
      // Read up to the end (8, 9): the count is learnt again, and the next trim is counted.
      expect((yield* pullAll(pull)).map(payloadIndex)).toEqual([8, 9])
      yield* publishMany(10, 20)
      yield* mem.trim("xdel", 4)
      expect((yield* pullAll(pull))[0]).toMatchObject({ _tag: "Gap", lost: 6 })
    }).pipe(Effect.provide(readerOn("xdel")))
  )

  it.scoped(
    "read from an id, an entry deleted further on: the gap is reported before the entry after it only",
    () =>
      Effect.gen(function* () {
        const mem = yield* MemoryStreamBackend.MemoryStreamBackend
        yield* publishMany(0, 10)
        const all = yield* mem.entries("xdel-later")
        // 0 and 1 trimmed, 5 deleted; read from the id of 1: the stream's first entry is read first.
        yield* mem.trim("xdel-later", 8)
        yield* mem.deleteEntries("xdel-later", [all[5]!.id])
        const pull = yield* Stream.toPull(
          EventReader.stream({ stream: "xdel-later", from: all[1]!.id, count: 3 })
        )
        expect((yield* pullAll(pull)).map(payloadIndex)).toEqual([2, 3, 4])
        expect((yield* pullAll(pull)).map(payloadIndex)).toEqual(["Gap", 6, 7, 8])
        expect((yield* pullAll(pull)).map(payloadIndex)).toEqual([9])
      }).pipe(Effect.provide(readerOn("xdel-later")))
  )

  it.scoped("entries trimmed between the stream's info and the read: a gap of unknown size", () => {
    const state: Interleaved = {}
    return Effect.gen(function* () {
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      yield* publishMany(0, 10)
      const pull = yield* Stream.toPull(EventReader.stream({ stream: "racing", from: "0", count: 3 }))
      const first = yield* pullAll(pull)
      // At the info the stream's first entry is past the position (5 of 10 left); at the read, 3 are.
      yield* mem.trim("racing", 5)
      state.between = Effect.asVoid(mem.trim("racing", 3))
      const next = yield* pullAll(pull)
      expect(next[0]).toMatchObject({ _tag: "Gap", after: first[2]!.streamId, lost: undefined })
      expect(next.slice(1).map(payloadIndex)).toEqual([7, 8, 9])
    }).pipe(Effect.provide(readerOn("racing", interleaved(state))))
  })

  it.scoped("a second gap is counted from what the first left (reads that stop short of the end)", () =>
    Effect.gen(function* () {
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      yield* publishMany(0, 10)
      const pull = yield* Stream.toPull(EventReader.stream({ stream: "twice", from: "0", count: 2 }))
      expect((yield* pullAll(pull)).map(payloadIndex)).toEqual([0, 1])
      // 2..9 are trimmed away: 8 lost.
      yield* publishMany(10, 20)
      yield* mem.trim("twice", 10)
      const afterFirst = yield* pullAll(pull)
      expect(afterFirst[0]).toMatchObject({ _tag: "Gap", lost: 8 })
      expect(afterFirst.slice(1).map(payloadIndex)).toEqual([10, 11])
      // 12..25 are trimmed away: 14 lost, counted from the count the first gap left.
      yield* publishMany(20, 30)
      yield* mem.trim("twice", 4)
      const afterSecond = yield* pullAll(pull)
      expect(afterSecond[0]).toMatchObject({ _tag: "Gap", after: afterFirst[2]!.streamId, lost: 14 })
      expect(afterSecond.slice(1).map(payloadIndex)).toEqual([26, 27])
    }).pipe(Effect.provide(readerOn("twice")))
  )

  it.scoped("a stream emptied past the id read from, then written to: a gap of unknown size", () => {
    const state: Interleaved = {}
    return Effect.gen(function* () {
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      const bus = yield* EventBus.EventBus
      yield* publishMany(0, 5)
      const all = yield* mem.entries("emptied")
      yield* mem.trim("emptied", 0)
      // The info is taken while the stream is empty; the read then finds the entry written after it.
      state.between = publishMany(5, 6).pipe(Effect.provideService(EventBus.EventBus, bus))
      const pull = yield* Stream.toPull(EventReader.stream({ stream: "emptied", from: all[1]!.id }))
      const results = yield* pullAll(pull)
      expect(results[0]).toEqual(ReadResult.gap(results[1]!.streamId, all[1]!.id, undefined))
      expect(results.slice(1).map(payloadIndex)).toEqual([5])
    }).pipe(Effect.provide(readerOn("emptied", interleaved(state))))
  })
})

describe("EventReader after a failed read", () => {
  it.scoped("closes its cursor, opens a new one for the next read, and counts and logs the failure", () => {
    const state = { failOpens: 0, failReads: 1, log: [] as Array<string> }
    const { lines, logger } = logged()
    return Effect.gen(function* () {
      yield* publishMany(0, 3)
      const results = yield* EventReader.stream({
        stream: "flaky",
        from: "0",
        retrySchedule: Schedule.recurs(3)
      }).pipe(Stream.take(3), Stream.runCollect)
      expect(Chunk.toReadonlyArray(results).map(payloadIndex)).toEqual([0, 1, 2])
      expect(state.log).toEqual(["open 1", "read on 1", "close 1", "open 2", "read on 2", "close 2"])
      expect(yield* counter(ReadMetrics.failures, "flaky")).toBe(1)
      expect(lines).toEqual([
        expect.stringMatching(/^WARN EventReader read failed: Unavailable: reset; retrying after 0-0 /),
        "INFO EventReader read recovered after 1 failures"
      ])
    }).pipe(Effect.provide(Layer.merge(readerOn("flaky", loggedCursors(state)), logger)))
  })

  it.scoped(
    "a streak of failed reads: a warning for the first, then one at most every 100 failures and 5 s; the recovery once",
    () => {
      const state = { failOpens: 0, failReads: 250, log: [] as Array<string> }
      const { lines, logger } = logged()
      return Effect.gen(function* () {
        yield* publishMany(0, 1)
        // A failure every 100 ms (TestClock): 100 failures take 10 s, past the 5 s between lines.
        const fiber = yield* Effect.fork(
          EventReader.stream({
            stream: "streak",
            from: "0",
            retrySchedule: Schedule.spaced("100 millis")
          }).pipe(Stream.take(1), Stream.runCollect)
        )
        yield* TestClock.adjust("30 seconds")
        expect(Chunk.toReadonlyArray(yield* Fiber.join(fiber)).map(payloadIndex)).toEqual([0])
        expect(yield* counter(ReadMetrics.failures, "streak")).toBe(250)
        expect(state.log.filter((line) => line.startsWith("open"))).toHaveLength(251)
        expect(lines).toEqual([
          expect.stringMatching(/^WARN EventReader read failed: Unavailable: reset; retrying after 0-0 /),
          expect.stringMatching(
            /^WARN EventReader read still failing after 101 attempts \(100 since the last line\)/
          ),
          expect.stringMatching(
            /^WARN EventReader read still failing after 201 attempts \(100 since the last line\)/
          ),
          "INFO EventReader read recovered after 250 failures"
        ])
      }).pipe(Effect.provide(Layer.merge(readerOn("streak", loggedCursors(state)), logger)))
    }
  )
})

describe("EventReader metrics and warnings", () => {
  it.scoped("gaps and the entries lost in them are counted, and each gap is a warning with its count", () => {
    const { lines, logger } = logged()
    return Effect.gen(function* () {
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      yield* publishMany(0, 10)
      const pull = yield* Stream.toPull(EventReader.stream({ stream: "gapped", from: "0", count: 10 }))
      yield* pull
      yield* publishMany(10, 40)
      yield* mem.trim("gapped", 5)
      // 10..34 trimmed: 25 lost; then 40, 41 deleted: lost uncounted.
      expect(yield* pullAll(pull)).toHaveLength(6)
      yield* publishMany(40, 46)
      const all = yield* mem.entries("gapped")
      yield* mem.deleteEntries("gapped", [all[5]!.id, all[6]!.id])
      expect((yield* pullAll(pull)).map(payloadIndex)).toEqual(["Gap", 42, 43, 44, 45])
      expect(yield* counter(ReadMetrics.gaps, "gapped")).toBe(2)
      expect(yield* counter(ReadMetrics.lost, "gapped")).toBe(25)
      // Entries read count the entries only, not the gap notices.
      expect(yield* counter(ReadMetrics.read, "gapped")).toBe(19)
      expect(lines).toEqual([
        expect.stringMatching(
          /^WARN EventReader: gap after \S+: 25 entries were removed \(trimmed or deleted\)/
        ),
        expect.stringMatching(/^WARN EventReader: gap after \S+: an unknown number of entries were removed/)
      ])
    }).pipe(Effect.provide(Layer.merge(readerOn("gapped"), logger)))
  })

  it.scoped(
    "malformed entries are counted by reason; a warning for the first of a reason and every 100th",
    () => {
      const { lines, logger } = logged()
      return Effect.gen(function* () {
        const mem = yield* MemoryStreamBackend.MemoryStreamBackend
        yield* mem.appendFields("malformed", [
          ...Array.from({ length: 150 }, () => ["other", "x"]),
          ["data", "{not json"],
          ...Array.from({ length: 100 }, () => ["other", "x"])
        ])
        yield* EventReader.stream({ stream: "malformed", from: "0" }).pipe(Stream.take(251), Stream.runDrain)
        expect(yield* counter(ReadMetrics.malformed, "malformed", ["reason", "no_data_field"])).toBe(250)
        expect(yield* counter(ReadMetrics.malformed, "malformed", ["reason", "json_decode"])).toBe(1)
        expect(lines.map((line) => line.replace(/ \(.*\)/, ""))).toEqual([
          "WARN EventReader: malformed entry; 1 so far with this reason",
          "WARN EventReader: malformed entry; 100 so far with this reason",
          "WARN EventReader: malformed entry; 1 so far with this reason",
          "WARN EventReader: malformed entry; 200 so far with this reason"
        ])
        expect(lines[2]).toMatch(/\(json_decode: /)
      }).pipe(Effect.provide(Layer.merge(readerOn("malformed"), logger)))
    }
  )

  it.scoped("unknown kinds are counted by kind; a warning for the first of each kind only", () => {
    const { lines, logger } = logged()
    const body = (kind: string) => [
      "data",
      JSON.stringify({ kind, ts: "2026-05-14T11:22:33.123456+00:00", payload: {} })
    ]
    return Effect.gen(function* () {
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      yield* mem.appendFields(
        "unknown",
        ["trade.fill", "trade.fill", "trade.cancel", "trade.fill", "trade.cancel"].map(body)
      )
      yield* EventReader.stream({ stream: "unknown", from: "0" }).pipe(Stream.take(5), Stream.runDrain)
      expect(yield* counter(ReadMetrics.unknownKinds, "unknown", ["kind", "trade.fill"])).toBe(3)
      expect(yield* counter(ReadMetrics.unknownKinds, "unknown", ["kind", "trade.cancel"])).toBe(2)
      expect(lines).toEqual([
        expect.stringMatching(/^WARN EventReader: unknown kind "trade\.fill"/),
        expect.stringMatching(/^WARN EventReader: unknown kind "trade\.cancel"/)
      ])
    }).pipe(Effect.provide(Layer.merge(readerOn("unknown"), logger)))
  })
})

describe("EventReader refuses invalid options with a message saying what is expected", () => {
  const cases: ReadonlyArray<readonly [string, EventReader.ReadOptions, RegExp]> = [
    [
      "an empty from",
      { from: "" },
      /option from must be "\$", "0" or an entry id like 1715680953123-0, got $/m
    ],
    ["a count of 0", { count: 0 }, /option count must be an integer >= 1, got 0/],
    ["a negative count", { count: -5 }, /option count must be an integer >= 1, got -5/],
    ["a count that is not an integer", { count: 2.5 }, /option count must be an integer >= 1, got 2.5/],
    ["a block of 0", { block: 0 }, /option block must be a finite duration greater than 0, got 0 ms/],
    [
      "a block of 0 millis",
      { block: "0 millis" },
      /option block must be a finite duration greater than 0, got 0 ms/
    ],
    [
      "an infinite block",
      { block: Duration.infinity },
      /option block must be a finite duration greater than 0, got Infinity ms/
    ],
    [
      "a block that is not a duration",
      { block: "5 parsecs" as Duration.DurationInput },
      /option block must be a duration like "5 seconds" or 5000 \(ms\), got 5 parsecs/
    ],
    [
      "a watchdog grace that is not a duration",
      { watchdogGrace: "soon" as Duration.DurationInput },
      /option watchdogGrace must be a duration like "5 seconds" or 5000 \(ms\), got soon/
    ]
  ]
  for (const [name, options, message] of cases) {
    it.effect(name, () =>
      Effect.gen(function* () {
        // Refused before any read: a reader that took the options would still be reading a minute on.
        const fiber = yield* Effect.fork(Stream.runHead(EventReader.stream(options)))
        yield* TestClock.adjust("1 minute")
        const exit = fiber.unsafePoll()
        expect(exit !== null && Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        expect(exit !== null && Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "").toMatch(message)
      }).pipe(Effect.provide(readerOn("options")))
    )
  }
})
