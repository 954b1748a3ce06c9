/**
 * Testing code that publishes: swap in `RecordingEventBus.layer` for the real bus and assert on what
 * was published. These tests double as the documentation's examples (README.md quotes them).
 */
import { describe, expect, it } from "@effect/vitest"
import { type Event, EventBus, PublishResult } from "@maf/events"
import { RecordingEventBus } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"

// The code under test: it publishes through whatever EventBus the program is given.
const runPhase = (arena: string, phase: string, signals: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const bus = yield* EventBus.EventBus
    yield* bus.publish({ kind: "phase.start", arena, phase })
    for (const signal of signals) {
      yield* bus.publishNowait({ kind: "agent.signal", arena, phase, payload: { signal } })
    }
    yield* bus.publish({ kind: "phase.complete", arena, phase, payload: { signals: signals.length } })
  })

describe("RecordingEventBus", () => {
  it.effect("records what the code publishes: kinds in order, by kind, by arena", () =>
    Effect.gen(function* () {
      yield* runPhase("trading", "analysis", ["buy", "hold"])
      yield* runPhase("research", "review", [])

      expect(yield* RecordingEventBus.kinds).toEqual([
        "phase.start",
        "agent.signal",
        "agent.signal",
        "phase.complete",
        "phase.start",
        "phase.complete"
      ])
      const signals = yield* RecordingEventBus.byKind("agent.signal")
      expect(signals.map((event) => event.payload)).toEqual([{ signal: "buy" }, { signal: "hold" }])
      const research = yield* RecordingEventBus.byArena("research")
      expect(research.map((event) => event.kind)).toEqual(["phase.start", "phase.complete"])
    }).pipe(Effect.provide(RecordingEventBus.layer))
  )

  it.effect("under TestClock and a seeded Random, recorded events are exact values", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 4, 14, 11, 22, 33, 123))
      yield* runPhase("trading", "analysis", []).pipe(Effect.withRandom(Random.make("seed")))

      const [start, complete] = yield* RecordingEventBus.all
      expect(start).toEqual({
        kind: "phase.start",
        arena: "trading",
        arenaId: "",
        phase: "analysis",
        ts: "2026-05-14T11:22:33.123000+00:00",
        correlationId: "80e33a91683342708c107dbe5c843262",
        payload: {}
      })
      expect(complete).toMatchObject({ kind: "phase.complete", payload: { signals: 0 } })
    }).pipe(Effect.provide(RecordingEventBus.layer))
  )

  it.effect("publish answers Written with Redis-like ids; records say how each event went out", () =>
    Effect.gen(function* () {
      const first = yield* EventBus.publish({ kind: "arena.start", arena: "trading" })
      const taken = yield* EventBus.publishNowait({ kind: "arena.complete", arena: "trading" })
      yield* TestClock.adjust("5 millis")
      const later = yield* EventBus.publish({ kind: "arena.start", arena: "next" })

      expect(first).toEqual(PublishResult.Written({ id: "0-0" }))
      expect(taken).toBe(true)
      expect(later).toEqual(PublishResult.Written({ id: "5-0" }))
      const records = yield* RecordingEventBus.records
      expect(records.map(({ id, via }) => [id, via])).toEqual([
        ["0-0", "publish"],
        ["0-1", "publishNowait"],
        ["5-0", "publish"]
      ])
      // The text the event would be written as, in the wire's shape.
      expect(JSON.parse(records[0]!.wire)).toMatchObject({
        schema_version: "1",
        kind: "arena.start",
        arena_id: ""
      })
    }).pipe(Effect.provide(RecordingEventBus.layer))
  )

  it.effect("typed payloads: state the payload type when reading by kind", () =>
    Effect.gen(function* () {
      yield* EventBus.publish({ kind: "trade.fill", arena: "trading", payload: { symbol: "AAPL", qty: 10 } })
      const fills = yield* RecordingEventBus.byKind<"trade.fill", { symbol: string; qty: number }>(
        "trade.fill"
      )
      const quantity = fills.reduce((sum, fill) => sum + fill.payload.qty, 0)
      expect(quantity).toBe(10)
    }).pipe(Effect.provide(RecordingEventBus.layer))
  )

  it.effect("EventBus.layerNull: for code whose events the test does not care about", () =>
    Effect.gen(function* () {
      yield* runPhase("trading", "analysis", ["buy"])
      const result = yield* EventBus.publish({ kind: "arena.start" })
      expect(result).toMatchObject({ _tag: "NotWritten", reason: "Disabled" })
    }).pipe(Effect.provide(EventBus.layerNull))
  )
})

// Shared by the tests of a block: clear it between them.
describe("RecordingEventBus shared with it.layer", () => {
  it.layer(RecordingEventBus.layer)((it) => {
    it.effect("first test", () =>
      Effect.gen(function* () {
        yield* EventBus.publish({ kind: "arena.start" })
        expect(yield* RecordingEventBus.kinds).toEqual(["arena.start"])
        yield* RecordingEventBus.clear
      })
    )

    it.effect("second test starts clean", () =>
      Effect.gen(function* () {
        yield* EventBus.publish({ kind: "arena.error", payload: { error: "boom" } })
        const events: ReadonlyArray<Event.Any> = yield* RecordingEventBus.all
        expect(events).toHaveLength(1)
        expect(events[0]).toMatchObject({ kind: "arena.error", payload: { error: "boom" } })
      })
    )
  })
})
