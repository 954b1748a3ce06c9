/**
 * What a member says (memory backend, `TestClock`), line by line, each annotated with the member's
 * stream, group and name: a dead letter (the entry, where it went, after how many deliveries, why);
 * a missing group, once a streak, with the policy; a group the server refused to make (read as it
 * is); a retry schedule that ended (its dead letter says so); entries deleted while pending, or before
 * their dead letter was written; an entry another member took; and each failure of the backend, as
 * the first line of the member's failure streak (`EventConsumer failed: …`). And how a handler's
 * failure is put in words (`errorText`).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { EventConsumer, GroupBackend, MemoryStreamBackend, StreamBackend } from "../src/index.js"
import { errorText } from "../src/internal/consumerOptions.js"
import { entriesOf, env, eventually, fill, gate, pendingOf, quiet, recording } from "./helpers/consumerKit.js"
import { captureLogs } from "./helpers/logs.js"

/** The lines logged (`LEVEL message {annotations}`) while `effect` runs. */
const logged = <A, E, R>(effect: (lines: Array<string>) => Effect.Effect<A, E, R>) => {
  const logs = captureLogs({ annotations: true })
  return effect(logs.lines).pipe(Effect.provide(logs.layer))
}

const member = (stream: string) => JSON.stringify({ stream, group: "g", consumer: "m" })

const boom = new StreamBackend.StreamBackendError({ reason: "Unavailable", message: "boom" })

/** The member's first failure line, as its failure streak writes it. */
const failureLine = (stream: string, text: string) =>
  `WARN EventConsumer failed: ${text} (while it goes on failing, a line at most every 100 failures and 5 s) ${JSON.stringify(
    { failures: 1, stream, group: "g", consumer: "m" }
  )}`

class Broke extends Data.TaggedError("Broke")<{ readonly message: string }> {}

