/**
 * EventConsumer and the group itself (memory backend, `TestClock`): made on first use from `"$"`
 * (the default), `"0"` or an id, an existing group joined and never reset; the default member name;
 * housekeeping (other consumers idle past `removeIdleConsumersAfter` and holding nothing pending
 * removed after a full claim scan, claimed first; never the member itself, never one holding
 * entries; off with `Duration.infinity`, and off for the member once the server refuses it).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { EventConsumer, GroupBackend, StreamBackend } from "../src/index.js"
import { env, eventually, fill, info, pendingOf, quiet, recording } from "./helpers/consumerKit.js"

const numbers = (seen: Array<number>) => (m: EventConsumer.Message) =>
  Effect.sync(() => {
    if (m._tag === "UnknownKind") seen.push((m.body.payload as { n: number }).n)
  })

/** `consumer` reads one new entry (and so exists in the group); the entry. */
const take = (stream: string, consumer: string) =>
  Effect.gen(function* () {
    const groups = yield* GroupBackend.GroupBackend
    const cursor = yield* groups.openCursor
    const [entry] = yield* cursor.read(stream, "g", consumer, {
      count: 1,
      blockMillis: undefined,
      timeoutMillis: 1_000
    })
    return entry!
  }).pipe(Effect.scoped)

/** `consumer` reads one new entry and acknowledges it: it exists, holding nothing. */
const idleConsumer = (stream: string, consumer: string) =>
  Effect.flatMap(take(stream, consumer), (entry) =>
    Effect.flatMap(GroupBackend.GroupBackend, (groups) => groups.ack(stream, "g", [entry.id]))
  )

const names = (stream: string, group: string) =>
  Effect.map(info(stream, group), (i) => i.consumers.map((c) => c.name).sort())

