/**
 * `consume`'s ledger over the group port, on the in-memory backend (Redis 7.0's group semantics):
 * what `--limit` takes and counts as settled, what it lets go, and the data text it keeps for the
 * JSON line.
 */
import { describe, expect, it } from "@effect/vitest"
import { MemoryStreamBackend } from "@maf/events"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as GroupLedger from "../src/GroupLedger.js"

const stream = "ledger:test"
const group = "g"
const body = (n: number) =>
  JSON.stringify({ kind: "agent.signal", ts: "2026-12-02T00:00:00Z", payload: { n } })
const read = { count: 10, blockMillis: undefined, timeoutMillis: 1_000 }
const letter = { deadStream: `${stream}:dead`, fields: ["error", "e"], maxlen: 0 }

/** A ledger over a fresh memory backend holding `entries` entries, its group made from the start. */
const setUp = (entries: number, limit: number | undefined) =>
  Effect.gen(function* () {
    const memory = yield* MemoryStreamBackend.make
    yield* memory.appendFields(
      stream,
      Array.from({ length: entries }, (_, n) => ["data", body(n)])
    )
    const ledger = yield* GroupLedger.make(memory.groups, limit)
    yield* ledger.groups.create(stream, group, "0")
    const cursor = yield* ledger.groups.openCursor
    const take = (consumer: string) =>
      Effect.map(cursor.read(stream, group, consumer, read), (got) => got.map((entry) => entry.id))
    return { memory, ledger, cursor, take }
  })

const isDone = (ledger: GroupLedger.GroupLedger) => Deferred.isDone(ledger.done)

/** A ledger over a fresh memory backend and the group made on each of `partitions`, a cursor each. */
const setUpPartitions = (limit: number, partitions: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const memory = yield* MemoryStreamBackend.make
    const ledger = yield* GroupLedger.make(memory.groups, limit)
    for (const partition of partitions) yield* ledger.groups.create(partition, group, "0")
    // Opened before any read, as a partitioned member's loops open theirs.
    const cursors = yield* Effect.forEach(partitions, () => ledger.groups.openCursor)
    /** A read of partition `i` blocking up to `blockMillis`, forked: the ids it took. */
    const reading = (i: number, blockMillis: number) =>
      Effect.fork(
        Effect.map(cursors[i]!.read(partitions[i]!, group, "a", { ...read, blockMillis }), (got) =>
          got.map((entry) => entry.id)
        )
      )
    const append = (partition: string, entries: number) =>
      memory.appendFields(
        partition,
        Array.from({ length: entries }, (_, n) => ["data", body(n)])
      )
    return { ledger, reading, append }
  })