describe("what a member says", () => {
  it.effect("a dead letter: the entry, its dead-letter stream, the deliveries (one, or several), why", () =>
    logged((lines) =>
      Effect.gen(function* () {
        const [first, second] = yield* fill("l1", 2)
        yield* Effect.fork(
          EventConsumer.consume({
            stream: "l1",
            group: "g",
            consumer: "m",
            from: "0",
            maxDeliveries: 2,
            retrySchedule: Schedule.exponential("1 second", 1),
            handler: (m): Effect.Effect<EventConsumer.Outcome, Broke> =>
              m._tag === "UnknownKind" && (m.body.payload as { n: number }).n === 0
                ? Effect.succeed(EventConsumer.Outcome.DeadLetter({ reason: "not for us" }))
                : Effect.fail(new Broke({ message: "the ledger is closed" }))
          })
        )
        yield* quiet
        yield* TestClock.adjust("1 second")
        yield* eventually(
          "both dead-lettered",
          Effect.map(entriesOf("l1:dead"), (dead) => dead.length === 2)
        )
        expect(lines.filter((line) => line.includes("moved to"))).toEqual([
          `WARN EventConsumer: entry ${first} moved to l1:dead after 1 delivery: not for us ${member("l1")}`,
          `WARN EventConsumer: entry ${second} moved to l1:dead after 2 deliveries: Broke: the ledger is closed ${member("l1")}`
        ])
      })
    ).pipe(Effect.provide(env))
  )

  it.scoped('a missing group, once a streak: "making it again from 0", or "failing"', () =>
    Effect.gen(function* () {
      const groups = yield* GroupBackend.GroupBackend
      yield* groups.create("l2", "g", "0")
      // The first three reads find no group; then the group is there again.
      let reads = 0
      const rec = yield* recording((op, run) =>
        op === "read" && ++reads <= 3
          ? Effect.fail(new GroupBackend.MissingGroup({ stream: "l2", group: "g", message: "NOGROUP gone" }))
          : run
      )
      const recreated = yield* logged((lines) =>
        Effect.gen(function* () {
          const fiber = yield* Effect.fork(
            rec.consumer.consume({
              stream: "l2",
              group: "g",
              consumer: "m",
              from: "0",
              handler: () => Effect.void
            })
          )
          for (let i = 0; i < 10 && reads <= 4; i++) yield* TestClock.adjust("1 second")
          yield* Fiber.interrupt(fiber)
          return lines
        })
      )
      expect(reads).toBeGreaterThan(4)
      expect(recreated.filter((line) => line.includes("missing"))).toEqual([
        `WARN EventConsumer: the group is missing (NOGROUP gone); making it again from 0 ${member("l2")}`
      ])
      const failed = yield* logged((lines) =>
        Effect.gen(function* () {
          reads = 0
          const exit = yield* Effect.exit(
            rec.consumer.consume({
              stream: "l2",
              group: "g",
              consumer: "m",
              onMissingGroup: "fail",
              handler: () => Effect.void
            })
          )
          expect(Exit.isFailure(exit)).toBe(true)
          return lines
        })
      )
      expect(failed.filter((line) => line.includes("missing"))).toEqual([
        `WARN EventConsumer: the group is missing (NOGROUP gone); failing ${member("l2")}`
      ])
    }).pipe(Effect.provide(env))
  )

  it.scoped("entries deleted while another member held them: how many, the first, as a warning", () =>
    logged((lines) =>
      Effect.gen(function* () {
        const memory = yield* MemoryStreamBackend.MemoryStreamBackend
        const groups = yield* GroupBackend.GroupBackend
        const ids = yield* fill("l3", 3)
        yield* groups.create("l3", "g", "0")
        // A member that took all three, then died; two of them are deleted from the stream.
        const cursor = yield* groups.openCursor
        yield* cursor.read("l3", "g", "dead", { count: 3, blockMillis: undefined, timeoutMillis: 1_000 })
        yield* memory.deleteEntries("l3", [ids[0]!, ids[1]!])
        yield* Effect.fork(
          EventConsumer.consume({
            stream: "l3",
            group: "g",
            consumer: "m",
            minIdle: "1 second",
            concurrency: 3,
            handler: () => Effect.void
          })
        )
        yield* TestClock.adjust("2 seconds")
        yield* eventually(
          "nothing pending",
          Effect.map(pendingOf("l3", "g"), (n) => n === 0)
        )
        expect(lines.filter((line) => line.includes("removed from the stream"))).toEqual([
          `WARN EventConsumer: 2 pending entries were removed from the stream before they were handled (first ${ids[0]}); they leave the pending list ${member("l3")}`
        ])
      })
    ).pipe(Effect.provide(env))
  )

  it.effect("an entry another member took while it was handled here: named, as a warning", () =>
    logged((lines) =>
      Effect.gen(function* () {
        const groups = yield* GroupBackend.GroupBackend
        const [id] = yield* fill("l4", 1)
        const slow = yield* gate
        yield* Effect.fork(
          EventConsumer.consume({
            stream: "l4",
            group: "g",
            consumer: "m",
            from: "0",
            minIdle: "3 seconds",
            handler: () => slow.wait
          })
        )
        yield* quiet
        // Another member takes it over (as if this one's lease had lapsed).
        yield* groups.claim("l4", "g", "other", { minIdleMillis: 0, start: "0-0", count: 1 })
        yield* TestClock.adjust("1 second")
        yield* quiet
        expect(lines.filter((line) => line.includes("no longer held"))).toEqual([
          `WARN EventConsumer: entry ${id} is no longer held by this member (another member claimed it) while it was handled here; its handler is interrupted and its outcome dropped ${member("l4")}`
        ])
      })
    ).pipe(Effect.provide(env))
  )

  it.scoped(
    "the server refuses to make the group (an ACL without XGROUP CREATE): said once, and the group made beforehand is read as it is",
    () =>
      logged((lines) =>
        Effect.gen(function* () {
          const groups = yield* GroupBackend.GroupBackend
          yield* fill("l5", 2)
          yield* groups.create("l5", "g", "0")
          const noperm = new StreamBackend.StreamBackendError({
            reason: "Rejected",
            message: "NOPERM this user has no permissions to run the 'xgroup|create' command"
          })
          const rec = yield* recording((op, run) => (op === "create" ? Effect.fail(noperm) : run))
          let handled = 0
          yield* Effect.fork(
            rec.consumer.consume({
              stream: "l5",
              group: "g",
              consumer: "m",
              handler: () => Effect.sync(() => void handled++)
            })
          )
          yield* eventually(
            "both handled and acknowledged",
            Effect.map(pendingOf("l5", "g"), (n) => n === 0 && handled === 2)
          )
          expect(rec.count("create")).toBe(1)
          expect(lines.filter((line) => line.includes("EventConsumer"))).toEqual([
            `WARN EventConsumer: the server refused to make the group (${noperm.message}); reading it as it is ${member("l5")}`
          ])
        })
      ).pipe(Effect.provide(env))
  )

  it.effect("a retry schedule that ends: the entry dead-lettered, the reason saying so", () =>
    logged((lines) =>
      Effect.gen(function* () {
        const [id] = yield* fill("l6", 1)
        let deliveries = 0
        yield* Effect.fork(
          EventConsumer.consume({
            stream: "l6",
            group: "g",
            consumer: "m",
            from: "0",
            // No bound on deliveries: the schedule (one retry) decides.
            maxDeliveries: 0,
            retrySchedule: Schedule.exponential("1 second", 1).pipe(Schedule.zipLeft(Schedule.recurs(1))),
            handler: () =>
              Effect.zipRight(
                Effect.sync(() => void deliveries++),
                Effect.fail(new Broke({ message: "no ledger" }))
              )
          })
        )
        yield* quiet
        yield* TestClock.adjust("1 second")
        yield* eventually(
          "dead-lettered",
          Effect.map(entriesOf("l6:dead"), (dead) => dead.length === 1)
        )
        expect(deliveries).toBe(2)
        expect(lines.filter((line) => line.includes("moved to"))).toEqual([
          `WARN EventConsumer: entry ${id} moved to l6:dead after 2 deliveries: Broke: no ledger (the retry schedule ended) ${member("l6")}`
        ])
      })
    ).pipe(Effect.provide(env))
  )

  it.effect(
    "an entry deleted from the stream before its dead letter was written: a gap (nothing moved), as a warning",
    () =>
      logged((lines) =>
        Effect.gen(function* () {
          const memory = yield* MemoryStreamBackend.MemoryStreamBackend
          const [id] = yield* fill("l7", 1)
          const seen: Array<string> = []
          yield* Effect.fork(
            EventConsumer.consume({
              stream: "l7",
              group: "g",
              consumer: "m",
              from: "0",
              handler: (m) =>
                m._tag === "Gap"
                  ? Effect.sync(() => void seen.push(`gap ${m.ids.join(",")}`))
                  : Effect.as(
                      Effect.zipRight(
                        Effect.sync(() => void seen.push(`entry ${m.streamId}`)),
                        memory.deleteEntries("l7", [m.streamId])
                      ),
                      EventConsumer.Outcome.DeadLetter({ reason: "unwanted" })
                    )
            })
          )
          yield* eventually(
            "no longer pending",
            Effect.map(pendingOf("l7", "g"), (n) => n === 0 && seen.length === 2)
          )
          expect(seen).toEqual([`entry ${id}`, `gap ${id}`])
          expect(yield* entriesOf("l7:dead")).toEqual([])
          expect(lines.filter((line) => line.includes("EventConsumer"))).toEqual([
            `WARN EventConsumer: 1 pending entries were removed from the stream before they were handled (first ${id}); they leave the pending list ${member("l7")}`
          ])
        })
      ).pipe(Effect.provide(env))
  )

  describe("each failure of the backend: the first line of the member's failure streak", () => {
    /** A member whose backend fails `op` always; it handles `stream`'s entries with `handler`. */
    const failing = (
      stream: string,
      op: string,
      handler: EventConsumer.ConsumeOptions<any, never>["handler"],
      options: Partial<EventConsumer.ConsumeOptions<any, never>> = {}
    ) =>
      logged((lines) =>
        Effect.gen(function* () {
          const ids = yield* fill(stream, 1)
          const rec = yield* recording((called, run) => (called === op ? Effect.fail(boom) : run))
          const fiber = yield* Effect.fork(
            rec.consumer.consume({
              stream,
              group: "g",
              consumer: "m",
              from: "0",
              failureSchedule: Schedule.recurs(1),
              handler,
              ...options
            })
          )
          for (let i = 0; i < 5; i++) {
            yield* TestClock.adjust("1 second")
            yield* quiet
          }
          yield* Fiber.interrupt(fiber)
          return { lines: lines.filter((line) => line.includes("EventConsumer failed")), id: ids[0]! }
        })
      ).pipe(Effect.provide(env))

    it.effect("a read", () =>
      Effect.gen(function* () {
        const { lines } = yield* failing("f1", "read", () => Effect.void)
        expect(lines).toEqual([failureLine("f1", "StreamBackendError: boom")])
      })
    )

    it.effect("an ack", () =>
      Effect.gen(function* () {
        const { lines } = yield* failing("f2", "ack", () => Effect.void)
        expect(lines).toEqual([failureLine("f2", "ack of 1 entries failed (boom); they stay pending")])
      })
    )

    it.effect("a dead letter", () =>
      Effect.gen(function* () {
        const { lines, id } = yield* failing("f3", "deadLetter", () =>
          Effect.succeed(EventConsumer.Outcome.DeadLetter({ reason: "no" }))
        )
        expect(lines).toEqual([failureLine("f3", `dead letter of ${id} failed (boom); it stays pending`)])
      })
    )

    it.effect("a retry's redelivery", () =>
      Effect.gen(function* () {
        const { lines, id } = yield* failing("f4", "redeliver", () => Effect.fail("no"), {
          retrySchedule: Schedule.exponential("100 millis", 1)
        })
        expect(lines).toEqual([
          failureLine("f4", `retry of ${id} failed (boom); it stays pending for a claim`)
        ])
      })
    )

    it.effect("a lease renewal", () =>
      Effect.gen(function* () {
        const { lines } = yield* failing("f5", "renew", () => Effect.sleep("3 seconds"), {
          minIdle: "3 seconds"
        })
        expect(lines).toEqual([failureLine("f5", "lease renewal failed (boom)")])
      })
    )

    it.effect("the group's info", () =>
      Effect.gen(function* () {
        const { lines } = yield* failing("f6", "info", () => Effect.void, { minIdle: "1 second" })
        // Read at every claim scan, each failure between successful turns: a streak of its own each.
        expect(new Set(lines)).toEqual(new Set([failureLine("f6", "reading the group's info failed (boom)")]))
      })
    )
  })
})

