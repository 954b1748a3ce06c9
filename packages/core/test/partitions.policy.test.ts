/**
 * The policy of partitioned streams in core, on the memory backend: what the options accept and
 * refuse (with the reason), routing by a routing key of the program's own and a `partitionBy` that
 * throws, metrics per partition key, `flush` and closing over every partition, positions for the
 * reader (one partition keeps today's single key and results), and a member whose handlers share
 * `concurrency` across its partitions. The behaviour common to every backend is in
 * `PartitionConformance` (memory, Redis, Cluster).
 */
import { describe, expect, it } from "@effect/vitest"
import {
  EventBus,
  EventConsumer,
  EventReader,
  MemoryStreamBackend,
  Partitions,
  PublishMetrics,
  StreamBackend
} from "@maf/events"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { captureLogs } from "./helpers/logs.js"

const memory = MemoryStreamBackend.layer

/** The entries of each key of a stream of `n` partitions, as `[arena, i]` pairs. */
const contents = (stream: string, n: number) =>
  Effect.flatMap(MemoryStreamBackend.MemoryStreamBackend, (backend) =>
    Effect.forEach(Partitions.keys(stream, n), (key) =>
      Effect.map(backend.entries(key), (entries) =>
        entries.map((entry) => {
          const body = JSON.parse(entry.fields[entry.fields.indexOf("data") + 1]!)
          return `${body.kind}/${body.arena}/${body.payload.i}`
        })
      )
    )
  )

/** The defect message of a failed exit. */
const defectOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "(succeeded)"
  const defect = Cause.dieOption(exit.cause)
  return defect._tag === "Some" && defect.value instanceof Error
    ? defect.value.message
    : Cause.pretty(exit.cause)
}

