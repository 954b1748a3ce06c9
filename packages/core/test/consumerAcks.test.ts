/**
 * A member's acknowledgements (`internal/consumerAcks.ts`), driven by hand: an id offered is sent at
 * once when no `XACK` is on its way; what is offered meanwhile goes in the next, as one call; what
 * is queued or on its way is known as unacknowledged (the lease renews it) until its call ends,
 * whether the call succeeded or not.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Acks from "../src/internal/consumerAcks.js"

/** Acks whose every `send` waits for its gate; the calls made, in order. */
const gatedAcks = Effect.gen(function* () {
  const calls: Array<ReadonlyArray<string>> = []
  const gates: Array<Deferred.Deferred<void>> = []
  const acks = yield* Acks.make((ids) =>
    Effect.flatMap(Deferred.make<void>(), (gate) => {
      calls.push(ids)
      gates.push(gate)
      return Deferred.await(gate)
    })
  )
  const sender = yield* Effect.fork(acks.run)
  /** Lets the sender run until it waits again. */
  const settle = Effect.repeatN(Effect.yieldNow(), 20)
  return { acks, calls, gates, sender, settle }
})

/** Acks whose every `send` records its ids, then ends as `then` does. */
const recordingAcks = (then: Effect.Effect<void>) =>
  Effect.gen(function* () {
    const calls: Array<ReadonlyArray<string>> = []
    const acks = yield* Acks.make((ids) =>
      Effect.zipRight(
        Effect.sync(() => {
          calls.push(ids)
        }),
        then
      )
    )
    return { acks, calls }
  })

describe("a member's acknowledgements", () => {
  it.effect("an id is sent at once; those offered meanwhile go in the next call, together", () =>
    Effect.gen(function* () {
      const { acks, calls, gates, sender, settle } = yield* gatedAcks
      expect(acks.unacknowledged()).toEqual([])
      acks.offer("1-0")
      yield* settle
      expect(calls).toEqual([["1-0"]])
      acks.offer("2-0")
      acks.offer("3-0")
      yield* settle
      // On its way and queued: both unacknowledged, the one on its way first.
      expect(calls).toEqual([["1-0"]])
      expect(acks.unacknowledged()).toEqual(["1-0", "2-0", "3-0"])
      expect([acks.has("1-0"), acks.has("3-0"), acks.has("4-0")]).toEqual([true, true, false])
      yield* Deferred.succeed(gates[0]!, undefined)
      yield* settle
      expect(calls).toEqual([["1-0"], ["2-0", "3-0"]])
      expect(acks.unacknowledged()).toEqual(["2-0", "3-0"])
      expect(acks.has("1-0")).toBe(false)
      yield* Deferred.succeed(gates[1]!, undefined)
      yield* settle
      expect(acks.unacknowledged()).toEqual([])
      expect(acks.has("2-0")).toBe(false)
      // Nothing queued: no call.
      expect(calls).toHaveLength(2)
      yield* Fiber.interrupt(sender)
    })
  )

  it.effect("a call that fails (its ids stay pending on the server) no longer holds them here", () =>
    Effect.gen(function* () {
      const { acks, calls } = yield* recordingAcks(Effect.interrupt)
      acks.offer("1-0")
      acks.offer("2-0")
      yield* Effect.exit(acks.flush)
      expect(calls).toEqual([["1-0", "2-0"]])
      expect(acks.unacknowledged()).toEqual([])
      expect(acks.has("1-0")).toBe(false)
    })
  )

  it.effect("flush sends what is queued now, nothing when nothing is", () =>
    Effect.gen(function* () {
      const { acks, calls } = yield* recordingAcks(Effect.void)
      yield* acks.flush
      expect(calls).toEqual([])
      acks.offer("5-0")
      acks.offer("6-0")
      yield* acks.flush
      expect(calls).toEqual([["5-0", "6-0"]])
      expect(acks.unacknowledged()).toEqual([])
    })
  )
})
