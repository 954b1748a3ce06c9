/**
 * A member's workers (`internal/consumerWorkers.ts`), driven by hand: `concurrency` workers settle
 * what is held, one entry each at a time, in the order read; an entry is held once; the loop may
 * read again when all it read has started and something is free, or half the room is free; entries
 * settled at once are let go in the worker's step, which yields after 128 of them; a wait ends when its condition
 * holds and leaves nothing behind when interrupted; a worker interrupted (its entry lost) lets its
 * entry go and is replaced, unless the member is closing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import type { GroupEntry } from "../src/GroupBackend.js"
import { type Held, Workers } from "../src/internal/consumerWorkers.js"

const entry = (id: string): GroupEntry => ({ id, fields: ["data", "{}"], deliveryCount: 1 })
const entries = (...ids: ReadonlyArray<string>) => ids.map(entry)

/** Lets the workers run until they wait again. */
const settleDown = Effect.repeatN(Effect.yieldNow(), 20)

/**
 * Workers whose every settle waits for a gate of its own (opened with `finish`); the ids started,
 * in order, and how many settle at once at most.
 */
const gatedWorkers = (concurrency: number) =>
  Effect.gen(function* () {
    const started: Array<string> = []
    const gates = new Map<string, Deferred.Deferred<void>>()
    let inFlight = 0
    let maxInFlight = 0
    const workers = yield* Workers.make(concurrency, (state: Held) =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        gates.set(state.entry.id, gate)
        started.push(state.entry.id)
        maxInFlight = Math.max(maxInFlight, ++inFlight)
        yield* Deferred.await(gate).pipe(Effect.ensuring(Effect.sync(() => inFlight--)))
      })
    )
    /** Ends the settling of `id`, and lets the workers go on. */
    const finish = (id: string) => Effect.zipRight(Deferred.succeed(gates.get(id)!, undefined), settleDown)
    return { workers, started, finish, inFlight: () => inFlight, maxInFlight: () => maxInFlight }
  })

/** The private lists of a `Workers` (what waits), read to check that nothing is left behind. */
const waiting = (workers: Workers<never>) => ({
  waiters: (workers as unknown as { waiters: Array<unknown> }).waiters.length,
  idle: (workers as unknown as { idle: Array<unknown> }).idle.length
})

