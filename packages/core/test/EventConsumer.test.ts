/**
 * `EventConsumer` on the in-memory backend (Redis 7.0 group semantics), on the live clock with short
 * idle times: members share work without overlap; a failing entry is retried by its holder and
 * dead-lettered after exactly `maxDeliveries` deliveries with its data intact; a dead member's
 * entries are claimed by the others; a slow handler keeps its lease; an entry deleted while pending
 * comes out as a Gap; a destroyed group is made again without spinning; shutdown drains.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { EventConsumer, GroupBackend, MemoryStreamBackend } from "../src/index.js"

const env = EventConsumer.layer.pipe(Layer.provideMerge(MemoryStreamBackend.layer))

const body = (n: number) =>
  JSON.stringify({ kind: "custom.thing", ts: "2026-12-02T00:00:00Z", payload: { n } })

const fill = (stream: string, count: number) =>
  Effect.flatMap(MemoryStreamBackend.MemoryStreamBackend, (memory) =>
    memory.appendFields(
      stream,
      Array.from({ length: count }, (_, n) => ["data", body(n)])
    )
  )

/** Polls `check` until it holds (every 5 ms, up to 5 s). */
const until = <R>(what: string, check: Effect.Effect<boolean, unknown, R>) =>
  check.pipe(
    Effect.filterOrFail(
      (ok) => ok,
      () => new Error(`not yet: ${what}`)
    ),
    Effect.retry(Schedule.spaced(Duration.millis(5)).pipe(Schedule.upTo(Duration.seconds(5))))
  )

const info = (stream: string, group: string) =>
  Effect.flatMap(GroupBackend.GroupBackend, (groups) => groups.info(stream, group))

const fast = { minIdle: Duration.millis(60), block: Duration.millis(20), from: "0" } as const

