/**
 * The conformance suite: the contract of a `StreamBackend`, checked through what users see — an
 * `EventBus` and an `EventReader` built over the backend. One call registers it with
 * `@effect/vitest`; the repository runs it against the in-memory backend and against a real
 * `redis-server`, and a backend of your own passes it the same way.
 *
 * Every check is also exported as an effect ({@link Check}) that fails with a
 * {@link ConformanceError} saying what broke ("reader 2: 4950 entries instead of 5000; 50
 * missing …"), so that a check can be run and inspected on its own — which is how the repository
 * keeps a deliberately broken backend as a test that the suite catches.
 *
 * The checks run on the live clock (also under `it.effect`), use a fresh stream each, wait for
 * conditions by polling with a bound (never by sleeping), and compare exact ids, order and counts.
 *
 * @example
 * ```ts
 * import { RedisStreamBackend } from "@maf/events-redis"
 * import { Conformance } from "@maf/events-test"
 *
 * // Registers a describe block with every check, against the in-memory backend.
 * Conformance.conformance("memory backend", Conformance.layerMemory)
 * // Against a real redis-server, the server restarts included: the backend is built for its URL.
 * Conformance.conformance(
 *   "redis backend",
 *   Conformance.layerRedis((url) => RedisStreamBackend.layer({ url })),
 *   { faults: true }
 * )
 * ```
 *
 * @since 0.1.0
 */
import { isDeepStrictEqual } from "node:util"
import {
  Event,
  EventReader,
  MemoryStreamBackend,
  type ReadResult,
  StreamBackend,
  WireCodec
} from "@maf/events"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import {
  awaitThrough,
  backendCall,
  describeDifference,
  describeFollower,
  eventually,
  firstNotIncreasing,
  flushed,
  follow,
  idsOf,
  keyOf,
  lastIdOf,
  type Probe,
  patience,
  publisher,
  range,
  reached,
  readOptions,
  readThrough,
  requireCount,
  requireIncreasing,
  show,
  type Tagged,
  taken,
  written
} from "./internal/probe.js"
import * as RedisTestServer from "./RedisTestServer.js"

/**
 * `@effect/vitest`, loaded only where it can be: importing vitest outside a test run throws, and the
 * rest of the test kit (the checks, `RedisTestServer`, …) is used outside test runs too.
 */
const vitest = await import("@effect/vitest").then(
  (module) => module,
  () => undefined
)

// ---------------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------------

/**
 * A check found the backend breaking the contract; the message says what, with the numbers.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConformanceError extends Data.TaggedError("ConformanceError")<{
  /** The check's name. */
  readonly check: string
  readonly message: string
}> {}

/**
 * Writes raw stream entries, as a raw `XADD` would: the one thing the suite needs that the port
 * does not offer (the port writes only well-formed entries, each with one `data` field), so that
 * entries without a `data` field can be put in the way of a reader.
 *
 * @since 0.1.0
 * @category capabilities
 */
export class RawEntries extends Context.Tag("@maf/events-test/Conformance/RawEntries")<
  RawEntries,
  {
    /** Appends one entry with the given field list (`[name, value, …]`, at least one pair); returns its id. */
    readonly append: (stream: string, fields: ReadonlyArray<string>) => Effect.Effect<string, unknown>
  }
>() {}

/**
 * The faults a backend with a server can be put through; given (and `faults: true` passed to
 * {@link conformance}), the server restart case runs.
 *
 * @since 0.1.0
 * @category capabilities
 */
export class Faults extends Context.Tag("@maf/events-test/Conformance/Faults")<
  Faults,
  {
    /** Stops the server and starts it again with its data; every connection breaks. */
    readonly restart: Effect.Effect<void, unknown>
    /**
     * Makes the server stop answering for `duration` (its connections stay open), returning once
     * it has stopped; it answers again after about `duration`.
     */
    readonly hang: (duration: Duration.Duration) => Effect.Effect<void, unknown>
  }
>() {}

/**
 * What every check needs: the backend under test and a way to write raw entries into it.
 *
 * @since 0.1.0
 * @category models
 */
export type Environment = StreamBackend.StreamBackend | RawEntries

/**
 * One check of the contract, as an effect: it succeeds when the backend keeps the contract and fails
 * with a {@link ConformanceError} saying what broke otherwise. It runs on the live clock, in a scope
 * of its own, on fresh streams.
 *
 * @since 0.1.0
 * @category models
 */
export interface Check<R = never> {
  readonly name: string
  readonly run: Effect.Effect<void, ConformanceError, StreamBackend.StreamBackend | R>
}

// ---------------------------------------------------------------------------------------------------
// internal helpers
// ---------------------------------------------------------------------------------------------------

let streamCount = 0
// The default services' own `Clock`, not `Clock.make()`: the bus takes its fastest paths on the
// very clock every fiber has unless another is provided.
const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

const makeCheck = <R>(
  name: string,
  label: string,
  body: (probe: Probe<ConformanceError>) => Effect.Effect<void, ConformanceError, R>
): Check<Exclude<R, StreamBackend.StreamBackend | Scope.Scope>> => ({
  name,
  run: Effect.gen(function* () {
    const backend = yield* StreamBackend.StreamBackend
    const error = (message: string) => new ConformanceError({ check: name, message })
    const require = (ok: boolean, message: () => string) => (ok ? Effect.void : Effect.fail(error(message())))
    const probe: Probe<ConformanceError> = {
      check: name,
      backend,
      reader: EventReader.make(backend),
      freshStream: (part) =>
        Effect.sync(
          () => `conformance:${label}:${part}:${process.pid}-${Date.now().toString(36)}-${++streamCount}`
        ),
      error,
      require,
      sameSequence: (what, actual, expected) =>
        Effect.suspend(() => {
          const difference = describeDifference(actual, expected)
          return difference === undefined ? Effect.void : Effect.fail(error(`${what}: ${difference}`))
        }),
      sameValue: (what, actual, expected) =>
        require(isDeepStrictEqual(actual, expected), () =>
          `${what}: got ${show(actual)}, expected ${show(expected)}`)
    }
    yield* body(probe)
  }).pipe(
    Effect.scoped,
    Effect.withClock(liveClock),
    // The warnings a reader logs (malformed entries, gaps, reconnects) are expected here.
    Logger.withMinimumLogLevel(LogLevel.Error)
  ) as Effect.Effect<void, ConformanceError, any>
})

