/**
 * `consume`'s ledger over the group port, on the in-memory backend (Redis 7.0's group semantics):
 * what `--limit` takes and counts as settled, what it lets go, and the data text it keeps for the
 * JSON line.
 */
import { describe, expect, it } from "@effect/vitest"
import { MemoryStreamBackend } from "@maf/events"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
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
    return { memory, ledger, take }
  })

const isDone = (ledger: GroupLedger.GroupLedger) => Deferred.isDone(ledger.done)

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
      expect(ledger.takenOver(mine!)).toBe(true)
      expect(ledger.takenOver(mine!)).toBe(false)
      expect(ledger.settled()).toBe(0)
      expect(yield* take("a")).toHaveLength(1)
    })
  )

  it.scoped("the data text of an entry is kept from its delivery to its settlement", () =>
    Effect.gen(function* () {
      const { ledger, take } = yield* setUp(1, undefined)
      const [id] = yield* take("a")
      expect(ledger.dataOf(id!)).toBe(body(0))
      const again = yield* ledger.groups.redeliver(stream, group, "a", [id!])
      expect(again.entries.map((entry) => entry.deliveryCount)).toEqual([2])
      expect(ledger.dataOf(id!)).toBe(body(0))
      yield* ledger.groups.ack(stream, group, [id!])
      expect(ledger.dataOf(id!)).toBeUndefined()
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
})