describe("partitioned streams: the options", () => {
  it.effect("the bus refuses a bad count, a name with braces and a partitionBy that is no function", () =>
    Effect.gen(function* () {
      const build = (options: EventBus.Options) => Effect.exit(Effect.scoped(EventBus.make(options)))
      expect(defectOf(yield* build({ partitions: 0 }))).toBe(
        "EventBus option partitions must be an integer from 1 to 1024, got 0"
      )
      expect(defectOf(yield* build({ partitions: 3, stream: "app{1}" }))).toMatch(
        /^EventBus: a partitioned stream's name may not hold "\{" or "\}"/
      )
      expect(defectOf(yield* build({ partitions: 3, partitionBy: "arena" as never }))).toBe(
        "EventBus option partitionBy must be a function, got string"
      )
    }).pipe(Effect.provide(memory))
  )

  it.effect("the reader refuses positions of a key that is not one of the stream's partitions", () =>
    Effect.gen(function* () {
      const reader = EventReader.make(yield* StreamBackend.StreamBackend)
      const exit = yield* Effect.exit(
        Stream.runDrain(reader.stream({ stream: "s", partitions: 2, positions: { s: "1-0" } }))
      )
      expect(defectOf(exit)).toBe(
        `EventReader option positions names "s", which is not a partition of "s" over 2 (its keys: ${Partitions.keys("s", 2).join(", ")})`
      )
      const badId = yield* Effect.exit(
        Stream.runDrain(
          reader.stream({
            stream: "s",
            partitions: 2,
            positions: { [Partitions.keys("s", 2)[0]!]: "yesterday" }
          })
        )
      )
      expect(defectOf(badId)).toMatch(/positions of s:p0\/2:\{\d+\} must be "\$", "0" or an entry id/)
    }).pipe(Effect.provide(memory))
  )

  it.effect("the reader and the member refuse a bad count and a name with braces, naming themselves", () =>
    Effect.gen(function* () {
      const reader = EventReader.make(yield* StreamBackend.StreamBackend)
      const read = (options: EventReader.ReadOptions) => Effect.exit(Stream.runDrain(reader.stream(options)))
      expect(defectOf(yield* read({ stream: "s", partitions: 0 }))).toBe(
        "EventReader option partitions must be an integer from 1 to 1024, got 0"
      )
      expect(defectOf(yield* read({ stream: "app{1}", partitions: 2 }))).toMatch(
        /^EventReader: a partitioned stream's name may not hold/
      )
      const consumer = EventConsumer.make(
        yield* MemoryStreamBackend.MemoryStreamBackend.pipe(Effect.map((m) => m.groups))
      )
      const consume = (options: { readonly stream: string; readonly partitions: number }) =>
        Effect.exit(consumer.consume({ group: "g", ...options, handler: () => Effect.void }))
      expect(defectOf(yield* consume({ stream: "s", partitions: 0 }))).toBe(
        "EventConsumer option partitions must be an integer from 1 to 1024, got 0"
      )
      expect(defectOf(yield* consume({ stream: "app{1}", partitions: 2 }))).toMatch(
        /^EventConsumer: a partitioned stream's name may not hold/
      )
    }).pipe(Effect.provide(memory))
  )

  it.effect('the reader takes "$", "0" and entry ids as positions, and refuses one that is no string', () =>
    Effect.gen(function* () {
      const reader = EventReader.make(yield* StreamBackend.StreamBackend)
      const [first, second] = Partitions.keys("pos", 2)
      yield* Effect.scoped(
        Effect.gen(function* () {
          const bus = yield* EventBus.make({ stream: "pos", partitions: 2, partitionBy: () => "x" })
          yield* bus.publish({ kind: "llm.call", payload: { i: 0 } })
        })
      )
      const routed = Partitions.partitionOf("x", 2) === 0 ? first! : second!
      const other = routed === first ? second! : first!
      // From the start of the partition holding the entry; from now on the other ("$" pinned).
      for (const positions of [
        { [routed]: "0", [other]: "$" },
        { [routed]: "0-0", [other]: "$" }
      ]) {
        const results = yield* reader
          .stream({ stream: "pos", partitions: 2, positions })
          .pipe(Stream.take(1), Stream.runCollect)
        expect(Chunk.toReadonlyArray(results).map((r) => r.partition)).toEqual([routed])
      }
      const exit = yield* Effect.exit(
        Stream.runDrain(reader.stream({ stream: "pos", partitions: 2, positions: { [routed]: 5 as never } }))
      )
      expect(defectOf(exit)).toBe(
        `EventReader option positions of ${routed} must be "$", "0" or an entry id like 1715680953123-0, got 5`
      )
    }).pipe(Effect.provide(memory))
  )

  it.effect(
    "one partition: the bus asks no partitionBy, a member takes a dead-letter stream of its own",
    () =>
      Effect.gen(function* () {
        let asked = 0
        yield* Effect.scoped(
          Effect.gen(function* () {
            const bus = yield* EventBus.make({
              stream: "single",
              partitions: 1,
              partitionBy: () => {
                asked++
                return "x"
              }
            })
            yield* bus.publish({ kind: "llm.call", payload: { i: 0 } })
          })
        )
        expect(asked).toBe(0)
        expect(yield* contents("single", 1)).toEqual([["llm.call//0"]])
        const consumer = EventConsumer.make(
          yield* MemoryStreamBackend.MemoryStreamBackend.pipe(Effect.map((m) => m.groups))
        )
        const handled = yield* Deferred.make<string>()
        const member = yield* Effect.fork(
          consumer.consume({
            group: "g",
            stream: "single",
            partitions: 1,
            from: "0",
            deadLetterStream: "single-dead",
            handler: (message) => Effect.asVoid(Deferred.succeed(handled, message.streamId))
          })
        )
        expect(yield* Deferred.await(handled)).toMatch(/^\d+-\d+$/)
        yield* Fiber.interrupt(member)
      }).pipe(Effect.provide(memory))
  )

  it.effect("a member refuses a dead-letter stream of its own on a partitioned stream", () =>
    Effect.gen(function* () {
      const consumer = EventConsumer.make(
        yield* MemoryStreamBackend.MemoryStreamBackend.pipe(Effect.map((m) => m.groups))
      )
      const exit = yield* Effect.exit(
        consumer.consume({
          group: "g",
          stream: "s",
          partitions: 2,
          deadLetterStream: "dead",
          handler: () => Effect.void
        })
      )
      expect(defectOf(exit)).toMatch(
        /^EventConsumer option deadLetterStream cannot be given for a partitioned stream/
      )
    }).pipe(Effect.provide(memory))
  )
})