// ---------------------------------------------------------------------------------------------------
// the checks
// ---------------------------------------------------------------------------------------------------

const timestampOf = (i: number): string =>
  `2026-05-14T${String(10 + Math.floor(i / 3600)).padStart(2, "0")}:${String(
    Math.floor(i / 60) % 60
  ).padStart(
    2,
    "0"
  )}:${String(i % 60).padStart(2, "0")}.${String((i * 7919) % 1_000_000).padStart(6, "0")}+00:00`

const roundTripInput = (i: number): Event.Event<Event.CanonicalKind, Event.Payload> => ({
  kind: Event.canonicalKinds[i % Event.canonicalKinds.length]!,
  arena: i % 4 === 3 ? "" : `arena-${i % 3}`,
  arenaId: `run-${i % 5}`,
  phase: ["", "analysis", "execution"][i % 3]!,
  ts: timestampOf(i),
  correlationId: (i * 2_654_435_761).toString(16).padStart(32, "0").slice(-32),
  payload: {
    i,
    text: `héllo ✓ 𝄞 日本語 "quoted" \\ back\nslash\ttab\u0000nul ${i}`,
    numbers: [0, -1, 2.5, 1e21, Number.MAX_SAFE_INTEGER, -1e-7],
    flags: { yes: true, no: false, none: null },
    nested: { deep: { deeper: { deepest: [i, [i + 1, { n: i + 2 }]] } } },
    empty: {},
    list: [],
    ...(i % 50 === 7 ? { big: "x".repeat(100_000) } : {})
  }
})

/**
 * Publish then read: 240 events of every canonical kind with every envelope field and varied
 * payloads (unicode, control characters, nesting, a 100 kB string), half awaited and half
 * fire-and-forget, plus one with only a kind. Read back from `"0"`: every event, envelope and
 * payload intact, in order, at the ids `publish` answered.
 *
 * @since 0.1.0
 * @category checks
 */
export const publishThenRead: Check = makeCheck(
  "publish then read: every event back, payload and envelope intact, in order",
  "round-trip",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.freshStream("events")
      const bus = yield* publisher(stream, { batchSize: 32 })
      const inputs = range(240).map(roundTripInput)
      const awaitedIds: Array<string> = []
      for (const input of inputs.slice(0, 120)) {
        awaitedIds.push(yield* Effect.flatMap(bus.publish(input), written(probe, `event ${input.payload.i}`)))
      }
      for (const input of inputs.slice(120)) {
        yield* Effect.flatMap(bus.publishNowait(input), taken(probe, `event ${input.payload.i}`))
      }
      yield* flushed(probe, bus, "the fire-and-forget half")
      const bareId = yield* Effect.flatMap(
        bus.publish({ kind: "system.status" }),
        written(probe, "a bare event")
      )

      const results = yield* readThrough(probe, "the reader", { stream, from: "0" }, bareId)
      yield* requireIncreasing(probe, "the reader", results)
      yield* probe.sameSequence("what the reader delivered", results.map(keyOf), [
        ...inputs.map((input) => `i${input.payload.i}`),
        "system.status"
      ])
      yield* probe.sameSequence("the ids of the awaited events", idsOf(results.slice(0, 120)), awaitedIds)
      yield* probe.sameValue("the id of the last event", results[240]?.streamId, bareId)
      for (let i = 0; i < 240; i++) {
        const result = results[i]!
        yield* probe.sameValue(
          `event ${i} as read`,
          result._tag === "KnownEvent" ? result.event : result,
          inputs[i]
        )
      }
      const bare = results[240]
      if (bare?._tag !== "KnownEvent") return yield* probe.error(`the bare event was read as ${show(bare)}`)
      const { ts, correlationId, ...rest } = bare.event
      yield* probe.sameValue("the bare event's envelope and payload", rest, {
        kind: "system.status",
        arena: "",
        arenaId: "",
        phase: "",
        payload: {}
      })
      yield* probe.require(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/.test(ts) && /^[0-9a-f]{32}$/.test(correlationId),
        () => `the bare event's filled ts / correlation id have the wrong shape: ${ts} / ${correlationId}`
      )
      yield* requireCount(probe, stream, 241, "after publishing")
      yield* probe.require(
        firstNotIncreasing([...awaitedIds, bareId]) === -1,
        () => `the ids publish answered do not increase`
      )
    })
)

/**
 * 50 concurrent publishers (each its own bus: 50 awaited events, then 50 fire-and-forget), five
 * readers from `"0"` reading all the while: every reader gets all 5,000 entries, each once, in the
 * stream's order (the same for all), each publisher's events in its order, at the ids `publish`
 * answered.
 *
 * @since 0.1.0
 * @category checks
 */
export const concurrentPublishers: Check = makeCheck(
  "50 concurrent publishers, several concurrent readers: everything delivered to every reader",
  "concurrent",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.freshStream("events")
      const publishers = 50
      const perPublisher = 100
      const total = publishers * perPublisher
      const readers = yield* Effect.forEach(range(5), (r) =>
        follow(probe, `reader ${r}`, { stream, from: "0" })
      )
      const awaited = new Map<string, string>()
      yield* Effect.forEach(
        range(publishers),
        (p) =>
          Effect.gen(function* () {
            const bus = yield* publisher(stream, { batchSize: 16 })
            for (let i = 0; i < perPublisher; i++) {
              const input = { kind: "agent.signal", arena: `arena-${p}`, payload: { p, i } }
              if (i < perPublisher / 2) {
                awaited.set(
                  `p${p}/i${i}`,
                  yield* Effect.flatMap(bus.publish(input), written(probe, `publisher ${p}`))
                )
              } else {
                yield* Effect.flatMap(bus.publishNowait(input), taken(probe, `publisher ${p}`))
              }
            }
            yield* flushed(probe, bus, `publisher ${p}`)
          }).pipe(Effect.scoped),
        { concurrency: "unbounded", discard: true }
      )
      const lastId = yield* lastIdOf(probe, stream)
      yield* awaitThrough(probe, readers, lastId)
      const reference = readers[0]!.results.slice()
      for (const reader of readers) {
        const results = reader.results.slice()
        yield* requireIncreasing(probe, reader.label, results)
        yield* probe.sameSequence(`${reader.label} (ids, against reader 0)`, idsOf(results), idsOf(reference))
        const keys = results.map(keyOf)
        yield* probe.sameSequence(
          `${reader.label} (events, sorted)`,
          keys.slice().sort(),
          range(publishers)
            .flatMap((p) => range(perPublisher).map((i) => `p${p}/i${i}`))
            .sort()
        )
      }
      for (let p = 0; p < publishers; p++) {
        yield* probe.sameSequence(
          `publisher ${p}'s events in the stream`,
          reference.map(keyOf).filter((key) => key.startsWith(`p${p}/`)),
          range(perPublisher).map((i) => `p${p}/i${i}`)
        )
      }
      const atId = new Map(reference.map((r) => [r.streamId, keyOf(r)]))
      for (const [key, id] of awaited) {
        yield* probe.sameValue(`the entry at ${id}, which publish answered for ${key}`, atId.get(id), key)
      }
      yield* requireCount(probe, stream, total, "after publishing")
    })
)

