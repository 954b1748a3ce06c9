/**
 * The suite has teeth: backends broken on purpose, each in one way a backend can go wrong, are
 * caught by the checks that claim to catch them. The checks are run as effects and their failures
 * inspected.
 */
import { describe, expect, it } from "@effect/vitest"
import { MemoryStreamBackend, StreamBackend } from "@maf/events"
import { Conformance } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** Wraps the in-memory backend; `change` replaces what it breaks. */
const brokenBackend = (
  change: (
    memory: MemoryStreamBackend.MemoryStreamBackendService
  ) => Partial<StreamBackend.StreamBackendService>
): Layer.Layer<Conformance.Environment> =>
  Layer.effect(
    StreamBackend.StreamBackend,
    Effect.map(MemoryStreamBackend.MemoryStreamBackend, (memory) => ({ ...memory, ...change(memory) }))
  ).pipe(Layer.provideMerge(Conformance.layerMemory))

/**
 * Drops every 100th body it is given, and still answers an id for it: the stream's newest id, so
 * that a reader waiting for the id of a dropped last event is not left waiting for an id beyond the
 * stream's end (an id of another stream was one a millisecond later whenever the clock ticked
 * between the two appends, and the check then timed out instead of naming what was missing).
 */
const dropsEvery100th = brokenBackend((memory) => {
  let appended = 0
  return {
    append: (stream, bodies, options) =>
      Effect.forEach(bodies, (body) =>
        ++appended % 100 === 0
          ? Effect.map(memory.info(stream), (info) => info.lastId)
          : Effect.map(memory.append(stream, [body], options), (ids) => ids[0]!)
      )
  }
})

/** Every 3rd read starts one entry early: the last entry delivered comes again. */
const repeatsOnRead = brokenBackend((memory) => {
  let reads = 0
  return {
    openCursor: Effect.map(memory.openCursor, (cursor) => ({
      read: (stream: string, after: string, options: StreamBackend.ReadOptions) =>
        Effect.flatMap(memory.entries(stream), (entries) => {
          const at = entries.findIndex((entry) => entry.id === after)
          const earlier = ++reads % 3 === 0 && at > 0 ? entries[at - 1]!.id : after
          return cursor.read(stream, earlier, options)
        })
    }))
  }
})

/** Keeps every stream in one: the stream's name is ignored. */
const oneStreamForAll = brokenBackend((memory) => ({
  append: (_stream, bodies, options) => memory.append("everything", bodies, options),
  info: () => memory.info("everything"),
  openCursor: Effect.map(memory.openCursor, (cursor) => ({
    read: (_stream: string, after: string, options: StreamBackend.ReadOptions) =>
      cursor.read("everything", after, options)
  }))
}))

/** Never reports the entries it has trimmed: `entriesAdded` is the length, as if nothing was removed. */
const hidesTrimming = brokenBackend((memory) => {
  const hide = (info: StreamBackend.StreamInfo): StreamBackend.StreamInfo => ({
    ...info,
    entriesAdded: info.length,
    maxDeletedEntryId: "0-0"
  })
  return {
    info: (stream) => Effect.map(memory.info(stream), hide),
    openCursor: Effect.map(memory.openCursor, (cursor) => ({
      read: (stream: string, after: string, options: StreamBackend.ReadOptions) =>
        Effect.map(cursor.read(stream, after, options), (batch) => ({ ...batch, info: hide(batch.info) }))
    }))
  }
})

/** Runs a check and returns its failure's message (fails the test when the check passes). */
const failureOf = <R>(check: Conformance.Check<R>) =>
  Effect.map(Effect.flip(check.run), (error) => {
    expect(error._tag).toBe("ConformanceError")
    expect(error.check).toBe(check.name)
    return error.message
  })

describe("the suite catches a backend that drops every 100th entry (and answers an id for it)", () => {
  it.effect("publish then read: the reader misses the dropped ones", () =>
    Effect.gen(function* () {
      const message = yield* failureOf(Conformance.publishThenRead)
      expect(message).toMatch(/what the reader delivered: 239 instead of 241; .*2 missing \(i99, i199\)/)
    }).pipe(Effect.provide(dropsEvery100th))
  )

  it.effect("50 concurrent publishers: every reader is 50 short", () =>
    Effect.gen(function* () {
      const message = yield* failureOf(Conformance.concurrentPublishers)
      expect(message).toMatch(/reader 0 \(events, sorted\): 4950 instead of 5000; .*50 missing/)
    }).pipe(Effect.provide(dropsEvery100th))
  )

  it.effect("a late reader: the replay misses them", () =>
    Effect.gen(function* () {
      expect(yield* failureOf(Conformance.lateReaderReplays)).toMatch(
        /the first late reader \(ids\): 297 instead of 300/
      )
    }).pipe(Effect.provide(dropsEvery100th))
  )

  it.effect("readers opened and closed: across them, 20 lost", () =>
    Effect.gen(function* () {
      expect(yield* failureOf(Conformance.readerOpenCloseCycles)).toMatch(
        /1980 instead of 2000; .*20 missing/
      )
    }).pipe(Effect.provide(dropsEvery100th))
  )

  it.effect("a publisher closed with events buffered: the stream is 30 short", () =>
    Effect.gen(function* () {
      expect(yield* failureOf(Conformance.publisherCloseDrains)).toMatch(
        /after closing the bus, the stream holds 2970 entries of 3000 published/
      )
    }).pipe(Effect.provide(dropsEvery100th))
  )

  it.effect("many readers closed concurrently: those that stay are 30 short", () =>
    Effect.gen(function* () {
      expect(yield* failureOf(Conformance.concurrentReaderClose)).toMatch(/reader 20: 2970 instead of 3000/)
    }).pipe(Effect.provide(dropsEvery100th))
  )
})

describe("the suite catches other broken backends", () => {
  it.effect("a backend that answers entries again: the reader's own guard still delivers each once", () =>
    Effect.gen(function* () {
      yield* Conformance.concurrentPublishers.run
      yield* Conformance.readerOpenCloseCycles.run
    }).pipe(Effect.provide(repeatsOnRead))
  )

  it.effect("a backend that keeps all streams in one", () =>
    Effect.gen(function* () {
      expect(yield* failureOf(Conformance.isolatedStreams)).toMatch(/stream 0: 300 instead of 150/)
    }).pipe(Effect.provide(oneStreamForAll))
  )

  it.effect("a backend that hides what it trimmed: the gap's count is wrong", () =>
    Effect.gen(function* () {
      expect(yield* failureOf(Conformance.trimmingGaps)).toMatch(/the first result after the trim/)
    }).pipe(Effect.provide(hidesTrimming))
  )

  it.effect("the same checks pass on the in-memory backend as it is", () =>
    Effect.forEach(
      [
        Conformance.publishThenRead,
        Conformance.isolatedStreams,
        Conformance.lateReaderReplays,
        Conformance.trimmingGaps
      ],
      (check) => check.run,
      { discard: true }
    ).pipe(Effect.provide(Conformance.layerMemory))
  )
})