describe("EventConsumer (memory backend)", () => {
  it.live("two members share the entries: each handled once, all acked, nothing pending", () =>
    Effect.gen(function* () {
      const ids = yield* fill("s1", 200)
      const seen = new Map<string, Array<string>>()
      const member = (name: string) =>
        EventConsumer.consume({
          ...fast,
          stream: "s1",
          group: "g",
          consumer: name,
          concurrency: 4,
          // No claims in this test: a stall of the loaded machine past 60 ms must not make one.
          minIdle: Duration.seconds(5),
          handler: (m) =>
            Effect.sync(() => {
              seen.set(m.streamId, [...(seen.get(m.streamId) ?? []), name])
            })
        })
      const a = yield* Effect.fork(member("a"))
      const b = yield* Effect.fork(member("b"))
      yield* until(
        "all handled",
        Effect.sync(() => seen.size === 200)
      )
      yield* until(
        "nothing pending",
        Effect.map(info("s1", "g"), (i) => i.pending === 0)
      )
      yield* Fiber.interrupt(a)
      yield* Fiber.interrupt(b)
      expect([...seen.keys()].sort()).toEqual([...ids].sort())
      expect([...seen.values()].filter((by) => by.length !== 1)).toEqual([])
    }).pipe(Effect.provide(env))
  )

  it.live("a failing entry is dead-lettered after exactly maxDeliveries, data intact, then acked", () =>
    Effect.gen(function* () {
      const [id] = yield* fill("s2", 1)
      const counts: Array<number> = []
      const member = yield* Effect.fork(
        EventConsumer.consume({
          ...fast,
          stream: "s2",
          group: "g",
          maxDeliveries: 3,
          retrySchedule: Schedule.spaced(Duration.millis(5)).pipe(Schedule.as(Duration.millis(5))),
          handler: (m) =>
            m._tag === "Gap"
              ? Effect.void
              : Effect.suspend(() => {
                  counts.push(m.deliveryCount)
                  return Effect.fail("boom")
                })
        })
      )
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      yield* until(
        "a dead letter",
        Effect.map(memory.entries("s2:dead"), (dead) => dead.length === 1)
      )
      yield* until(
        "nothing pending",
        Effect.map(info("s2", "g"), (i) => i.pending === 0)
      )
      yield* Fiber.interrupt(member)
      expect(counts).toEqual([1, 2, 3])
      const [dead] = yield* memory.entries("s2:dead")
      const fields = dead!.fields
      expect(fields.slice(0, 2)).toEqual(["data", body(0)])
      const named = new Map<string, string>()
      for (let i = 2; i < fields.length; i += 2) named.set(fields[i]!, fields[i + 1]!)
      expect(named.get("original_id")).toBe(id)
      expect(named.get("group")).toBe("g")
      expect(named.get("delivery_count")).toBe("3")
      expect(named.get("error")).toContain("boom")
    }).pipe(Effect.provide(env))
  )

  it.live("a member stopped mid-handling: its entry is claimed by another after minIdle and handled", () =>
    Effect.gen(function* () {
      yield* fill("s3", 1)
      const handledBy: Array<string> = []
      const dead = yield* Effect.fork(
        EventConsumer.consume({
          ...fast,
          stream: "s3",
          group: "g",
          consumer: "dead",
          drainTimeout: Duration.zero,
          handler: () => Effect.sync(() => void handledBy.push("dead")).pipe(Effect.zipRight(Effect.never))
        })
      )
      yield* until(
        "taken by the first member",
        Effect.sync(() => handledBy.length === 1)
      )
      yield* Fiber.interrupt(dead)
      const alive = yield* Effect.fork(
        EventConsumer.consume({
          ...fast,
          stream: "s3",
          group: "g",
          consumer: "alive",
          handler: (m) =>
            Effect.sync(() => void handledBy.push(`alive:${m._tag === "Gap" ? "gap" : m.deliveryCount}`))
        })
      )
      yield* until(
        "nothing pending",
        Effect.map(info("s3", "g"), (i) => i.pending === 0)
      )
      yield* Fiber.interrupt(alive)
      expect(handledBy).toEqual(["dead", "alive:2"])
    }).pipe(Effect.provide(env))
  )

  it.live("a slow but live handler keeps its lease: no other member takes the entry", () =>
    Effect.gen(function* () {
      yield* fill("s4", 1)
      const handledBy: Array<string> = []
      const slow = yield* Effect.fork(
        EventConsumer.consume({
          ...fast,
          // minIdle well above an event loop's stall on a loaded machine (60 ms was not): the test
          // is of the lease, not of the machine (the TestClock twin in EventConsumer.flow.test.ts).
          minIdle: Duration.millis(400),
          stream: "s4",
          group: "g",
          consumer: "slow",
          handler: () =>
            Effect.sync(() => void handledBy.push("slow")).pipe(
              Effect.zipRight(Effect.sleep(Duration.millis(1_500)))
            )
        })
      )
      yield* until(
        "taken",
        Effect.sync(() => handledBy.length === 1)
      )
      const other = yield* Effect.fork(
        EventConsumer.consume({
          ...fast,
          minIdle: Duration.millis(400),
          stream: "s4",
          group: "g",
          consumer: "other",
          handler: () => Effect.sync(() => void handledBy.push("other"))
        })
      )
      yield* until(
        "acked",
        Effect.map(info("s4", "g"), (i) => i.pending === 0)
      )
      yield* Fiber.interrupt(other)
      yield* Fiber.interrupt(slow)
      expect(handledBy).toEqual(["slow"])
    }).pipe(Effect.provide(env))
  )

  it.live("an entry deleted while pending comes out as a Gap and leaves the pending list", () =>
    Effect.gen(function* () {
      const [id] = yield* fill("s5", 1)
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      const messages: Array<string> = []
      const first = yield* Effect.fork(
        EventConsumer.consume({
          ...fast,
          stream: "s5",
          group: "g",
          consumer: "first",
          drainTimeout: Duration.zero,
          handler: () => Effect.sync(() => void messages.push("taken")).pipe(Effect.zipRight(Effect.never))
        })
      )
      yield* until(
        "taken",
        Effect.sync(() => messages.length === 1)
      )
      yield* Fiber.interrupt(first)
      yield* memory.deleteEntries("s5", [id!])
      const second = yield* Effect.fork(
        EventConsumer.consume({
          ...fast,
          stream: "s5",
          group: "g",
          consumer: "second",
          handler: (m) =>
            Effect.sync(() => void messages.push(m._tag === "Gap" ? `gap ${m.ids.join(",")}` : m._tag))
        })
      )
      yield* until(
        "gap",
        Effect.sync(() => messages.length === 2)
      )
      yield* until(
        "nothing pending",
        Effect.map(info("s5", "g"), (i) => i.pending === 0)
      )
      yield* Fiber.interrupt(second)
      expect(messages).toEqual(["taken", `gap ${id}`])
    }).pipe(Effect.provide(env))
  )

  it.live("a destroyed group is made again (recreate), paced by the schedule, and work goes on", () =>
    Effect.gen(function* () {
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      let handled = 0
      const member = yield* Effect.fork(
        EventConsumer.consume({
          ...fast,
          from: "$",
          stream: "s6",
          group: "g",
          handler: () =>
            Effect.sync(() => {
              handled++
            })
        })
      )
      yield* until(
        "group made",
        Effect.map(Effect.either(info("s6", "g")), (e) => e._tag === "Right")
      )
      yield* memory.destroyGroup("s6", "g")
      yield* until(
        "made again",
        Effect.map(Effect.either(info("s6", "g")), (e) => e._tag === "Right")
      )
      yield* fill("s6", 3)
      yield* until(
        "handled after",
        Effect.sync(() => handled === 3)
      )
      yield* Fiber.interrupt(member)
    }).pipe(Effect.provide(env))
  )

  it.live("onMissingGroup fail: the member fails with MissingGroup", () =>
    Effect.gen(function* () {
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      const member = yield* Effect.fork(
        EventConsumer.consume({
          ...fast,
          stream: "s7",
          group: "g",
          onMissingGroup: "fail",
          handler: () => Effect.void
        })
      )
      yield* until(
        "group made",
        Effect.map(Effect.either(info("s7", "g")), (e) => e._tag === "Right")
      )
      yield* memory.deleteStream("s7")
      const exit = yield* Fiber.await(member)
      expect(exit._tag).toBe("Failure")
      expect(JSON.stringify(exit)).toContain("MissingGroup")
    }).pipe(Effect.provide(env))
  )

  it.live("shutdown drains: a running handler finishes and is acked; one past the drain stays pending", () =>
    Effect.gen(function* () {
      yield* fill("s8", 2)
      let finished = 0
      const member = yield* Effect.fork(
        EventConsumer.consume({
          ...fast,
          stream: "s8",
          group: "g",
          concurrency: 2,
          drainTimeout: Duration.millis(150),
          handler: (m) =>
            m._tag !== "Gap" && m.streamId.endsWith("-0")
              ? Effect.sleep(Duration.millis(50)).pipe(
                  Effect.tap(() => {
                    finished++
                  })
                )
              : Effect.never
        })
      )
      yield* until(
        "both held",
        Effect.map(info("s8", "g"), (i) => i.pending === 2)
      )
      yield* Fiber.interrupt(member)
      expect(finished).toBe(1)
      expect((yield* info("s8", "g")).pending).toBe(1)
    }).pipe(Effect.provide(env))
  )

  it("bad options are refused with a clear message", () => {
    const message = Effect.runSync(
      EventConsumer.make({} as GroupBackend.GroupBackendService)
        .consume({ group: "g", concurrency: 0, handler: () => Effect.void })
        .pipe(
          Effect.catchAllDefect((d) => Effect.fail(String(d))),
          Effect.flip
        )
    )
    expect(message).toContain("concurrency must be an integer >= 1")
  })
})