/**
 * Separate streams stay isolated: three streams written at once (150, 100 and 50 events), each read
 * back with only its own events; a fourth stream, never written, is empty and reads nothing.
 *
 * @since 0.1.0
 * @category checks
 */
export const isolatedStreams: Check = makeCheck("separate streams stay isolated", "isolation", (probe) =>
  Effect.gen(function* () {
    const counts = [150, 100, 50]
    const streams = yield* Effect.forEach(counts, (_, s) => probe.freshStream(`s${s}`))
    yield* Effect.forEach(
      streams,
      (stream, p) =>
        Effect.gen(function* () {
          const bus = yield* publisher(stream, { batchSize: 8 })
          for (let i = 0; i < counts[p]!; i++) {
            yield* Effect.flatMap(
              bus.publishNowait({ kind: "llm.call", payload: { p, i } }),
              taken(probe, `stream ${p}`)
            )
            if (i % 10 === 0) yield* Effect.yieldNow()
          }
          yield* flushed(probe, bus, `stream ${p}`)
        }).pipe(Effect.scoped),
      { concurrency: "unbounded", discard: true }
    )
    for (let p = 0; p < streams.length; p++) {
      const stream = streams[p]!
      const results = yield* readThrough(
        probe,
        `reader of stream ${p}`,
        { stream, from: "0" },
        yield* lastIdOf(probe, stream)
      )
      yield* probe.sameSequence(
        `stream ${p}`,
        results.map(keyOf),
        range(counts[p]!).map((i) => `p${p}/i${i}`)
      )
      yield* requireCount(probe, stream, counts[p]!, `stream ${p}`)
    }
    const unused = yield* probe.freshStream("never-written")
    const info = yield* backendCall(probe, "info of a stream never written", probe.backend.info(unused))
    yield* probe.sameValue(
      "the info of a stream never written",
      [info.length, info.firstId, info.lastId],
      [0, undefined, "0-0"]
    )
    const read = yield* probe.reader
      .stream(readOptions({ stream: unused, from: "0", block: Duration.millis(100) }))
      .pipe(Stream.interruptWhen(Effect.sleep(Duration.millis(300))), Stream.runCollect)
      .pipe(Effect.mapError((e) => probe.error(`reading a stream never written failed: ${e.message}`)))
    yield* probe.sameSequence("what a stream never written gives", Chunk.toReadonlyArray(read).map(keyOf), [])
  })
)

/**
 * A reader opened later replays the history from `"0"`: after 300 events, and again after 200
 * more; a reader starting after an id gets exactly what follows it.
 *
 * @since 0.1.0
 * @category checks
 */
export const lateReaderReplays: Check = makeCheck(
  'a reader opened later replays the history from "0"',
  "late-reader",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.freshStream("events")
      const bus = yield* publisher(stream)
      const ids: Array<string> = []
      const publishRange = (from: number, to: number) =>
        Effect.gen(function* () {
          for (let i = from; i < to; i++) {
            ids.push(
              yield* Effect.flatMap(
                bus.publish({ kind: "decision.emit", payload: { i } }),
                written(probe, `event ${i}`)
              )
            )
          }
        })
      yield* publishRange(0, 300)
      const first = yield* readThrough(probe, "the first late reader", { stream, from: "0" }, ids[299]!)
      yield* probe.sameSequence("the first late reader (ids)", idsOf(first), ids)
      yield* probe.sameSequence(
        "the first late reader (events)",
        first.map(keyOf),
        range(300).map((i) => `i${i}`)
      )
      yield* publishRange(300, 500)
      const second = yield* readThrough(probe, "the second late reader", { stream, from: "0" }, ids[499]!)
      yield* probe.sameSequence("the second late reader (ids)", idsOf(second), ids)
      const after = yield* readThrough(probe, "a reader after an id", { stream, from: ids[299]! }, ids[499]!)
      yield* probe.sameSequence("a reader starting after entry 299", idsOf(after), ids.slice(300))
      const middle = yield* readThrough(probe, "a reader after an id", { stream, from: ids[149]! }, ids[499]!)
      yield* probe.sameSequence("a reader starting after entry 149", idsOf(middle), ids.slice(150))
    })
)

/**
 * A live tail from `"$"` delivers what is written after it started and nothing before: 100 events of
 * history, then markers until the tail delivers one, then 50 more; the tail delivers exactly the
 * entries from its first marker on.
 *
 * @since 0.1.0
 * @category checks
 */
