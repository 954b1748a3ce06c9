/**
 * Testing code that reads events: feed its `EventReader` with exactly the entries the test needs —
 * good events, malformed entries, unknown kinds, gaps. These tests double as the documentation's
 * examples (README.md quotes them).
 */
import { describe, expect, it } from "@effect/vitest"
import { EventCatalog, EventKind, EventReader, ReadResult } from "@maf/events"
import { EventFeed } from "@maf/events-test"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Match from "effect/Match"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

// The code under test: a consumer that keeps a scoreboard of what it reads, and runs until stopped.
interface Scoreboard {
  readonly decisions: number
  readonly unknownKinds: ReadonlyArray<string>
  readonly malformed: ReadonlyArray<ReadResult.MalformedReason>
  readonly lost: number
}

const keepScore = (board: Ref.Ref<Scoreboard>) =>
  EventReader.stream({ from: "0" }).pipe(
    Stream.runForEach((result) =>
      Ref.update(board, (s) =>
        Match.value(result).pipe(
          Match.tagsExhaustive({
            KnownEvent: ({ event }) =>
              event.kind === "decision.emit" ? { ...s, decisions: s.decisions + 1 } : s,
            UnknownKind: ({ kind }) => ({ ...s, unknownKinds: [...s.unknownKinds, kind] }),
            Malformed: ({ reason }) => ({ ...s, malformed: [...s.malformed, reason] }),
            Gap: ({ lost }) => ({ ...s, lost: s.lost + (lost ?? 0) })
          })
        )
      )
    )
  )

describe("EventFeed", () => {
  it.effect("a consumer reads exactly what was fed, bad entries and gaps included", () =>
    Effect.gen(function* () {
      const board = yield* Ref.make<Scoreboard>({ decisions: 0, unknownKinds: [], malformed: [], lost: 0 })
      const consumer = yield* Effect.fork(keepScore(board))
      // Returns once the consumer has asked for more than was fed: it has handled everything.
      yield* EventFeed.consumed
      yield* Fiber.interrupt(consumer)
      expect(yield* Ref.get(board)).toEqual({
        decisions: 2,
        unknownKinds: ["trade.fill"],
        malformed: ["json_decode", "no_data_field", "schema"],
        lost: 5
      })
    }).pipe(
      Effect.provide(
        EventFeed.layer([
          { kind: "decision.emit", arena: "trading", payload: { action: "buy" } },
          EventFeed.data("{not json"),
          EventFeed.raw("other", "x"),
          EventFeed.data(JSON.stringify({ kind: "phase.start", ts: "yesterday" })),
          { kind: "trade.fill", arena: "trading", payload: { qty: 3 } },
          EventFeed.gap(5),
          { kind: "decision.emit", arena: "trading", payload: { action: "sell" } }
        ])
      )
    )
  )

  it.effect("the results are exact: ids, variants, a gap with its count", () =>
    Effect.gen(function* () {
      const results = yield* EventReader.stream({ from: "0" }).pipe(Stream.take(4), Stream.runCollect)
      const [one, two, three] = yield* Effect.flatMap(EventFeed.EventFeed, (feed) => feed.ids)
      expect(Chunk.toReadonlyArray(results)).toMatchObject([
        ReadResult.knownEvent(one!, {
          kind: "arena.start",
          arena: "trading",
          arenaId: "",
          phase: "",
          // TestClock at 0, and the correlation id given.
          ts: "1970-01-01T00:00:00.000000+00:00",
          correlationId: "c0ffee",
          payload: {}
        }),
        { _tag: "Malformed", streamId: two, reason: "json_decode", raw: "{oops", fields: ["data", "{oops"] },
        // The gap sits after the last entry read, and ends at the first entry after it.
        ReadResult.gap(three!, two!, 2),
        { _tag: "KnownEvent", streamId: three, event: { kind: "arena.complete" } }
      ])
    }).pipe(
      Effect.provide(
        EventFeed.layer([
          { kind: "arena.start", arena: "trading", correlationId: "c0ffee" },
          EventFeed.data("{oops"),
          EventFeed.gap(2),
          { kind: "arena.complete", arena: "trading" }
        ])
      )
    )
  )

  it.effect("feeding a consumer that is already reading (a live tail from $)", () =>
    Effect.gen(function* () {
      const kinds = yield* Effect.fork(
        EventReader.stream({ from: "$" }).pipe(
          Stream.take(2),
          Stream.map((result) => (result._tag === "KnownEvent" ? result.event.kind : result._tag)),
          Stream.runCollect
        )
      )
      // Once it waits for what comes after everything fed so far, it is reading: feed it more.
      yield* EventFeed.consumed
      yield* EventFeed.feed({ kind: "agent.start" }, { kind: "agent.complete" })
      expect(Chunk.toReadonlyArray(yield* Fiber.join(kinds))).toEqual(["agent.start", "agent.complete"])
    }).pipe(Effect.provide(EventFeed.layer([{ kind: "arena.start" }])))
  )

  // Kinds of your own, with typed payloads: give the feed (and the reader) the catalog.
  const TradeFill = EventKind.make("trade.fill", Schema.Struct({ symbol: Schema.String, qty: Schema.Number }))
  const catalog = EventCatalog.canonical.pipe(EventCatalog.add(TradeFill))

  it.effect("typed kinds of your own come out typed", () =>
    Effect.gen(function* () {
      const results = yield* EventReader.stream({ from: "0", catalog }).pipe(
        Stream.take(3),
        Stream.runCollect
      )
      const quantities = Chunk.toReadonlyArray(results).flatMap((result) =>
        // Narrowed by kind, the payload is typed: { symbol: string; qty: number }.
        result._tag === "KnownEvent" && result.event.kind === "trade.fill" ? [result.event.payload.qty] : []
      )
      expect(quantities).toEqual([10, 5])
    }).pipe(
      Effect.provide(
        EventFeed.layer(
          [
            TradeFill.make({ arena: "trading", payload: { symbol: "AAPL", qty: 10 } }),
            { kind: "arena.start" },
            TradeFill.make({ arena: "trading", payload: { symbol: "MSFT", qty: 5 } })
          ],
          { catalog }
        )
      )
    )
  )
})