describe("EventConsumer group (memory backend, TestClock)", () => {
  it.effect('made on first use from "$" by default: only entries added after it are delivered', () =>
    Effect.gen(function* () {
      yield* fill("c1", 2)
      const seen: Array<number> = []
      yield* Effect.fork(EventConsumer.consume({ stream: "c1", group: "g", handler: numbers(seen) }))
      yield* eventually(
        "group made",
        Effect.map(pendingOf("c1", "g"), (n) => n === 0)
      )
      yield* fill("c1", 3)
      yield* eventually(
        "new entries handled",
        Effect.sync(() => seen.length === 3)
      )
      expect(seen).toEqual([0, 1, 2])
    }).pipe(Effect.provide(env))
  )

  it.effect('made from "0": the whole history; made from an id: what follows it', () =>
    Effect.gen(function* () {
      const [first] = yield* fill("c2", 3)
      const all: Array<number> = []
      const after: Array<number> = []
      yield* Effect.fork(
        EventConsumer.consume({ stream: "c2", group: "all", from: "0", handler: numbers(all) })
      )
      yield* Effect.fork(
        EventConsumer.consume({ stream: "c2", group: "after", from: first!, handler: numbers(after) })
      )
      yield* eventually(
        "handled",
        Effect.sync(() => all.length === 3 && after.length === 2)
      )
      expect(all).toEqual([0, 1, 2])
      expect(after).toEqual([1, 2])
    }).pipe(Effect.provide(env))
  )

  it.effect("an existing group is joined as it is, never reset, whatever `from` says", () =>
    Effect.gen(function* () {
      yield* fill("c3", 3)
      const seen: Array<number> = []
      const first = yield* Effect.fork(
        EventConsumer.consume({ stream: "c3", group: "g", from: "0", handler: numbers(seen) })
      )
      yield* eventually(
        "handled",
        Effect.map(pendingOf("c3", "g"), (n) => n === 0 && seen.length === 3)
      )
      yield* Fiber.interrupt(first)
      const position = (yield* info("c3", "g")).lastDeliveredId
      yield* Effect.fork(
        EventConsumer.consume({ stream: "c3", group: "g", from: "0", handler: numbers(seen) })
      )
      yield* quiet
      expect((yield* info("c3", "g")).lastDeliveredId).toBe(position)
      expect(seen).toEqual([0, 1, 2])
      yield* fill("c3", 1)
      yield* eventually(
        "the new entry handled",
        Effect.sync(() => seen.length === 4)
      )
      expect(seen).toEqual([0, 1, 2, 0])
    }).pipe(Effect.provide(env))
  )

  it.effect("the default member name is <HOSTNAME>-<pid>, the same for the life of the process", () =>
    Effect.gen(function* () {
      yield* fill("c4", 1)
      yield* Effect.fork(
        EventConsumer.consume({ stream: "c4", group: "g", from: "0", handler: () => Effect.void })
      )
      yield* eventually(
        "handled",
        Effect.map(
          Effect.either(info("c4", "g")),
          (i) => i._tag === "Right" && i.right.lastDeliveredId !== "0-0"
        )
      )
      yield* eventually(
        "acknowledged",
        Effect.map(pendingOf("c4", "g"), (n) => n === 0)
      )
      const expected = `${process.env.HOSTNAME ?? "host"}-${process.pid}`
      expect(EventConsumer.defaultConsumerName()).toBe(expected)
      expect(yield* names("c4", "g")).toEqual([expected])
    }).pipe(Effect.provide(env))
  )

  it.effect(
    "housekeeping: idle consumers holding nothing are removed; one holding entries only once claimed",
    () =>
      Effect.gen(function* () {
        const groups = yield* GroupBackend.GroupBackend
        yield* groups.create("c5", "g", "0")
        yield* fill("c5", 3)
        // "old" read an entry and acknowledged it; "holder" and "holder2" read one each and died.
        yield* idleConsumer("c5", "old")
        yield* take("c5", "holder")
        const left = yield* take("c5", "holder2")
        const handled: Array<string> = []
        yield* Effect.fork(
          EventConsumer.consume({
            stream: "c5",
            group: "g",
            consumer: "member",
            minIdle: "2 minutes",
            removeIdleConsumersAfter: "1 minute",
            handler: (m) => Effect.sync(() => void handled.push(m.streamId))
          })
        )
        // At 55 s "recent" takes over holder2's entry and acknowledges it.
        yield* TestClock.adjust("55 seconds")
        yield* groups.claim("c5", "g", "recent", { minIdleMillis: 0, start: left.id, count: 1 })
        yield* groups.ack("c5", "g", [left.id])
        // Full scans every minute (half of minIdle): at 60 s "old" and "holder2" (idle 60 s, nothing
        // pending) go; "holder" holds an entry, and "recent" was idle 5 s.
        yield* TestClock.adjust("5 seconds")
        yield* eventually(
          "old removed",
          Effect.map(names("c5", "g"), (n) => !n.includes("old"))
        )
        expect((yield* names("c5", "g")).filter((n) => n !== "member")).toEqual(["holder", "recent"])
        // At 120 s the holder's entry is claimed (idle for minIdle), and in the same scan "holder",
        // holding nothing now, goes, and "recent" (idle 65 s) with it.
        yield* TestClock.adjust("60 seconds")
        yield* eventually(
          "holder removed",
          Effect.map(names("c5", "g"), (n) => !n.includes("holder"))
        )
        expect(handled.length).toBe(1)
        expect(yield* names("c5", "g")).toEqual(["member"])
      }).pipe(Effect.provide(env))
  )

  it.effect("housekeeping never removes the member itself, even with a threshold of 0", () =>
    Effect.gen(function* () {
      const groups = yield* GroupBackend.GroupBackend
      yield* groups.create("c6", "g", "0")
      yield* fill("c6", 1)
      yield* idleConsumer("c6", "other")
      yield* fill("c6", 1)
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "c6",
          group: "g",
          consumer: "member",
          removeIdleConsumersAfter: Duration.zero,
          handler: () => Effect.void
        })
      )
      yield* eventually(
        "other removed",
        Effect.map(names("c6", "g"), (n) => !n.includes("other"))
      )
      yield* fill("c6", 1)
      for (let i = 0; i < 4; i++) yield* TestClock.adjust("15 seconds")
      yield* quiet
      expect(yield* names("c6", "g")).toEqual(["member"])
    }).pipe(Effect.provide(env))
  )

  it.effect("housekeeping is off with Duration.infinity", () =>
    Effect.gen(function* () {
      const groups = yield* GroupBackend.GroupBackend
      yield* groups.create("c7", "g", "0")
      yield* fill("c7", 1)
      yield* idleConsumer("c7", "other")
      const rec = yield* recording()
      yield* Effect.fork(
        rec.consumer.consume({
          stream: "c7",
          group: "g",
          consumer: "member",
          // Scans every hour (half of minIdle), so that five hours take few steps of the clock.
          minIdle: "2 hours",
          block: "1 hour",
          removeIdleConsumersAfter: Duration.infinity,
          handler: () => Effect.void
        })
      )
      for (let i = 0; i < 5; i++) yield* TestClock.adjust("1 hour")
      yield* quiet
      expect(yield* names("c7", "g")).toContain("other")
      expect(rec.count("info")).toBeGreaterThanOrEqual(5)
      expect(rec.count("removeIdleConsumer")).toBe(0)
    }).pipe(Effect.provide(env))
  )

  it.effect("a server that refuses the removal turns housekeeping off for the member (asked once)", () =>
    Effect.gen(function* () {
      const groups = yield* GroupBackend.GroupBackend
      yield* groups.create("c8", "g", "0")
      yield* fill("c8", 1)
      yield* idleConsumer("c8", "other")
      const refused = new StreamBackend.StreamBackendError({
        reason: "Rejected",
        message: "NOPERM this user has no permissions to run the 'xgroup|delconsumer' command"
      })
      const rec = yield* recording((op, run) => (op === "removeIdleConsumer" ? Effect.fail(refused) : run))
      let handled = 0
      yield* Effect.fork(
        rec.consumer.consume({
          stream: "c8",
          group: "g",
          consumer: "member",
          removeIdleConsumersAfter: Duration.zero,
          handler: () => Effect.sync(() => void handled++)
        })
      )
      for (let i = 0; i < 4; i++) yield* TestClock.adjust("30 seconds")
      yield* fill("c8", 1)
      yield* eventually(
        "work goes on",
        Effect.sync(() => handled === 1)
      )
      expect(rec.count("info")).toBeGreaterThanOrEqual(5)
      expect(rec.count("removeIdleConsumer")).toBe(1)
    }).pipe(Effect.provide(env))
  )

  it.effect(
    "a defect of the backend (a reply of an unexpected shape) fails a turn, retried: the member outlives it",
    () =>
      Effect.gen(function* () {
        const groups = yield* GroupBackend.GroupBackend
        yield* groups.create("c9", "g", "0")
        yield* fill("c9", 3)
        // The first read and the first claim die, as a backend does on a reply it cannot take apart.
        const dead = new Set<string>()
        const rec = yield* recording((op, run) => {
          if ((op === "read" || op === "claim") && !dead.has(op)) {
            dead.add(op)
            return Effect.die(new TypeError("(entries ?? []).map is not a function"))
          }
          return run
        })
        const seen: Array<number> = []
        const member = yield* Effect.fork(
          rec.consumer.consume({ stream: "c9", group: "g", consumer: "member", handler: numbers(seen) })
        )
        for (let i = 0; i < 10 && seen.length < 3; i++) {
          yield* TestClock.adjust("1 second")
          yield* quiet
        }
        expect(dead).toEqual(new Set(["read", "claim"]))
        expect(seen).toEqual([0, 1, 2])
        // Still consuming.
        expect(yield* Fiber.poll(member)).toEqual(Option.none())
        yield* fill("c9", 1)
        yield* eventually(
          "the next entry handled",
          Effect.sync(() => seen.length === 4)
        )
      }).pipe(Effect.provide(env))
  )

  it.effect(
    "a cursor that never opens (a silent network) holds the member 5 s at most: opened again, work goes on",
    () =>
      Effect.gen(function* () {
        const groups = yield* GroupBackend.GroupBackend
        yield* groups.create("c10", "g", "0")
        yield* fill("c10", 2)
        let opens = 0
        const backend: GroupBackend.GroupBackendService = {
          ...groups,
          openCursor: Effect.suspend(() => (++opens === 1 ? Effect.never : groups.openCursor))
        }
        const seen: Array<number> = []
        yield* Effect.fork(
          EventConsumer.make(backend).consume({
            stream: "c10",
            group: "g",
            consumer: "m",
            handler: numbers(seen)
          })
        )
        yield* TestClock.adjust("4999 millis")
        expect(seen).toEqual([])
        for (let i = 0; i < 5 && seen.length < 2; i++) yield* TestClock.adjust("1 second")
        expect(opens).toBe(2)
        expect(seen).toEqual([0, 1])
      }).pipe(Effect.provide(env))
  )

  it("bad options are refused with a clear message naming the option", () => {
    const refusal = (options: Partial<EventConsumer.ConsumeOptions<any, never>>) =>
      Effect.runSync(
        EventConsumer.make({} as GroupBackend.GroupBackendService)
          .consume({ group: "g", handler: () => Effect.void, ...options })
          .pipe(
            Effect.catchAllDefect((d) => Effect.fail(String(d))),
            Effect.flip
          )
      )
    expect(refusal({ group: "" })).toContain("group must be a non-empty string")
    expect(refusal({ consumer: "" })).toContain("consumer must be a non-empty string")
    expect(refusal({ concurrency: 1.5 })).toContain("concurrency must be an integer >= 1")
    expect(refusal({ maxDeliveries: -1 })).toContain("maxDeliveries must be an integer >= 0")
    expect(refusal({ from: "yesterday" })).toContain('from must be "$", "0" or an entry id')
    expect(refusal({ minIdle: "1 millis" })).toContain("minIdle must be a duration of at least 3 ms")
    expect(refusal({ removeIdleConsumersAfter: -1 })).toContain("removeIdleConsumersAfter must be a duration")
    expect(refusal({ onMissingGroup: "ignore" as "fail" })).toContain(
      'onMissingGroup must be "recreate" or "fail"'
    )
  })
})