export const liveTail: Check = makeCheck(
  'a live tail from "$" delivers what comes after it started, nothing before',
  "live-tail",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.freshStream("events")
      const bus = yield* publisher(stream)
      const ids: Array<string> = []
      const keys: Array<string> = []
      const publishOne = (key: string, i: number) =>
        Effect.gen(function* () {
          ids.push(
            yield* Effect.flatMap(bus.publish({ kind: "phase.start", payload: { i } }), written(probe, key))
          )
          keys.push(`i${i}`)
        })
      for (let i = 0; i < 100; i++) yield* publishOne("history", i)
      const tail = yield* follow(probe, "the tail", { stream, from: "$" })
      // Markers until the tail has pinned its start and delivered one (it misses those before its start).
      let marker = 1000
      const started = yield* Effect.gen(function* () {
        for (;;) {
          yield* publishOne("marker", marker++)
          if (yield* eventually(() => tail.results.length > 0, Duration.millis(20))) return true
          if (marker > 1000 + Duration.toMillis(patience) / 20) return false
        }
      })
      yield* probe.require(started, () => `the tail delivered nothing of ${marker - 1000} markers`)
      for (let i = 100; i < 150; i++) yield* publishOne("after", i)
      yield* awaitThrough(probe, [tail], ids.at(-1)!)
      const results = tail.results.slice()
      const start = ids.indexOf(results[0]!.streamId)
      yield* probe.require(
        start >= 100,
        () =>
          `the tail's first entry ${results[0]!.streamId} (${keyOf(results[0]!)}) is history, written before it started`
      )
      yield* probe.sameSequence("the tail (ids)", idsOf(results), ids.slice(start))
      yield* probe.sameSequence("the tail (events)", results.map(keyOf), keys.slice(start))
    })
)

/**
 * Readers opened and closed repeatedly while a publisher writes 2,000 events: each reads a few
 * entries (1 to 97) from where the previous one stopped and closes; every fifth is interrupted while
 * it waits. Across them, every entry exactly once, in order.
 *
 * @since 0.1.0
 * @category checks
 */
export const readerOpenCloseCycles: Check = makeCheck(
  "readers opened and closed repeatedly while publishing: across them nothing lost, nothing repeated",
  "open-close",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.freshStream("events")
      const total = 2000
      let target: string | undefined
      const writer = yield* Effect.gen(function* () {
        const bus = yield* publisher(stream, { batchSize: 20 })
        for (let i = 0; i < total; i++) {
          yield* Effect.flatMap(
            bus.publishNowait({ kind: "agent.start", payload: { i } }),
            taken(probe, "publisher")
          )
          if (i % 20 === 0) yield* Effect.sleep(Duration.millis(1))
        }
        yield* flushed(probe, bus, "publisher")
        target = yield* lastIdOf(probe, stream)
      }).pipe(Effect.scoped, Effect.forkScoped)

      const delivered: Array<ReadResult.ReadResult> = []
      let position = "0"
      let cycle = 0
      let interrupted = 0
      while (!(target !== undefined && reached(position, target))) {
        if (writer.unsafePoll() !== null && target === undefined) break
        cycle++
        const wanted = 1 + ((cycle * 37) % 97)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const follower = yield* follow(probe, `reader ${cycle}`, {
              stream,
              from: position,
              count: 1 + (cycle % 13)
            })
            if (cycle % 5 === 0) {
              // Closed while it waits or reads: what it delivered still counts, in order.
              yield* Effect.sleep(Duration.millis(1))
              interrupted++
            } else {
              const done = yield* eventually(
                () =>
                  follower.results.length >= wanted ||
                  (target !== undefined && reached(follower.last(), target)) ||
                  follower.fiber.unsafePoll() !== null
              )
              if (!done) {
                return yield* probe.error(
                  `${describeFollower(follower)} after ${delivered.length} entries, waiting for ${wanted} within ${Duration.format(patience)}`
                )
              }
            }
            yield* Fiber.interrupt(follower.fiber)
            const got = follower.results.slice(0, cycle % 5 === 0 ? undefined : wanted)
            delivered.push(...got)
            if (got.length > 0) position = got.at(-1)!.streamId
          })
        )
      }
      yield* Fiber.join(writer)
      yield* requireIncreasing(probe, `${cycle} readers, one after another`, delivered)
      yield* probe.sameSequence(
        `${cycle} readers, one after another (${interrupted} interrupted)`,
        delivered.map(keyOf),
        range(total).map((i) => `i${i}`)
      )
      yield* requireCount(probe, stream, total, "after publishing")
    })
)

/**
 * 40 readers follow a stream while 3,000 events are written; when a third is written, 20 of them are
 * closed at once (which must take well under a second). The 20 others deliver everything, each entry
 * once, in order; the closed ones delivered a prefix of it.
 *
 * @since 0.1.0
 * @category checks
 */
export const concurrentReaderClose: Check = makeCheck(
  "many readers closed concurrently while others keep reading",
  "concurrent-close",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.freshStream("events")
      const total = 3000
      const followers = yield* Effect.forEach(range(40), (r) =>
        follow(probe, `reader ${r}`, { stream, from: "0" })
      )
      const [closing, staying] = [followers.slice(0, 20), followers.slice(20)]
      let written = 0
      const writer = yield* Effect.gen(function* () {
        const bus = yield* publisher(stream, { batchSize: 25 })
        for (let i = 0; i < total; i++) {
          yield* Effect.flatMap(
            bus.publishNowait({ kind: "agent.complete", payload: { i } }),
            taken(probe, "publisher")
          )
          written++
          if (i % 25 === 0) yield* Effect.sleep(Duration.millis(1))
        }
        yield* flushed(probe, bus, "publisher")
      }).pipe(Effect.scoped, Effect.forkScoped)
      yield* probe.require(
        yield* eventually(() => written >= total / 3 && staying[0]!.results.length > 0),
        () => `a third of the events was not written within ${Duration.format(patience)}`
      )
      const closed = yield* Fiber.interruptAll(closing.map((f) => f.fiber)).pipe(
        Effect.timeoutOption(Duration.seconds(2))
      )
      yield* probe.require(
        closed._tag === "Some",
        () => "closing 20 readers at once took more than 2 seconds"
      )
      yield* Fiber.join(writer)
      yield* awaitThrough(probe, staying, yield* lastIdOf(probe, stream))
      const expected = range(total).map((i) => `i${i}`)
      const reference = idsOf(staying[0]!.results)
      for (const follower of staying) {
        yield* requireIncreasing(probe, follower.label, follower.results)
        yield* probe.sameSequence(follower.label, follower.results.map(keyOf), expected)
        yield* probe.sameSequence(
          `${follower.label} (ids, against reader 20)`,
          idsOf(follower.results),
          reference
        )
      }
      for (const follower of closing) {
        const ids = idsOf(follower.results)
        yield* probe.sameSequence(`${follower.label}, closed (a prefix)`, ids, reference.slice(0, ids.length))
      }
      yield* requireCount(probe, stream, total, "after publishing")
    })
)