describe("partitioned streams: publishing", () => {
  it.scoped("partitionBy of the program's own routes by it; each key keeps its events' order", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.make({ stream: "s", partitions: 2, partitionBy: (event) => event.kind })
      expect(bus.stream).toBe("s")
      for (let i = 0; i < 3; i++) {
        yield* bus.publish({ kind: "llm.call", arena: `a${i}`, payload: { i } })
        yield* bus.publishNowait({ kind: "phase.start", arena: `a${i}`, payload: { i } })
      }
      // Waits for every partition, and gives nothing.
      expect(yield* bus.flush).toBeUndefined()
      const [first, second] = yield* contents("s", 2)
      const llm = Partitions.partitionOf("llm.call", 2)
      const expected = (kind: string) => [0, 1, 2].map((i) => `${kind}/a${i}/${i}`)
      expect(llm === 0 ? first : second).toEqual(expected("llm.call"))
      expect(llm === 0 ? second : first).toEqual(expected("phase.start"))
    }).pipe(Effect.provide(memory))
  )

  it.effect("a partitionBy that throws sends the event to partition 0, logged once for the streak", () =>
    Effect.gen(function* () {
      const logs = captureLogs()
      yield* Effect.scoped(
        Effect.gen(function* () {
          const bus = yield* EventBus.make({
            stream: "s",
            partitions: 3,
            partitionBy: (event) => {
              if (event.arena === undefined) throw new Error("no arena")
              return event.arena
            }
          })
          const result = yield* bus.publish({ kind: "system.status", payload: { i: 0 } })
          expect(result._tag).toBe("Written")
          expect(yield* bus.publishNowait({ kind: "system.status", payload: { i: 1 } })).toBe(true)
          yield* bus.publish({ kind: "arena.start", arena: "x", payload: { i: 2 } })
          yield* bus.flush
        })
      ).pipe(Effect.provide(logs.layer))
      const [zero] = yield* contents("s", 3)
      expect(zero!.slice(0, 2)).toEqual(["system.status//0", "system.status//1"])
      const lines = logs.lines.filter((line) => line.includes("partitionBy"))
      expect(lines).toEqual([
        expect.stringMatching(
          /^WARN EventBus partitionBy \(the event goes to partition 0\) failed: it threw: no arena/
        ),
        expect.stringMatching(
          /^INFO EventBus partitionBy \(the event goes to partition 0\) recovered after 2 failures/
        )
      ])
    }).pipe(Effect.provide(memory))
  )

  it.effect(
    "a partitionBy that answers no string: the line says what it answered, annotated with the stream",
    () =>
      Effect.gen(function* () {
        const lines: Array<string> = []
        const logger = Logger.make(({ annotations, message }) => {
          lines.push(
            `${Array.isArray(message) ? message.join(" ") : String(message)} ${JSON.stringify(Object.fromEntries(HashMap.toEntries(annotations)))}`
          )
        })
        yield* Effect.scoped(
          Effect.gen(function* () {
            const bus = yield* EventBus.make({ stream: "odd", partitions: 2, partitionBy: () => 7 as never })
            expect((yield* bus.publish({ kind: "llm.call", payload: { i: 0 } }))._tag).toBe("Written")
          })
        ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
        expect(lines.filter((line) => line.includes("partitionBy"))).toEqual([
          expect.stringMatching(/failed: it answered number, not a string .*"stream":"odd"/)
        ])
        expect((yield* contents("odd", 2))[0]).toEqual(["llm.call//0"])
      }).pipe(Effect.provide(memory))
  )

  it.scoped("metrics are tagged with each partition key", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.make({ stream: "metrics", partitions: 2 })
      const [k0, k1] = Partitions.keys("metrics", 2)
      const arenaOf = (p: number) => {
        for (let j = 0; ; j++) if (Partitions.partitionOf(`m${j}`, 2) === p) return `m${j}`
      }
      for (let i = 0; i < 3; i++) yield* bus.publish({ kind: "llm.call", arena: arenaOf(0) })
      yield* bus.publish({ kind: "llm.call", arena: arenaOf(1) })
      const count = (key: string) =>
        Effect.map(Metric.value(PublishMetrics.published.pipe(Metric.tagged("stream", key))), (s) => s.count)
      expect(yield* count(k0!)).toBe(3)
      expect(yield* count(k1!)).toBe(1)
    }).pipe(Effect.provide(memory))
  )

  it.effect("closing the bus drains every partition's buffer", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const bus = yield* Scope.extend(EventBus.make({ stream: "drain", partitions: 3 }), scope)
      for (let i = 0; i < 30; i++)
        yield* bus.publishNowait({ kind: "llm.call", arena: `a${i % 7}`, payload: { i } })
      yield* Scope.close(scope, Exit.void)
      const all = (yield* contents("drain", 3)).flat()
      expect(all).toHaveLength(30)
    }).pipe(Effect.provide(memory))
  )
})

