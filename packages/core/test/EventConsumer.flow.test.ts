/**
 * EventConsumer, how work flows through a member (memory backend, `TestClock`): order at
 * concurrency 1 and what a retry does to it; above 1, handlers that wait never hold back the entries
 * after them; prefetch bounded by the free concurrency; acks batched (one XACK for many ids) and
 * never held by a timer; no hot loop on any instantly failing error; the lease of a slow handler
 * renewed every third of minIdle, and a handler whose entry another member took interrupted with its
 * outcome dropped, the member going on with new entries; an entry deleted from the stream while it
 * waits for its retry a gap at the next renewal; a dead member's entries claimed once idle
 * for minIdle; an entry its own member's claim scan takes back is never handed out twice.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { EventConsumer, GroupBackend, MemoryStreamBackend, StreamBackend } from "../src/index.js"
import { env, eventually, fill, gate, info, pendingOf, quiet, recording } from "./helpers/consumerKit.js"

const exponential = Schedule.exponential(Duration.millis(100)) as Schedule.Schedule<Duration.Duration>

const numberOf = (m: EventConsumer.Message): number =>
  m._tag === "UnknownKind" ? (m.body.payload as { n: number }).n : -1

/**
 * A member "m" (minIdle 3 s: a renewal every second) whose handler writes each delivery and gap to
 * `seen`, and deletes its own entry, then answers `then`.
 */
const selfDeleting = (
  consumer: EventConsumer.EventConsumerService,
  stream: string,
  id: string,
  then: Effect.Effect<EventConsumer.Outcome | undefined, string>
) =>
  Effect.gen(function* () {
    const memory = yield* MemoryStreamBackend.MemoryStreamBackend
    const seen: Array<string> = []
    yield* Effect.fork(
      consumer.consume({
        stream,
        group: "g",
        consumer: "m",
        from: "0",
        minIdle: "3 seconds",
        handler: (m) =>
          m._tag === "Gap"
            ? Effect.sync(() => void seen.push(`gap ${m.ids.join(",")}`))
            : Effect.zipRight(
                Effect.sync(() => void seen.push(`${m.streamId}#${m.deliveryCount}`)),
                Effect.zipRight(memory.deleteEntries(stream, [id]), then)
              )
      })
    )
    return seen
  })

/** The entry's gap reaches the handler after its one delivery; then nothing more, and nothing pending. */
const endsAsAGap = (seen: ReadonlyArray<string>, stream: string, id: string) =>
  Effect.gen(function* () {
    yield* eventually(
      "the gap handed to the handler",
      Effect.sync(() => seen.length === 2)
    )
    expect(seen).toEqual([`${id}#1`, `gap ${id}`])
    yield* TestClock.adjust("5 seconds")
    yield* quiet
    expect(seen).toEqual([`${id}#1`, `gap ${id}`])
    expect(yield* pendingOf(stream, "g")).toBe(0)
  })