/**
 * A publisher closed with events still buffered: 3,000 fire-and-forget events, small batches, the
 * bus closed at once without a flush. Closing drains the buffer: all 3,000 are in the stream, in
 * order.
 *
 * @since 0.1.0
 * @category checks
 */
export const publisherCloseDrains: Check = makeCheck(
  "publisher closed with events buffered: nothing lost",
  "close-drain",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.freshStream("events")
      const total = 3000
      yield* Effect.scoped(
        Effect.gen(function* () {
          const bus = yield* publisher(stream, {
            batchSize: 10,
            bufferCapacity: total,
            drainTimeout: patience
          })
          for (let i = 0; i < total; i++) {
            yield* Effect.flatMap(
              bus.publishNowait({ kind: "llm.call", payload: { i } }),
              taken(probe, "publisher")
            )
          }
        })
      )
      const info = yield* backendCall(probe, "info", probe.backend.info(stream))
      yield* probe.require(
        info.length === total,
        () => `after closing the bus, the stream holds ${info.length} entries of ${total} published`
      )
      const results = yield* readThrough(probe, "the reader", { stream, from: "0" }, info.lastId)
      yield* requireIncreasing(probe, "the reader", results)
      yield* probe.sameSequence(
        "the drained events",
        results.map(keyOf),
        range(total).map((i) => `i${i}`)
      )
    })
)

const validBody = (i: number) =>
  WireCodec.encode({
    kind: "arena.start",
    arena: "a",
    arenaId: "",
    phase: "",
    ts: "2026-05-14T11:22:33.123456+00:00",
    correlationId: "",
    payload: { i }
  })

/**
 * Bad entries and unknown kinds surface as variants and reading goes on: bodies that are not JSON,
 * not an object, without a kind, failing the schema; entries without a `data` field or with an empty
 * one (written raw); unknown kinds written raw and published through the bus. Each comes out as its
 * variant (with its reason, raw text, kind and body), at its id, between the good events.
 *
 * @since 0.1.0
 * @category checks
 */
export const badEntries: Check<RawEntries> = makeCheck(
  "bad entries and unknown kinds: surfaced as variants, reading continues",
  "bad-entries",
  (probe) =>
    Effect.gen(function* () {
      const raw = yield* RawEntries
      const stream = yield* probe.freshStream("events")
      const bus = yield* publisher(stream)
      const ids: Array<string> = []
      const expected: Array<unknown> = []
      const body = (text: string, variant: (id: string) => unknown) =>
        Effect.gen(function* () {
          const [id] = yield* backendCall(
            probe,
            "append",
            probe.backend.append(stream, [text], { maxlen: 0 })
          )
          ids.push(id!)
          expected.push(variant(id!))
        })
      const fields = (list: ReadonlyArray<string>, variant: (id: string) => unknown) =>
        Effect.gen(function* () {
          const id = yield* raw
            .append(stream, list)
            .pipe(Effect.mapError((e) => probe.error(`a raw append failed: ${show(String(e))}`)))
          ids.push(id)
          expected.push(variant(id))
        })
      const malformed =
        (reason: ReadResult.MalformedReason, rawText: string | undefined, list: ReadonlyArray<string>) =>
        (streamId: string) => ({ _tag: "Malformed", streamId, reason, raw: rawText, fields: list })
      const known = (i: number) => (streamId: string) => ({ _tag: "KnownEvent", streamId, i })

      yield* body(validBody(0), known(0))
      yield* body("{not json", malformed("json_decode", "{not json", ["data", "{not json"]))
      yield* fields(["other", "x"], malformed("no_data_field", undefined, ["other", "x"]))
      yield* body("[1, 2]", malformed("schema", "[1, 2]", ["data", "[1, 2]"]))
      yield* fields(["data", ""], malformed("no_data_field", "", ["data", ""]))
      yield* body('"a string"', malformed("schema", '"a string"', ["data", '"a string"']))
      const noKind = JSON.stringify({ arena: "a", ts: "2026-05-14T11:22:33Z" })
      yield* body(noKind, malformed("schema", noKind, ["data", noKind]))
      const badTs = JSON.stringify({ kind: "phase.start", ts: "yesterday" })
      yield* body(badTs, malformed("schema", badTs, ["data", badTs]))
      const unknownRaw = { kind: "trade.fill", ts: "2026-05-14T11:22:33.123456+00:00", payload: { qty: 3 } }
      yield* body(JSON.stringify(unknownRaw), (streamId) => ({
        _tag: "UnknownKind",
        streamId,
        kind: "trade.fill",
        body: unknownRaw
      }))
      yield* body(validBody(1), known(1))
      const unknownPublished = {
        kind: "custom.kind",
        arena: "a",
        arenaId: "x",
        phase: "p",
        ts: "2026-05-14T11:22:33.123456+00:00",
        correlationId: "c",
        payload: { nested: { ok: true } }
      }
      const publishedId = yield* Effect.flatMap(
        bus.publish(unknownPublished),
        written(probe, "an unknown kind")
      )
      ids.push(publishedId)
      expected.push({
        _tag: "UnknownKind",
        streamId: publishedId,
        kind: "custom.kind",
        body: {
          schema_version: "1",
          kind: "custom.kind",
          arena: "a",
          arena_id: "x",
          phase: "p",
          ts: "2026-05-14T11:22:33.123456+00:00",
          correlation_id: "c",
          payload: { nested: { ok: true } }
        }
      })
      yield* fields(["data", validBody(2), "extra", "field"], known(2))
      yield* body(validBody(3), known(3))

      const results = yield* readThrough(probe, "the reader", { stream, from: "0", count: 3 }, ids.at(-1)!)
      yield* probe.sameSequence("the ids read", idsOf(results), ids)
      for (let n = 0; n < results.length; n++) {
        const result = results[n]!
        const actual =
          result._tag === "Malformed"
            ? {
                _tag: result._tag,
                streamId: result.streamId,
                reason: result.reason,
                raw: result.raw,
                fields: result.fields
              }
            : result._tag === "KnownEvent"
              ? { _tag: result._tag, streamId: result.streamId, i: (result.event.payload as Tagged).i }
              : result
        yield* probe.sameValue(`entry #${n}`, actual, expected[n])
      }
    })
)