describe("partitioned streams: reading", () => {
  it.scoped("one partition reads today's key, its results without a partition; positions name it", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.make({ stream: "one", partitions: 1 })
      const ids: Array<string> = []
      for (let i = 0; i < 4; i++) {
        const result = yield* bus.publish({ kind: "llm.call", payload: { i } })
        if (result._tag === "Written") ids.push(result.id)
      }
      const reader = EventReader.make(yield* StreamBackend.StreamBackend)
      const results = yield* reader
        .stream({ stream: "one", partitions: 1, positions: { one: ids[1]! } })
        .pipe(Stream.take(2), Stream.runCollect)
      expect(Chunk.toReadonlyArray(results).map((r) => [r.streamId, r.partition])).toEqual([
        [ids[2], undefined],
        [ids[3], undefined]
      ])
    }).pipe(Effect.provide(memory))
  )

  it.scoped("Partitions.lastIds pins every partition: a reader given them reads only what comes after", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.make({ stream: "pinned", partitions: 3 })
      for (let i = 0; i < 9; i++) yield* bus.publish({ kind: "llm.call", arena: `a${i}`, payload: { i } })
      const positions = yield* Partitions.lastIds({ stream: "pinned", partitions: 3 })
      expect(Object.keys(positions)).toEqual(Partitions.keys("pinned", 3))
      for (let i = 9; i < 12; i++) yield* bus.publish({ kind: "llm.call", arena: `a${i}`, payload: { i } })
      const reader = EventReader.make(yield* StreamBackend.StreamBackend)
      const results = yield* reader
        .stream({ stream: "pinned", partitions: 3, positions, from: "0" })
        .pipe(Stream.take(3), Stream.runCollect)
      const numbers = Chunk.toReadonlyArray(results).map((r) =>
        r._tag === "KnownEvent" ? (r.event.payload as { i: number }).i : -1
      )
      expect([...numbers].sort()).toEqual([10, 11, 9])
    }).pipe(Effect.provide(memory))
  )
})

describe("partitioned streams: consumer groups", () => {
  it.scoped("the handlers of all partitions share the member's concurrency", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.make({ stream: "shared", partitions: 3 })
      for (let i = 0; i < 30; i++) yield* bus.publish({ kind: "llm.call", arena: `a${i}`, payload: { i } })
      const groups = (yield* MemoryStreamBackend.MemoryStreamBackend).groups
      const run = (concurrency: number, group: string) =>
        Effect.gen(function* () {
          let running = 0
          let most = 0
          let handled = 0
          const member = yield* EventConsumer.make(groups)
            .consume({
              group,
              stream: "shared",
              partitions: 3,
              from: "0",
              concurrency,
              handler: () =>
                Effect.gen(function* () {
                  running++
                  most = Math.max(most, running)
                  yield* Effect.sleep("10 millis")
                  running--
                  handled++
                })
            })
            .pipe(Effect.fork)
          while (handled < 30) yield* TestClock.adjust("10 millis")
          yield* Fiber.interrupt(member)
          return most
        })
      expect(yield* run(1, "one-at-a-time")).toBe(1)
      expect(yield* run(2, "two-at-a-time")).toBe(2)
    }).pipe(Effect.provide(memory))
  )
})