describe("a handler's failure in words (errorText)", () => {
  it("a text is itself; a tagged error its tag and message", () => {
    expect(errorText(Cause.fail("plain words"))).toBe("plain words")
    expect(errorText(Cause.fail(new Broke({ message: "the ledger is closed" })))).toBe(
      "Broke: the ledger is closed"
    )
  })

  it("a tagged error without a message of its own: its tag and fields, or its tag alone", () => {
    class NoCost extends Data.TaggedError("NoCost")<{ readonly streamId: string }> {}
    class Bare extends Data.TaggedError("Bare")<{}> {}
    expect(errorText(Cause.fail(new NoCost({ streamId: "1-0" })))).toBe('NoCost {"streamId":"1-0"}')
    expect(errorText(Cause.fail(new Bare()))).toBe("Bare")
    expect(errorText(Cause.fail({ _tag: "Empty", message: "", n: 1 }))).toBe('Empty {"n":1}')
  })

  it("fields JSON cannot write: the tag alone", () => {
    const cyclic: Record<string, unknown> = { _tag: "Cyclic" }
    cyclic.self = cyclic
    expect(errorText(Cause.fail(cyclic))).toBe("Cyclic")
    expect(errorText(Cause.fail({ _tag: "Big", n: 1n }))).toBe("Big")
  })

  it("a defect, or a failure of no tag: the first line of the cause", () => {
    expect(errorText(Cause.die(new Error("kaput")))).toBe("Error: kaput")
    expect(errorText(Cause.fail(42))).toBe(Cause.pretty(Cause.fail(42)).split("\n")[0])
    expect(errorText(Cause.fail(null))).toBe(Cause.pretty(Cause.fail(null)).split("\n")[0])
  })
})