/**
 * Gaps after trimming surface as `Gap` and reading goes on: a paused reader (10 of 20 entries read),
 * then 1,000 entries appended with `maxlen` 100. The backend trims (approximately, never below the
 * cap); the reader's next entry is a `Gap` after its last id, at the first entry left, with the exact
 * number lost (where the backend counts entries added), then every entry left, in order. A replay
 * from `"0"` starts with a gap after `0-0`.
 *
 * @since 0.1.0
 * @category checks
 */
export const trimmingGaps: Check = makeCheck(
  "gaps after trimming: surfaced as a Gap with the count, reading continues",
  "gaps",
  (probe) =>
    Effect.gen(function* () {
      const stream = yield* probe.freshStream("events")
      const append = (from: number, to: number, maxlen: number) =>
        backendCall(
          probe,
          "append",
          probe.backend.append(
            stream,
            range(to - from).map((n) => validBody(from + n)),
            { maxlen }
          )
        )
      yield* append(0, 20, 0)
      const pull = yield* Stream.toPull(probe.reader.stream(readOptions({ stream, from: "0", count: 10 })))
      const pullOnce = pull.pipe(
        Effect.map(Chunk.toReadonlyArray),
        Effect.mapError((e) => probe.error(`a read failed: ${show(e)}`)),
        Effect.timeoutFail({ duration: patience, onTimeout: () => probe.error("a read did not return") })
      )
      const firstTen = yield* pullOnce
      yield* probe.sameSequence(
        "the first read",
        firstTen.map(keyOf),
        range(10).map((i) => `i${i}`)
      )
      for (let from = 20; from < 1020; from += 100) yield* append(from, from + 100, 100)
      const info = yield* backendCall(probe, "info", probe.backend.info(stream))
      yield* probe.require(
        info.length >= 100 && info.length < 1010 && info.firstId !== undefined,
        () =>
          `appending 1,000 entries with maxlen 100 left ${info.length} of 1,020 (expected at least 100, and trimming)`
      )
      const left = info.length
      const rest: Array<ReadResult.ReadResult> = []
      while (!reached(rest.at(-1)?.streamId, info.lastId)) {
        const chunk = yield* pullOnce
        yield* probe.require(chunk.length > 0, () => `a read came back empty after ${rest.length} entries`)
        rest.push(...chunk)
      }
      const lost = info.entriesAdded === undefined ? undefined : 1020 - 10 - left
      yield* probe.sameValue("the first result after the trim", rest[0], {
        _tag: "Gap",
        streamId: info.firstId,
        after: firstTen[9]!.streamId,
        lost
      })
      yield* probe.sameSequence(
        "what follows the gap",
        rest.slice(1).map(keyOf),
        range(left).map((n) => `i${1020 - left + n}`)
      )
      const replay = yield* readThrough(probe, "a replay", { stream, from: "0" }, info.lastId)
      yield* probe.sameValue("the first result of a replay from 0", replay[0], {
        _tag: "Gap",
        streamId: info.firstId,
        after: "0-0",
        lost: info.entriesAdded === undefined ? undefined : 1020 - left
      })
      yield* probe.sameSequence("the replay after its gap", idsOf(replay.slice(1)), idsOf(rest.slice(1)))
    })
)

/**
 * The server restarted at one third and at one half of 10,000 events from 20 publishers
 * (fire-and-forget, publishing on while the server is down), with three readers following: every
 * event is in the stream, each publisher's in its order; every reader delivers every entry exactly
 * once, in order, as a replay from `"0"` afterwards does. Needs {@link Faults}.
 *
 * Across a crash, the publisher is at-least-once: a batch whose reply was lost with the connection
 * is written again, so an event may be in the stream twice. The check allows that, up to the batches
 * that can be in flight at the restarts (publishers × restarts × batch size); a reader never repeats
 * an entry.
 *
 * @since 0.1.0
 * @category checks
 */
export const serverRestart: Check<Faults> = makeCheck(
  "the server restarted at one third and one half of 10,000 events from many publishers: all received",
  "restart",
  (probe) =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const stream = yield* probe.freshStream("events")
      const publishers = 20
      const perPublisher = 500
      const total = publishers * perPublisher
      const readers = yield* Effect.forEach(range(3), (r) =>
        follow(probe, `reader ${r}`, { stream, from: "0", count: 200 })
      )
      let published = 0
      // The restarts, each as soon as a third and a half of the events are published, while the
      // publishers go on (their events wait in their buffers while the server is down).
      const restarter = yield* Effect.gen(function* () {
        let restarts = 0
        for (const at of [Math.floor(total / 3), Math.floor(total / 2)]) {
          if (!(yield* eventually(() => published >= at))) {
            return yield* probe.error(`${at} events were not published within ${Duration.format(patience)}`)
          }
          const before = yield* backendCall(probe, "info before a restart", probe.backend.info(stream))
          yield* probe.require(
            before.length < total,
            () => `the restart meant for ${at} events came after all of them were written`
          )
          yield* faults.restart.pipe(
            Effect.mapError((e) =>
              probe.error(`the restart at ${published} events failed: ${show(String(e))}`)
            )
          )
          restarts++
        }
        return restarts
      }).pipe(Effect.forkScoped)
      yield* Effect.forEach(
        range(publishers),
        (p) =>
          Effect.gen(function* () {
            const bus = yield* publisher(stream, { batchSize: 50, bufferCapacity: perPublisher })
            for (let i = 0; i < perPublisher; i++) {
              yield* Effect.flatMap(
                bus.publishNowait({ kind: "source.fetch", payload: { p, i } }),
                taken(probe, `publisher ${p}`)
              )
              published++
              // About a second of publishing in all: the restarts fall well within it.
              yield* Effect.sleep(Duration.millis(2))
            }
            yield* flushed(probe, bus, `publisher ${p}`)
          }).pipe(Effect.scoped),
        { concurrency: "unbounded", discard: true }
      )
      const restarts = yield* Fiber.join(restarter)
      yield* probe.require(restarts === 2, () => `the server was restarted ${restarts} times, not 2`)
      const lastId = yield* lastIdOf(probe, stream)
      yield* awaitThrough(probe, readers, lastId)
      const replay = yield* readThrough(probe, "a replay", { stream, from: "0", count: 1000 }, lastId)
      yield* requireIncreasing(probe, "the replay", replay)
      const keys = replay.map(keyOf)
      const distinct = new Set(keys)
      const expected = range(publishers).flatMap((p) => range(perPublisher).map((i) => `p${p}/i${i}`))
      yield* probe.sameSequence(
        "the events in the stream (distinct, sorted)",
        Array.from(distinct).sort(),
        expected.slice().sort()
      )
      for (let p = 0; p < publishers; p++) {
        const seen = new Set<string>()
        const firsts = keys.filter((key) => key.startsWith(`p${p}/`) && !seen.has(key) && seen.add(key))
        yield* probe.sameSequence(
          `publisher ${p}'s events in the stream (first occurrences)`,
          firsts,
          range(perPublisher).map((i) => `p${p}/i${i}`)
        )
      }
      for (const reader of readers) {
        yield* requireIncreasing(probe, reader.label, reader.results)
        yield* probe.sameSequence(
          `${reader.label} (ids, against the replay)`,
          idsOf(reader.results),
          idsOf(replay)
        )
      }
      const info = yield* backendCall(probe, "info", probe.backend.info(stream))
      yield* probe.require(
        info.length === replay.length,
        () => `the stream holds ${info.length} entries, the replay delivered ${replay.length}`
      )
      const bound = publishers * restarts * 50
      yield* probe.require(
        keys.length - distinct.size <= bound,
        () =>
          `${keys.length - distinct.size} events are in the stream twice: more than the batches in flight at the restarts (${bound})`
      )
    })
)