describe("EventConsumer flow (memory backend, TestClock)", () => {
  it.effect("concurrency 1: entries are handled one at a time, in stream order", () =>
    Effect.gen(function* () {
      yield* fill("f1", 20)
      const order: Array<number> = []
      let running = 0
      let most = 0
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "f1",
          group: "g",
          from: "0",
          handler: (m) =>
            Effect.gen(function* () {
              most = Math.max(most, ++running)
              yield* Effect.sleep("10 millis")
              order.push(numberOf(m))
              running--
            })
        })
      )
      for (let i = 0; i < 20; i++) {
        yield* quiet
        yield* TestClock.adjust("10 millis")
      }
      yield* eventually(
        "all handled",
        Effect.map(pendingOf("f1", "g"), (n) => n === 0 && order.length === 20)
      )
      expect(order).toEqual(Array.from({ length: 20 }, (_, n) => n))
      expect(most).toBe(1)
    }).pipe(Effect.provide(env))
  )

  it.effect("concurrency 1: a retried entry is handled again before anything after it", () =>
    Effect.gen(function* () {
      yield* fill("f2", 4)
      const order: Array<string> = []
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "f2",
          group: "g",
          from: "0",
          retrySchedule: exponential,
          handler: (m) =>
            Effect.suspend(() => {
              if (m._tag === "Gap") return Effect.void
              order.push(`${numberOf(m)}#${m.deliveryCount}`)
              return numberOf(m) === 1 && m.deliveryCount < 3 ? Effect.fail("again") : Effect.void
            })
        })
      )
      yield* quiet
      yield* TestClock.adjust("100 millis")
      yield* quiet
      yield* TestClock.adjust("200 millis")
      yield* eventually(
        "all handled",
        Effect.map(pendingOf("f2", "g"), (n) => n === 0 && order.length === 6)
      )
      expect(order).toEqual(["0#1", "1#1", "1#2", "1#3", "2#1", "3#1"])
    }).pipe(Effect.provide(env))
  )

  it.effect("concurrency above 1: a retried entry comes after those taken meanwhile", () =>
    Effect.gen(function* () {
      yield* fill("f3", 3)
      const order: Array<string> = []
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "f3",
          group: "g",
          from: "0",
          concurrency: 3,
          retrySchedule: exponential,
          handler: (m) =>
            Effect.suspend(() => {
              if (m._tag === "Gap") return Effect.void
              order.push(`${numberOf(m)}#${m.deliveryCount}`)
              return numberOf(m) === 0 && m.deliveryCount === 1 ? Effect.fail("again") : Effect.void
            })
        })
      )
      yield* quiet
      yield* TestClock.adjust("100 millis")
      yield* eventually(
        "all handled",
        Effect.map(pendingOf("f3", "g"), (n) => n === 0 && order.length === 4)
      )
      expect(order).toEqual(["0#1", "1#1", "2#1", "0#2"])
    }).pipe(Effect.provide(env))
  )

  it.effect(
    "concurrency above 1: handlers that wait do not hold back the entries after them, which others handle meanwhile",
    () =>
      Effect.gen(function* () {
        const done = yield* gate
        const finished: Array<number> = []
        let waiting = 0
        yield* Effect.fork(
          EventConsumer.consume({
            stream: "f3b",
            group: "g",
            from: "0",
            concurrency: 3,
            handler: (m) =>
              Effect.gen(function* () {
                const n = numberOf(m)
                // The first two wait; the others are done at once.
                if (n < 2) {
                  waiting++
                  yield* done.wait
                }
                finished.push(n)
              })
          })
        )
        // The member idle first (its workers waiting), then the entries come.
        yield* quiet
        yield* fill("f3b", 6)
        yield* eventually(
          "two waiting, the four others handled and acknowledged",
          Effect.map(pendingOf("f3b", "g"), (n) => n === 2 && waiting === 2 && finished.length === 4)
        )
        expect(finished).toEqual([2, 3, 4, 5])
        yield* done.open
        yield* eventually(
          "all handled",
          Effect.map(pendingOf("f3b", "g"), (n) => n === 0 && finished.length === 6)
        )
      }).pipe(Effect.provide(env))
  )

  it.effect(
    "prefetch is bounded by the free concurrency: a busy member holds no more than it can start",
    () =>
      Effect.gen(function* () {
        yield* fill("f4", 10)
        const rec = yield* recording()
        const done = yield* gate
        let running = 0
        let most = 0
        let handled = 0
        yield* Effect.fork(
          rec.consumer.consume({
            stream: "f4",
            group: "g",
            consumer: "busy",
            from: "0",
            concurrency: 3,
            handler: () =>
              Effect.gen(function* () {
                most = Math.max(most, ++running)
                yield* done.wait
                running--
                handled++
              })
          })
        )
        yield* eventually(
          "three running",
          Effect.sync(() => running === 3)
        )
        // Half a minute on, the member still holds exactly three: it reads nothing while it is full.
        yield* TestClock.adjust("30 seconds")
        const held = yield* info("f4", "g")
        expect(held.pending).toBe(3)
        expect(held.consumers.find((c) => c.name === "busy")?.pending).toBe(3)
        const readsWhileFull = rec.count("read")
        yield* TestClock.adjust("30 seconds")
        expect(rec.count("read")).toBe(readsWhileFull)
        yield* done.open
        yield* eventually(
          "all handled",
          Effect.map(pendingOf("f4", "g"), (n) => n === 0 && handled === 10)
        )
        expect(most).toBe(3)
        const asked = rec.calls.flatMap((c) =>
          c.op === "read"
            ? [(c.args[3] as GroupBackend.GroupReadOptions).count]
            : c.op === "claim"
              ? [(c.args[3] as { count: number }).count]
              : []
        )
        expect(Math.max(...asked)).toBe(3)
      }).pipe(Effect.provide(env))
  )

  it.effect(
    "acks are batched: what finishes while an XACK is on its way leaves in the next one, at once",
    () =>
      Effect.gen(function* () {
        yield* fill("f5", 10)
        const firstAck = yield* gate
        let acks = 0
        const rec = yield* recording((op, run) =>
          op === "ack" && acks++ === 0 ? Effect.zipRight(firstAck.wait, run) : run
        )
        const rest = yield* gate
        yield* Effect.fork(
          rec.consumer.consume({
            stream: "f5",
            group: "g",
            from: "0",
            concurrency: 10,
            handler: (m) => (numberOf(m) === 0 ? Effect.void : rest.wait)
          })
        )
        yield* eventually(
          "the first XACK sent",
          Effect.sync(() => rec.count("ack") === 1)
        )
        yield* rest.open
        yield* quiet
        expect(rec.count("ack")).toBe(1)
        yield* firstAck.open
        yield* eventually(
          "all acknowledged",
          Effect.map(pendingOf("f5", "g"), (n) => n === 0)
        )
        const batches = rec.calls
          .filter((c) => c.op === "ack")
          .map((c) => (c.args[2] as ReadonlyArray<string>).length)
        expect(batches).toEqual([1, 9])
        // No timer holds an ack: the clock never moved.
        expect(yield* TestClock.currentTimeMillis).toBe(0)
      }).pipe(Effect.provide(env))
  )

  const unavailable = new StreamBackend.StreamBackendError({ reason: "Unavailable", message: "down" })
  const missing = new GroupBackend.MissingGroup({ stream: "f6", group: "g", message: "NOGROUP" })
  // Jittered exponential from 50 ms, capped at 2 s: about ten attempts in ten seconds. The group's
  // info is asked after each full claim scan (every half minIdle), and its failure fails nothing else.
  for (const [op, error, seconds, least, most] of [
    ["create", unavailable, 10, 5, 15],
    ["read", unavailable, 10, 5, 15],
    ["claim", unavailable, 10, 5, 15],
    ["read", missing, 10, 5, 15],
    ["info", unavailable, 60, 4, 5]
  ] as const) {
    it.effect(`no hot loop: ${op} failing at once (${error._tag}) is tried again by the schedule only`, () =>
      Effect.gen(function* () {
        const rec = yield* recording((name, run) => (name === op ? Effect.fail(error) : run))
        yield* Effect.fork(
          rec.consumer.consume({ stream: "f6", group: "g", from: "0", handler: () => Effect.void })
        )
        yield* quiet
        expect(rec.count(op)).toBe(1)
        for (let i = 0; i < seconds; i++) yield* TestClock.adjust("1 second")
        yield* quiet
        expect(rec.count(op)).toBeGreaterThanOrEqual(least)
        expect(rec.count(op)).toBeLessThanOrEqual(most)
      }).pipe(Effect.provide(env))
    )
  }

  it.effect("a handler failing at once, with no delivery limit, is retried by the schedule only", () =>
    Effect.gen(function* () {
      yield* fill("f7", 1)
      let handled = 0
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "f7",
          group: "g",
          from: "0",
          maxDeliveries: 0,
          handler: () =>
            Effect.zipRight(
              Effect.sync(() => void handled++),
              Effect.fail("no")
            )
        })
      )
      yield* quiet
      expect(handled).toBe(1)
      // 100 ms doubling to a 5 s cap (jittered): about ten deliveries in thirty seconds.
      for (let i = 0; i < 30; i++) {
        yield* TestClock.adjust("1 second")
        yield* quiet
      }
      expect(handled).toBeGreaterThanOrEqual(7)
      expect(handled).toBeLessThanOrEqual(14)
    }).pipe(Effect.provide(env))
  )

  it.effect("a slow handler keeps its lease: renewed every third of minIdle, never claimed by another", () =>
    Effect.gen(function* () {
      yield* fill("f8", 1)
      const rec = yield* recording()
      const handledBy: Array<string> = []
      yield* Effect.fork(
        rec.consumer.consume({
          stream: "f8",
          group: "g",
          consumer: "slow",
          from: "0",
          handler: () =>
            Effect.zipRight(
              Effect.sync(() => void handledBy.push("slow")),
              Effect.sleep("100 seconds")
            )
        })
      )
      yield* eventually(
        "taken",
        Effect.sync(() => handledBy.length === 1)
      )
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "f8",
          group: "g",
          consumer: "other",
          handler: () => Effect.sync(() => void handledBy.push("other"))
        })
      )
      for (let i = 0; i < 100; i++) yield* TestClock.adjust("1 second")
      yield* eventually(
        "acknowledged",
        Effect.map(pendingOf("f8", "g"), (n) => n === 0)
      )
      expect(handledBy).toEqual(["slow"])
      // minIdle 30 s: a renewal every 10 s while the handler ran.
      expect(rec.count("renew")).toBe(10)
    }).pipe(Effect.provide(env))
  )

  it.effect(
    "an entry deleted from the stream while it waits for its retry: a Gap at the next renewal, never handled again, no longer pending",
    () =>
      Effect.gen(function* () {
        const memory = yield* MemoryStreamBackend.MemoryStreamBackend
        const [id] = yield* fill("f8", 1)
        const seen: Array<string> = []
        yield* Effect.fork(
          EventConsumer.consume({
            stream: "f8",
            group: "g",
            consumer: "m",
            from: "0",
            minIdle: "3 seconds",
            retrySchedule: Schedule.exponential("1 minute", 1),
            handler: (m) =>
              m._tag === "Gap"
                ? Effect.sync(() => void seen.push(`gap ${m.ids.join(",")}`))
                : Effect.zipRight(
                    Effect.sync(() => void seen.push(`${m.streamId}#${m.deliveryCount}`)),
                    Effect.fail("not yet")
                  )
          })
        )
        yield* quiet
        expect(seen).toEqual([`${id}#1`])
        yield* memory.deleteEntries("f8", [id!])
        // The renewal (every second) finds it deleted; its retry, a minute away, never comes.
        yield* TestClock.adjust("1 second")
        yield* eventually(
          "the gap handed to the handler",
          Effect.sync(() => seen.length === 2)
        )
        expect(seen).toEqual([`${id}#1`, `gap ${id}`])
        yield* TestClock.adjust("2 minutes")
        yield* quiet
        expect(seen).toEqual([`${id}#1`, `gap ${id}`])
        expect(yield* pendingOf("f8", "g")).toBe(0)
      }).pipe(Effect.provide(env))
  )

  it.effect(
    "an entry deleted while its handler runs, a renewal seeing it so, then the handler fails: a Gap, no retry, no longer pending",
    () =>
      Effect.gen(function* () {
        const [id] = yield* fill("f8a", 1)
        const rec = yield* recording()
        // It fails after the renewal at 1 s found its entry deleted.
        const seen = yield* selfDeleting(
          rec.consumer,
          "f8a",
          id!,
          Effect.zipRight(Effect.sleep("1500 millis"), Effect.fail("too late"))
        )
        yield* quiet
        expect(seen).toEqual([`${id}#1`])
        yield* TestClock.adjust("1 second")
        yield* quiet
        expect(rec.count("renew")).toBe(1)
        yield* TestClock.adjust("500 millis")
        yield* endsAsAGap(seen, "f8a", id!)
        expect(rec.count("redeliver")).toBe(0)
      }).pipe(Effect.provide(env))
  )

  it.effect(
    "an entry deleted while its redelivery is on its way, a renewal answered first: a Gap all the same, no longer pending",
    () =>
      Effect.gen(function* () {
        const [id] = yield* fill("f8b", 1)
        // The redelivery of the retry (at 500 ms) reaches the server after the renewal at 1 s: that
        // renewal's XCLAIM drops the deleted entry from the pending list, and the redelivery then
        // finds it no longer held (as on Redis, the two scripts' order on one connection).
        const rec = yield* recording((op, run) =>
          op === "redeliver" ? Effect.zipRight(Effect.sleep("1 second"), run) : run
        )
        const seen = yield* selfDeleting(
          rec.consumer,
          "f8b",
          id!,
          Effect.succeed(EventConsumer.Outcome.Retry({ after: "500 millis" }))
        )
        yield* quiet
        expect(seen).toEqual([`${id}#1`])
        yield* TestClock.adjust("500 millis")
        yield* quiet
        expect(rec.count("redeliver")).toBe(1)
        yield* TestClock.adjust("500 millis")
        yield* endsAsAGap(seen, "f8b", id!)
      }).pipe(Effect.provide(env))
  )

  it.effect(
    "an entry another member took meanwhile: its handler is interrupted and its outcome dropped",
    () =>
      Effect.gen(function* () {
        yield* fill("f9", 1)
        let interrupted = false
        let finished = false
        const slow = yield* Effect.fork(
          EventConsumer.consume({
            stream: "f9",
            group: "g",
            consumer: "slow",
            from: "0",
            handler: () =>
              Effect.sleep("1 minute").pipe(
                Effect.tap(() => {
                  finished = true
                }),
                Effect.onInterrupt(() =>
                  Effect.sync(() => {
                    interrupted = true
                  })
                )
              )
          })
        )
        yield* quiet
        // Another member claims it (as one would whose clock ran ahead, or after a pause of this one).
        const groups = yield* GroupBackend.GroupBackend
        const taken = yield* groups.claim("f9", "g", "thief", { minIdleMillis: 0, start: "0-0", count: 10 })
        expect(taken.entries.length).toBe(1)
        yield* TestClock.adjust("10 seconds")
        yield* eventually(
          "interrupted at the next renewal",
          Effect.sync(() => interrupted)
        )
        yield* Fiber.interrupt(slow)
        yield* TestClock.adjust("1 minute")
        expect(finished).toBe(false)
        const after = yield* info("f9", "g")
        expect(after.pending).toBe(1)
        expect(after.consumers.find((c) => c.name === "thief")?.pending).toBe(1)
      }).pipe(Effect.provide(env))
  )

  it.effect(
    "after a handler interrupted for an entry another member took, the member goes on with new entries",
    () =>
      Effect.gen(function* () {
        yield* fill("f9b", 1)
        const handled: Array<string> = []
        let interrupted = false
        let first = true
        yield* Effect.fork(
          EventConsumer.consume({
            stream: "f9b",
            group: "g",
            consumer: "slow",
            from: "0",
            // The first entry's handler never ends; the others are done at once.
            handler: (m) =>
              Effect.suspend(() => {
                if (!first) return Effect.sync(() => void handled.push(m.streamId))
                first = false
                return Effect.onInterrupt(Effect.never, () =>
                  Effect.sync(() => {
                    interrupted = true
                  })
                )
              })
          })
        )
        yield* quiet
        const groups = yield* GroupBackend.GroupBackend
        yield* groups.claim("f9b", "g", "thief", { minIdleMillis: 0, start: "0-0", count: 10 })
        yield* TestClock.adjust("10 seconds")
        yield* eventually(
          "interrupted at the next renewal",
          Effect.sync(() => interrupted)
        )
        yield* fill("f9b", 2)
        yield* TestClock.adjust("5 seconds")
        yield* eventually(
          "the new entries handled and acknowledged",
          Effect.map(
            info("f9b", "g"),
            (i) => handled.length === 2 && i.consumers.find((c) => c.name === "slow")?.pending === 0
          )
        )
      }).pipe(Effect.provide(env))
  )

  it.effect(
    "an entry its own member's claim scan takes back (renewals failing) is never handled twice at once, nor after its ack",
    () =>
      Effect.gen(function* () {
        yield* fill("f9c", 1)
        // Renewals fail: the lease lapses, and the member's own claim scans (every second) find its
        // entry idle for minIdle, both while it waits for its retry and while its ack is on its way.
        const unavailable = new StreamBackend.StreamBackendError({ reason: "Unavailable", message: "down" })
        const rec = yield* recording((op, run) =>
          op === "renew"
            ? Effect.fail(unavailable)
            : op === "ack"
              ? Effect.zipRight(Effect.sleep("5 seconds"), run)
              : run
        )
        const deliveries: Array<number> = []
        let afterSuccess = 0
        let succeeded = false
        yield* Effect.fork(
          rec.consumer.consume({
            stream: "f9c",
            group: "g",
            consumer: "m",
            from: "0",
            minIdle: Duration.seconds(2),
            // Room beside the entry waiting for its retry: the member goes on claiming meanwhile.
            concurrency: 2,
            retrySchedule: Schedule.exponential(
              Duration.seconds(4),
              1
            ) as Schedule.Schedule<Duration.Duration>,
            handler: (m) =>
              Effect.suspend(() => {
                const delivery = m._tag === "Gap" ? 0 : m.deliveryCount
                deliveries.push(delivery)
                if (succeeded) afterSuccess++
                if (delivery === 1) return Effect.fail("first delivery fails")
                succeeded = true
                return Effect.void
              })
          })
        )
        for (let i = 0; i < 20; i++) {
          yield* quiet
          yield* TestClock.adjust("1 second")
        }
        yield* eventually(
          "acknowledged",
          Effect.map(pendingOf("f9c", "g"), (n) => n === 0)
        )
        // The claim scans at 2 s and 3 s took it back while it waited (deliveries 2 and 3 on the
        // server), and those after its success while its ack was on its way: only the retry at 4 s
        // handed it to the handler again.
        expect(rec.count("claim")).toBeGreaterThan(5)
        expect(deliveries).toEqual([1, 4])
        expect(afterSuccess).toBe(0)
      }).pipe(Effect.provide(env))
  )

  it.effect("a dead member's entry is claimed once idle for minIdle, not before", () =>
    Effect.gen(function* () {
      yield* fill("f10", 1)
      const handledBy: Array<string> = []
      const dead = yield* Effect.fork(
        EventConsumer.consume({
          stream: "f10",
          group: "g",
          consumer: "dead",
          from: "0",
          drainTimeout: Duration.zero,
          handler: () =>
            Effect.zipRight(
              Effect.sync(() => void handledBy.push("dead")),
              Effect.never
            )
        })
      )
      yield* eventually(
        "taken",
        Effect.sync(() => handledBy.length === 1)
      )
      yield* Fiber.interrupt(dead)
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "f10",
          group: "g",
          consumer: "alive",
          minIdle: "20 seconds",
          handler: (m) =>
            Effect.sync(() => void handledBy.push(`alive#${m._tag === "Gap" ? 0 : m.deliveryCount}`))
        })
      )
      yield* TestClock.adjust("19999 millis")
      yield* quiet
      expect(handledBy).toEqual(["dead"])
      yield* TestClock.adjust("1 millis")
      yield* eventually(
        "claimed and handled",
        Effect.map(pendingOf("f10", "g"), (n) => n === 0)
      )
      expect(handledBy).toEqual(["dead", "alive#2"])
    }).pipe(Effect.provide(env))
  )

  it.effect("an entry whose XACK is slow stays renewed until it is answered: no other member takes it", () =>
    Effect.gen(function* () {
      yield* fill("f11", 1)
      const slowAck = yield* gate
      const rec = yield* recording((op, run) => (op === "ack" ? Effect.zipRight(slowAck.wait, run) : run))
      const handledBy: Array<string> = []
      yield* Effect.fork(
        rec.consumer.consume({
          stream: "f11",
          group: "g",
          consumer: "a",
          from: "0",
          handler: () => Effect.sync(() => void handledBy.push("a"))
        })
      )
      yield* eventually(
        "handled, its XACK on its way",
        Effect.sync(() => rec.count("ack") === 1)
      )
      yield* Effect.fork(
        EventConsumer.consume({
          stream: "f11",
          group: "g",
          consumer: "b",
          handler: () => Effect.sync(() => void handledBy.push("b"))
        })
      )
      // Two minutes, four times minIdle, with the XACK unanswered.
      for (let i = 0; i < 120; i++) yield* TestClock.adjust("1 second")
      expect(handledBy).toEqual(["a"])
      yield* slowAck.open
      yield* eventually(
        "acknowledged",
        Effect.map(pendingOf("f11", "g"), (n) => n === 0)
      )
      expect(handledBy).toEqual(["a"])
    }).pipe(Effect.provide(env))
  )
})