describe("GroupLedger", () => {
  it.scoped(
    "a read is cut to the room the limit leaves: entries taken and not settled count against it",
    () =>
      Effect.gen(function* () {
        const { ledger, take } = yield* setUp(5, 3)
        const first = yield* take("a")
        expect(first).toHaveLength(3)
        expect(yield* take("a")).toEqual([])
        yield* ledger.groups.ack(stream, group, [first[0]!])
        expect(ledger.settled()).toBe(1)
        // One settled and two held: still no room.
        expect(yield* take("a")).toEqual([])
        expect(yield* isDone(ledger)).toBe(false)
      })
  )

  it.scoped("done once the limit's count is settled, by acks and dead letters alike", () =>
    Effect.gen(function* () {
      const { ledger, take } = yield* setUp(3, 2)
      const [one, two] = yield* take("a")
      expect(yield* ledger.groups.deadLetter(stream, group, "a", one!, letter)).toBe("moved")
      expect(yield* isDone(ledger)).toBe(false)
      yield* ledger.groups.ack(stream, group, [two!])
      expect(ledger.settled()).toBe(2)
      expect(yield* isDone(ledger)).toBe(true)
    })
  )

  it.scoped("a claim is cut to the room the limit leaves, as a read is", () =>
    Effect.gen(function* () {
      const { memory, ledger, take } = yield* setUp(3, 2)
      // A member took all three and died.
      const dead = yield* memory.groups.openCursor
      yield* dead.read(stream, group, "dead", read)
      const claim = ledger.groups.claim(stream, group, "a", { minIdleMillis: 0, start: "0-0", count: 10 })
      expect((yield* claim).entries).toHaveLength(2)
      expect((yield* claim).entries).toEqual([])
      expect(yield* take("a")).toEqual([])
    })
  )

  it.scoped("a renewal that does not keep an entry lets it go: its room is free again", () =>
    Effect.gen(function* () {
      const { memory, ledger, take } = yield* setUp(2, 1)
      const [mine] = yield* take("a")
      // Another member takes it over, past the ledger.
      const stolen = yield* memory.groups.claim(stream, group, "b", {
        minIdleMillis: 0,
        start: "0-0",
        count: 1
      })
      expect(stolen.entries.map((entry) => entry.id)).toEqual([mine])
      expect(yield* ledger.groups.renew(stream, group, "a", [mine!])).toEqual({ renewed: [], deleted: [] })
      expect(ledger.takenOver(stream, mine!)).toBe(true)
      expect(ledger.takenOver(stream, mine!)).toBe(false)
      expect(ledger.settled()).toBe(0)
      expect(yield* take("a")).toHaveLength(1)
    })
  )

  it.scoped("the data text of an entry is kept from its delivery to its settlement", () =>
    Effect.gen(function* () {
      const { ledger, take } = yield* setUp(1, undefined)
      const [id] = yield* take("a")
      expect(ledger.dataOf(stream, id!)).toBe(body(0))
      const again = yield* ledger.groups.redeliver(stream, group, "a", [id!])
      expect(again.entries.map((entry) => entry.deliveryCount)).toEqual([2])
      expect(ledger.dataOf(stream, id!)).toBe(body(0))
      yield* ledger.groups.ack(stream, group, [id!])
      expect(ledger.dataOf(stream, id!)).toBeUndefined()
    })
  )

  it.scoped(
    "without a limit nothing is cut and it is never done; with limit 0 it is done once the group is made",
    () =>
      Effect.gen(function* () {
        const unlimited = yield* setUp(12, undefined)
        expect(yield* unlimited.take("a")).toHaveLength(10)
        yield* unlimited.ledger.groups.ack(stream, group, yield* unlimited.take("a"))
        expect(unlimited.ledger.settled()).toBe(2)
        expect(yield* isDone(unlimited.ledger)).toBe(false)
        const none = yield* setUp(1, 0)
        expect(yield* isDone(none.ledger)).toBe(true)
        expect(yield* none.take("a")).toEqual([])
      })
  )

  it.scoped(
    "reads on their way at once (a partitioned member reads every partition) share the room: together no more than the limit",
    () =>
      Effect.gen(function* () {
        const partitions = ["ledger:p0", "ledger:p1"]
        const { ledger, reading, append } = yield* setUpPartitions(3, partitions)
        // Both reads wait for entries before any is written: each was given its share of the room.
        const first = yield* reading(0, 60_000)
        const second = yield* reading(1, 60_000)
        yield* Effect.repeatN(Effect.yieldNow(), 20)
        for (const partition of partitions) yield* append(partition, 5)
        const taken = [yield* Fiber.join(first), yield* Fiber.join(second)]
        expect(taken.map((ids) => ids.length)).toEqual([2, 1])
        // The three settled: done, and nothing more is taken from either partition.
        yield* ledger.groups.ack(partitions[0]!, group, taken[0]!)
        yield* ledger.groups.ack(partitions[1]!, group, taken[1]!)
        expect(ledger.settled()).toBe(3)
        expect(yield* isDone(ledger)).toBe(true)
        const after = yield* reading(1, 0)
        expect(yield* Fiber.join(after)).toEqual([])
      })
  )

  it.scoped(
    "a read blocked on an empty partition does not starve the others: a read with no room waits in line and is served when the room comes back",
    () =>
      Effect.gen(function* () {
        const partitions = ["ledger:empty", "ledger:full"]
        const { ledger, reading, append } = yield* setUpPartitions(1, partitions)
        yield* append("ledger:full", 3)
        // The empty partition's read holds the only room for its block time.
        const empty = yield* reading(0, 1_000)
        yield* Effect.repeatN(Effect.yieldNow(), 20)
        const full = yield* reading(1, 2_000)
        yield* Effect.repeatN(Effect.yieldNow(), 20)
        // It waits in line: not answered yet.
        expect(Option.isNone(yield* Fiber.poll(full))).toBe(true)
        // Its block time over, it gives the room back: the read in line takes an entry at once.
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(empty)).toEqual([])
        expect(yield* Fiber.join(full)).toHaveLength(1)
        // The empty partition reads again: behind nobody, but the room is taken.
        const again = yield* reading(0, 500)
        yield* TestClock.adjust("500 millis")
        expect(yield* Fiber.join(again)).toEqual([])
        expect(ledger.settled()).toBe(0)
      })
  )

  it.scoped("a read that waited in line and was not served in its block time finds nothing", () =>
    Effect.gen(function* () {
      const partitions = ["ledger:a", "ledger:b"]
      const { reading, append } = yield* setUpPartitions(1, partitions)
      const holder = yield* reading(0, 5_000)
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      const waiting = yield* reading(1, 1_000)
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      yield* append("ledger:b", 1)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(waiting)).toEqual([])
      // The holder still has its room: an entry written to its partition is taken.
      yield* append("ledger:a", 1)
      expect(yield* Fiber.join(holder)).toHaveLength(1)
    })
  )

  it.scoped("a read that fails gives back the room it was given", () =>
    Effect.gen(function* () {
      const { cursor, take } = yield* setUp(5, 2)
      const failed = yield* Effect.flip(cursor.read(stream, "no-such-group", "a", read))
      expect(failed._tag).toBe("MissingGroup")
      expect(yield* take("a")).toHaveLength(2)
    })
  )

  it.scoped(
    "entries of two partitions with the same id are kept apart: their data and their settlement",
    () =>
      Effect.gen(function* () {
        const partitions = ["ledger:x", "ledger:y"]
        const { ledger, reading, append } = yield* setUpPartitions(4, partitions)
        yield* append("ledger:x", 1)
        yield* append("ledger:y", 1)
        const [x] = yield* Fiber.join(yield* reading(0, 0))
        const [y] = yield* Fiber.join(yield* reading(1, 0))
        expect(x).toBe(y)
        yield* ledger.groups.ack("ledger:x", group, [x!])
        expect(ledger.settled()).toBe(1)
        expect(ledger.dataOf("ledger:x", x!)).toBeUndefined()
        expect(ledger.dataOf("ledger:y", y!)).toBe(body(0))
        yield* ledger.groups.ack("ledger:y", group, [y!])
        expect(ledger.settled()).toBe(2)
      })
  )
})