/**
 * A hung server (no answer for 1.5 s: {@link Faults} `hang`, connections left open). An awaited
 * publish bounded to 300 ms answers `NotWritten` with reason `Timeout` within 700 ms; a backend that
 * says it bounds its appends (`boundsAppends`) fails an append given `timeoutMillis: 200` with reason
 * `Timeout` within 600 ms (a batch of two), and a cursor that says it bounds its reads
 * (`boundsReads`) a read the same way (a cursor that cannot be opened during the hang is not held
 * against it). Once the server answers again, a publish is written, and a replay holds the events
 * written before and after, in order (and, at most, the one answered `NotWritten`
 * between them: it had been sent, and the server took it when it woke).
 *
 * @since 0.1.0
 * @category checks
 */
export const hungServer: Check<Faults> = makeCheck(
  "a hung server: an awaited publish, a bounded append and a bounded read answer within their bounds; then all goes on",
  "hang",
  (probe) =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const stream = yield* probe.freshStream("events")
      const bus = yield* publisher(stream, { publishTimeout: Duration.millis(300) })
      const input = (i: number) => ({ kind: "source.fetch" as const, payload: { i } })
      const before = yield* Effect.flatMap(
        bus.publish(input(0)),
        written(probe, "the publish before the hang")
      )
      yield* faults
        .hang(Duration.millis(1500))
        .pipe(Effect.mapError((e) => probe.error(`the hang failed: ${show(String(e))}`)))
      const [took, during] = yield* Effect.timed(bus.publish(input(1)))
      yield* probe.require(
        during._tag === "NotWritten" && during.reason === "Timeout",
        () => `the publish during the hang answered ${show(during)}, not NotWritten with reason Timeout`
      )
      yield* probe.require(
        Duration.toMillis(took) < 700,
        () => `the publish bounded to 300 ms answered after ${Duration.format(took)}`
      )
      if (probe.backend.boundsAppends === true) {
        // A batch of two, so that a backend's batch path is held to it too.
        const bodies = [WireCodec.encode(roundTripInput(2)), WireCodec.encode(roundTripInput(2))]
        const [appendTook, appended] = yield* Effect.timed(
          Effect.either(probe.backend.append(stream, bodies, { maxlen: 0, timeoutMillis: 200 }))
        )
        yield* probe.require(
          appended._tag === "Left" && appended.left.reason === "Timeout",
          () =>
            `an append given timeoutMillis 200 during the hang answered ${show(appended)}, not reason Timeout`
        )
        yield* probe.require(
          Duration.toMillis(appendTook) < 600,
          () => `an append given timeoutMillis 200 answered after ${Duration.format(appendTook)}`
        )
      }
      // A cursor that cannot be opened during the hang (in 600 ms) is not held against the backend.
      const cursor = yield* probe.backend.openCursor.pipe(
        Effect.timeoutFail({
          duration: Duration.millis(600),
          onTimeout: () => probe.error("no cursor opened during the hang")
        }),
        Effect.mapError((e) => probe.error(`opening a cursor during the hang failed: ${e.message}`)),
        Effect.either
      )
      if (cursor._tag === "Right" && cursor.right.boundsReads === true) {
        const [readTook, read] = yield* Effect.timed(
          Effect.either(
            cursor.right.read(stream, "0-0", { count: 10, blockMillis: undefined, timeoutMillis: 200 })
          )
        )
        yield* probe.require(
          read._tag === "Left" && read.left.reason === "Timeout",
          () => `a read given timeoutMillis 200 during the hang answered ${show(read)}, not reason Timeout`
        )
        yield* probe.require(
          Duration.toMillis(readTook) < 600,
          () => `a read given timeoutMillis 200 answered after ${Duration.format(readTook)}`
        )
      }
      let after: string | undefined
      const recovered = yield* Effect.gen(function* () {
        while (after === undefined) {
          const result = yield* bus.publish(input(3))
          if (result._tag === "Written") after = result.id
          else yield* Effect.sleep(Duration.millis(50))
        }
      }).pipe(Effect.timeoutOption(patience))
      yield* probe.require(
        recovered._tag === "Some" && after !== undefined,
        () => `no publish was written within ${Duration.format(patience)} of the hang`
      )
      const replay = yield* readThrough(probe, "a replay", { stream, from: "0" }, after!)
      const ids = idsOf(replay)
      const payloads = replay.map((r) =>
        r._tag === "KnownEvent" ? (r.event.payload as { i?: number }).i : r._tag
      )
      yield* probe.require(
        ids[0] === before && ids[ids.length - 1] === after,
        () => `the replay runs ${show(ids)}, not from ${before} to ${after}`
      )
      yield* probe.require(
        payloads.every((i) => i === 0 || i === 1 || i === 2 || i === 3) &&
          payloads.filter((i) => i === 1).length <= 1 &&
          payloads.filter((i) => i === 2).length <= 2 &&
          payloads.filter((i) => i === 3).length >= 1,
        () =>
          `the replay holds ${show(payloads)}: 0, then at most one 1 and two 2s (answered as not written, but sent), then 3s were published`
      )
    })
)

