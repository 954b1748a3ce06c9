import { describe, expect, it } from "@effect/vitest"
import { EventBus, MemoryStreamBackend, Partitions, StreamBackend, WireCodec } from "@maf/events"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Feed from "../src/Feed.js"
import * as Format from "../src/Format.js"

const stream = "test:feed"
const collect = (options: Omit<Feed.Options, "stream">, n: number) =>
  Feed.stream({ stream, ...options }).pipe(
    Stream.take(n),
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray)
  )

describe("Feed", () => {
  it.effect("keeps the entry's wire body for known events, exactly as written", () =>
    Effect.gen(function* () {
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      const bus = yield* EventBus.EventBus
      yield* memory.appendFields(stream, [
        ["data", JSON.stringify({ ts: "2026-05-14T11:22:33Z", kind: "llm.call", newer_key: 1 })],
        ["data", JSON.stringify({ kind: "trade.fill", ts: "2026-05-14T11:22:33Z" })],
        ["data", "{oops"]
      ])
      yield* bus.publish({ kind: "agent.start", arena: "a", payload: { n: 1 } })
      const items = yield* collect({ from: "0" }, 4)
      const lines = items.map((item) => JSON.parse(Format.jsonLine(item.result, item.body)))
      expect(Object.keys(lines[0])).toEqual(["stream_id", "variant", "ts", "kind", "newer_key"])
      expect(lines[1]).toMatchObject({ variant: "unknown", kind: "trade.fill" })
      expect(lines[2]).toMatchObject({ variant: "malformed", reason: "json_decode", raw: "{oops" })
      expect(Object.keys(lines[3])).toEqual(["stream_id", "variant", ...WireCodec.bodyKeys])
    }).pipe(Effect.provide(EventBus.layerMemory({ stream })))
  )

  it.effect("on a partitioned stream, each entry keeps its own body, though two partitions share an id", () =>
    Effect.gen(function* () {
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      const keys = Partitions.keys(stream, 2)
      const body = (arena: string) =>
        JSON.stringify({ kind: "llm.call", ts: "2026-05-14T11:22:33Z", arena, payload: { arena } })
      const [first] = yield* memory.appendFields(keys[0]!, [["data", body("zero")]])
      const [second] = yield* memory.appendFields(keys[1]!, [["data", body("one")]])
      // The clock stands still: both keys gave their entry the same id.
      expect(second).toBe(first)
      const items = yield* collect({ from: "0", read: { partitions: 2 } }, 2)
      for (const item of items) {
        const line = JSON.parse(Format.jsonLine(item.result, item.body))
        const arena =
          item.result._tag === "Gap" ? undefined : item.result.partition === keys[0] ? "zero" : "one"
        expect(line.arena).toBe(arena)
      }
    }).pipe(Effect.provide(MemoryStreamBackend.layer))
  )

  it.effect("filters by kind globs and arena; malformed entries and gaps always pass", () =>
    Effect.gen(function* () {
      const memory = yield* MemoryStreamBackend.MemoryStreamBackend
      const bus = yield* EventBus.EventBus
      yield* bus.publish({ kind: "agent.start", arena: "a" })
      yield* memory.trim(stream, 0)
      for (const [kind, arena] of [
        ["llm.call", "a"],
        ["llm.call", "b"],
        ["agent.error", "a"],
        ["agent.start", "a"]
      ] as const) {
        yield* bus.publish({ kind, arena })
      }
      yield* memory.appendFields(stream, [["data", "{oops"]])
      yield* memory.appendFields(stream, [
        ["data", JSON.stringify({ kind: "llm.new", ts: "2026-05-14T11:22:33Z", arena: "a" })]
      ])
      const items = yield* collect({ from: "0", kinds: ["llm.*", "*.error"], arena: "a" }, 5)
      expect(
        items.map(({ result }) => (result._tag === "KnownEvent" ? result.event.kind : result._tag))
      ).toEqual(["Gap", "llm.call", "agent.error", "Malformed", "UnknownKind"])
    }).pipe(Effect.provide(EventBus.layerMemory({ stream })))
  )

  it("checks start positions", () => {
    expect(Feed.checkFrom("$")).toBeUndefined()
    expect(Feed.checkFrom("0")).toBeUndefined()
    expect(Feed.checkFrom("1715680953123-0")).toBeUndefined()
    expect(Feed.checkFrom("1715680953123")).toBeUndefined()
    expect(Feed.checkFrom("yesterday")).toContain("must be $, 0 or an entry id")
    expect(StreamBackend.parseEntryId("1-0")).toBeDefined()
  })
})