describe("a member's workers", () => {
  it.effect("exactly `concurrency` entries settle at once, started in the order read", () =>
    Effect.gen(function* () {
      const { workers, started, finish, inFlight, maxInFlight } = yield* gatedWorkers(2)
      yield* workers.start
      workers.hold(entries("1-0", "2-0", "3-0", "4-0", "5-0"))
      yield* settleDown
      expect(started).toEqual(["1-0", "2-0"])
      expect(inFlight()).toBe(2)
      yield* finish("2-0")
      expect(started).toEqual(["1-0", "2-0", "3-0"])
      yield* finish("1-0")
      yield* finish("3-0")
      yield* finish("4-0")
      yield* finish("5-0")
      expect(started).toEqual(["1-0", "2-0", "3-0", "4-0", "5-0"])
      expect(maxInFlight()).toBe(2)
      expect(workers.held.size).toBe(0)
      yield* Scope.close(workers.scope, Exit.void)
    })
  )

  it.effect("entries held while every worker is busy wait for one (no idle worker to wake)", () =>
    Effect.gen(function* () {
      const { workers, started, finish } = yield* gatedWorkers(1)
      yield* workers.start
      workers.hold(entries("1-0"))
      yield* settleDown
      workers.hold(entries("2-0"))
      yield* settleDown
      expect(started).toEqual(["1-0"])
      yield* finish("1-0")
      expect(started).toEqual(["1-0", "2-0"])
      yield* Scope.close(workers.scope, Exit.void)
    })
  )

  it.effect("an entry already held is not held twice: one settling of it, not two", () =>
    Effect.gen(function* () {
      const { workers, started, finish } = yield* gatedWorkers(3)
      yield* workers.start
      workers.hold(entries("1-0"))
      yield* settleDown
      workers.hold(entries("1-0", "2-0"))
      yield* settleDown
      expect(started).toEqual(["1-0", "2-0"])
      expect([...workers.held.keys()]).toEqual(["1-0", "2-0"])
      yield* finish("1-0")
      yield* finish("2-0")
      expect(started).toEqual(["1-0", "2-0"])
      yield* Scope.close(workers.scope, Exit.void)
    })
  )

  it.effect("how many more it may hold is `concurrency` less what it holds", () =>
    Effect.gen(function* () {
      const { workers, finish } = yield* gatedWorkers(3)
      expect(workers.free).toBe(3)
      yield* workers.start
      workers.hold(entries("1-0", "2-0"))
      yield* settleDown
      expect(workers.free).toBe(1)
      yield* finish("1-0")
      expect(workers.free).toBe(2)
      yield* Scope.close(workers.scope, Exit.void)
    })
  )

  it.effect("the loop may read when all it read has started and something is free", () =>
    Effect.gen(function* () {
      const { workers, finish } = yield* gatedWorkers(4)
      expect(workers.canRead()).toBe(true)
      // Three of four read, not yet started (the workers are not running): no reading.
      workers.hold(entries("1-0", "2-0", "3-0"))
      expect(workers.canRead()).toBe(false)
      const reader = yield* Effect.fork(workers.until(workers.canRead))
      yield* settleDown
      expect(reader.unsafePoll()).toBeNull()
      // Started, three of four held: reading again, though nothing was let go.
      yield* workers.start
      yield* settleDown
      expect(workers.canRead()).toBe(true)
      expect(reader.unsafePoll()).not.toBeNull()
      // All held: no reading until one is let go.
      workers.hold(entries("4-0"))
      yield* settleDown
      expect(workers.canRead()).toBe(false)
      const again = yield* Effect.fork(workers.until(workers.canRead))
      yield* settleDown
      expect(again.unsafePoll()).toBeNull()
      yield* finish("2-0")
      expect(again.unsafePoll()).not.toBeNull()
      yield* Scope.close(workers.scope, Exit.void)
    })
  )

  it.effect("the loop may read when half the room is free, though what it read has not all started", () =>
    Effect.gen(function* () {
      const { workers } = yield* gatedWorkers(4)
      // Not started (the workers are not running): two of four held is half free.
      workers.hold(entries("1-0", "2-0"))
      expect(workers.canRead()).toBe(true)
      workers.hold(entries("3-0"))
      expect(workers.canRead()).toBe(false)
      yield* Scope.close(workers.scope, Exit.void)
    })
  )

  it.effect(
    "entries settled at once are let go in the worker's own step, in order; a worker yields after 128 of them",
    () =>
      Effect.gen(function* () {
        const settled: Array<string> = []
        const workers = yield* Workers.make<never>(2, (state: Held) => {
          settled.push(state.entry.id)
          return undefined
        })
        yield* workers.start
        yield* settleDown
        const ids = Array.from({ length: 300 }, (_, i) => `${i + 1}-0`)
        workers.hold(entries(...ids))
        // Forked after the worker was woken: it runs when the worker first yields.
        let seenAtFirstYield = -1
        yield* Effect.fork(Effect.sync(() => (seenAtFirstYield = settled.length)))
        yield* settleDown
        expect(seenAtFirstYield).toBe(128)
        expect(settled).toEqual(ids)
        expect(workers.held.size).toBe(0)
        yield* Scope.close(workers.scope, Exit.void)
      })
  )

  it.effect("a wait ends when its own condition holds; the others go on waiting", () =>
    Effect.gen(function* () {
      const { workers, finish } = yield* gatedWorkers(3)
      yield* workers.start
      workers.hold(entries("1-0", "2-0"))
      yield* settleDown
      const oneLeft = yield* Effect.fork(workers.until(() => workers.held.size <= 1))
      const noneLeft = yield* Effect.fork(workers.until(() => workers.held.size === 0))
      yield* settleDown
      expect([oneLeft.unsafePoll(), noneLeft.unsafePoll()]).toEqual([null, null])
      yield* finish("1-0")
      expect(oneLeft.unsafePoll()).not.toBeNull()
      expect(noneLeft.unsafePoll()).toBeNull()
      expect(waiting(workers).waiters).toBe(1)
      yield* finish("2-0")
      expect(noneLeft.unsafePoll()).not.toBeNull()
      expect(waiting(workers).waiters).toBe(0)
      yield* Scope.close(workers.scope, Exit.void)
    })
  )

  it.effect("a wait that holds already does not wait; an interrupted one leaves nothing behind", () =>
    Effect.gen(function* () {
      const { workers, finish } = yield* gatedWorkers(2)
      yield* workers.until(() => true)
      expect(waiting(workers).waiters).toBe(0)
      yield* workers.start
      workers.hold(entries("1-0"))
      yield* settleDown
      const first = yield* Effect.fork(workers.until(() => workers.held.size === 0))
      const second = yield* Effect.fork(workers.until(() => workers.held.size === 0))
      yield* settleDown
      expect(waiting(workers).waiters).toBe(2)
      yield* Fiber.interrupt(first)
      expect(waiting(workers).waiters).toBe(1)
      yield* finish("1-0")
      expect(second.unsafePoll()).not.toBeNull()
      expect(waiting(workers).waiters).toBe(0)
      yield* Scope.close(workers.scope, Exit.void)
    })
  )

  it.effect("an entry lost before it started is let go, never settled", () =>
    Effect.gen(function* () {
      const { workers, started, finish } = yield* gatedWorkers(2)
      workers.hold(entries("1-0", "2-0"))
      workers.held.get("1-0")!.lost = true
      expect(workers.holds("1-0")).toBe(false)
      expect(workers.holds("2-0")).toBe(true)
      yield* workers.start
      yield* settleDown
      expect(started).toEqual(["2-0"])
      expect([...workers.held.keys()]).toEqual(["2-0"])
      yield* finish("2-0")
      expect(workers.held.size).toBe(0)
      yield* Scope.close(workers.scope, Exit.void)
    })
  )

  it.effect("a worker interrupted (its entry lost) lets the entry go and another takes its place", () =>
    Effect.gen(function* () {
      const { workers, started, finish } = yield* gatedWorkers(1)
      yield* workers.start
      workers.hold(entries("1-0"))
      yield* settleDown
      const first = workers.held.get("1-0")!
      expect(first.fiber).toBeDefined()
      // Another member took it; the member holds it again (read anew) before the worker is stopped.
      first.lost = true
      workers.hold(entries("1-0", "2-0"))
      const second = workers.held.get("1-0")!
      expect(second).not.toBe(first)
      yield* Fiber.interrupt(first.fiber!)
      yield* settleDown
      // The old handling's end does not let the new one go; the new worker settles both, in order.
      expect(first.fiber).toBeUndefined()
      expect(workers.held.get("1-0")).toBe(second)
      expect(started).toEqual(["1-0", "1-0"])
      yield* finish("1-0")
      expect(started).toEqual(["1-0", "1-0", "2-0"])
      yield* finish("2-0")
      expect(workers.held.size).toBe(0)
      yield* Scope.close(workers.scope, Exit.void)
    })
  )

  it.effect("while closing, an interrupted worker is not replaced", () =>
    Effect.gen(function* () {
      const { workers, started } = yield* gatedWorkers(1)
      yield* workers.start
      workers.hold(entries("1-0", "2-0"))
      yield* settleDown
      workers.closing = true
      yield* Fiber.interrupt(workers.held.get("1-0")!.fiber!)
      yield* settleDown
      expect(started).toEqual(["1-0"])
      expect([...workers.held.keys()]).toEqual(["2-0"])
      yield* Scope.close(workers.scope, Exit.void)
    })
  )

  it.effect("closing the workers' scope stops the idle ones and leaves no wake-up behind", () =>
    Effect.gen(function* () {
      const { workers, started } = yield* gatedWorkers(3)
      yield* workers.start
      yield* settleDown
      expect(waiting(workers).idle).toBe(3)
      workers.closing = true
      yield* Scope.close(workers.scope, Exit.void)
      expect(waiting(workers).idle).toBe(0)
      workers.hold(entries("1-0"))
      yield* settleDown
      expect(started).toEqual([])
    })
  )
})