/**
 * Every check that needs no {@link Faults}, in the order the suite runs them.
 *
 * @since 0.1.0
 * @category checks
 */
export const checks: ReadonlyArray<Check<RawEntries>> = [
  publishThenRead,
  concurrentPublishers,
  isolatedStreams,
  lateReaderReplays,
  liveTail,
  readerOpenCloseCycles,
  concurrentReaderClose,
  publisherCloseDrains,
  badEntries,
  trimmingGaps
]

// ---------------------------------------------------------------------------------------------------
// the suite
// ---------------------------------------------------------------------------------------------------

/**
 * Options of {@link conformance}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The environment provides {@link Faults}: run the server restart case. Default `false`. */
  readonly faults?: boolean | undefined
  /** The bound on each check (the restart case gets twice as long). Default 60 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Registers the suite with `@effect/vitest`: a `describe` block named `name` whose environment is
 * built once from `environment` (on the live clock) and shared by the checks, one `it` per check.
 * With `faults: true` the environment must also provide {@link Faults}, and the hung server and
 * restart cases run; without, they are registered skipped (vitest reports them so).
 *
 * @since 0.1.0
 * @category suite
 * @example
 * ```ts
 * import type { StreamBackend } from "@maf/events"
 * import { Conformance } from "@maf/events-test"
 * import * as Layer from "effect/Layer"
 *
 * // A backend of your own: provide it, and a way to write raw entries into it.
 * declare const MyBackend: Layer.Layer<StreamBackend.StreamBackend>
 * declare const MyRawEntries: Layer.Layer<Conformance.RawEntries>
 *
 * Conformance.conformance("my backend", Layer.merge(MyBackend, MyRawEntries))
 * ```
 */
export const conformance: {
  <E>(
    name: string,
    environment: Layer.Layer<Environment, E>,
    options?: Options & { readonly faults?: false | undefined }
  ): void
  <E>(
    name: string,
    environment: Layer.Layer<Environment | Faults, E>,
    options: Options & { readonly faults: true }
  ): void
} = (name: string, environment: Layer.Layer<any, unknown>, options: Options = {}): void => {
  const timeout = Duration.toMillis(options.timeout ?? Duration.seconds(60))
  if (vitest === undefined) {
    throw new Error("Conformance.conformance registers tests: call it in a test file that vitest runs")
  }
  vitest.layer(environment, { excludeTestServices: true })(name, (it) => {
    for (const check of checks) it.effect(check.name, () => check.run, timeout)
    // These checks need a server to restart or hang: without `Faults` they are registered skipped.
    const withFaults = options.faults === true ? it.effect : it.effect.skip
    withFaults(hungServer.name, () => hungServer.run, timeout)
    withFaults(serverRestart.name, () => serverRestart.run, 2 * timeout)
  })
}

// ---------------------------------------------------------------------------------------------------
// environments
// ---------------------------------------------------------------------------------------------------

/**
 * Raw entries written with the in-memory backend's `appendFields`.
 *
 * @since 0.1.0
 * @category layers
 */
export const rawEntriesOfMemory: Layer.Layer<RawEntries, never, MemoryStreamBackend.MemoryStreamBackend> =
  Layer.effect(
    RawEntries,
    Effect.map(MemoryStreamBackend.MemoryStreamBackend, (memory) => ({
      append: (stream, fields) => Effect.map(memory.appendFields(stream, [fields]), (ids) => ids[0]!)
    }))
  )

/**
 * Raw entries written with `XADD` on the {@link RedisTestServer.RedisTestServer} of the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const rawEntriesOfTestServer: Layer.Layer<RawEntries, never, RedisTestServer.RedisTestServer> =
  Layer.effect(
    RawEntries,
    Effect.map(RedisTestServer.RedisTestServer, (server) => ({
      append: (stream, fields) => Effect.map(server.command("XADD", stream, "*", ...fields), String)
    }))
  )

/**
 * The faults of the {@link RedisTestServer.RedisTestServer} of the environment: `restart` is its
 * `restart` (`SHUTDOWN SAVE`, then a start on the same port with the saved data), `hang` its `hang`
 * (`DEBUG SLEEP`).
 *
 * @since 0.1.0
 * @category layers
 */
export const faultsOfTestServer: Layer.Layer<Faults, never, RedisTestServer.RedisTestServer> = Layer.effect(
  Faults,
  Effect.map(RedisTestServer.RedisTestServer, (server) => ({ restart: server.restart, hang: server.hang }))
)

/**
 * The suite's environment on a fresh in-memory backend.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Environment | MemoryStreamBackend.MemoryStreamBackend> =
  rawEntriesOfMemory.pipe(Layer.provideMerge(MemoryStreamBackend.layer))

/**
 * The suite's environment on a real `redis-server` started for it (and stopped with the layer): the
 * backend that `backend` builds for the server's URL, raw entries and faults on that server, and the
 * server itself. The test kit depends on no Redis client library of the bus: the backend under test
 * is given (`Conformance.layerRedis((url) => RedisStreamBackend.layer({ url }))` for the one of
 * `@maf/events-redis`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRedis = <E = never>(
  backend: (url: string) => Layer.Layer<StreamBackend.StreamBackend, E>,
  options: { readonly server?: RedisTestServer.Options | undefined } = {}
): Layer.Layer<
  Environment | Faults | RedisTestServer.RedisTestServer,
  RedisTestServer.RedisTestServerError | E
> =>
  Layer.mergeAll(
    Layer.unwrapEffect(Effect.map(RedisTestServer.RedisTestServer, (server) => backend(server.url))),
    rawEntriesOfTestServer,
    faultsOfTestServer
  ).pipe(Layer.provideMerge(RedisTestServer.layer(options.server)))
