/**
 * The dashboard's feed of a partitioned stream over a real redis-server: it reads every partition
 * key, each message's `id:` is the feed's position over all of them (`FeedPosition`), and a
 * reconnect with it (`Last-Event-ID`, or `from` as the page sends it) resumes each partition right
 * after its own last entry, neither replaying nor skipping; a `$` feed names every partition from
 * its first message. A position that is not one is answered 400.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { describe, expect, it, layer } from "@effect/vitest"
import { Partitions } from "@maf/events"
import { RedisStreamBackend } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Dashboard from "../src/Dashboard.js"
import * as FeedPosition from "../src/FeedPosition.js"
import * as Sse from "./helpers/sse.js"

const stream = "test:dashboard-parts"
const keys = Partitions.keys(stream, 3)

describe("FeedPosition", () => {
  it("encodes the partitions that have a position, by index, and reads them back", () => {
    const positions = { [keys[0]!]: "5-1", [keys[2]!]: "0" }
    const text = FeedPosition.encode(keys, positions)
    expect(text).toBe("0:5-1,2:0")
    expect(FeedPosition.isPosition(text)).toBe(true)
    expect(FeedPosition.decode(keys, text)).toEqual(positions)
    for (const start of ["$", "0", "1715680953123-0"]) expect(FeedPosition.isPosition(start)).toBe(false)
  })

  it("a position that is not one says what is wrong", () => {
    expect(FeedPosition.decode(keys, "3:1-0")).toBe('a position names partition "3", not one of 0 to 2')
    expect(FeedPosition.decode(keys, "x:1-0")).toBe('a position names partition "x", not one of 0 to 2')
    expect(FeedPosition.decode(keys, "1:1-0,1:2-0")).toBe("a position names partition 1 twice")
    expect(FeedPosition.decode(keys, "1:last")).toBe(
      'a position of partition 1 must be 0 or an entry id like 1715680953123-0, got "last"'
    )
  })
})

const dashboard = Layer.unwrapEffect(
  Effect.map(RedisTestServer.RedisTestServer, (server) =>
    Dashboard.layer({ stream, partitions: 3, source: "test", port: 0, read: { block: "200 millis" } }).pipe(
      Layer.provide(RedisStreamBackend.layer({ url: server.url }))
    )
  )
)

const base = Effect.map(HttpServer.HttpServer, (server) => Dashboard.urlOf(server.address))

type Server = RedisTestServer.RedisTestServer["Type"]

/** An event on partition `p`'s key, its payload `{ p, i }`. */
const xadd = (server: Server, p: number, i: number) =>
  Effect.map(
    server.command(
      "XADD",
      keys[p]!,
      "*",
      "data",
      JSON.stringify({
        schema_version: "1",
        kind: "agent.signal",
        arena: `arena-${p}`,
        ts: "2026-05-14T11:22:33.123456+00:00",
        payload: { p, i }
      })
    ),
    String
  )

const payloadOf = (m: Sse.Message) => JSON.parse(m.data).payload as { p: number; i: number }

layer(Layer.provideMerge(dashboard, RedisTestServer.layer()), { excludeTestServices: true })(
  "the dashboard's feed of a partitioned stream over a real redis-server",
  (it) => {
    it.scoped("reads every partition; a reconnect with the last id resumes each after its own entry", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const url = yield* base
        const ids: Record<string, string> = {}
        for (let i = 0; i < 2; i++) for (let p = 0; p < 3; p++) ids[`${p}/${i}`] = yield* xadd(server, p, i)

        const all = yield* Sse.open(`${url}events?from=0`)
        expect(all.status).toBe(200)
        const first = yield* all.take(6)
        // Every partition's entries, each partition in its order.
        for (let p = 0; p < 3; p++)
          expect(first.map(payloadOf).filter((e) => e.p === p)).toEqual([
            { p, i: 0 },
            { p, i: 1 }
          ])
        // Each id is the feed's position: the message's entry for its partition, the others as before.
        let positions: Partitions.Positions = Object.fromEntries(keys.map((k) => [k, "0"]))
        for (const m of first) {
          const { p, i } = payloadOf(m)
          positions = { ...positions, [keys[p]!]: ids[`${p}/${i}`]! }
          expect(FeedPosition.decode(keys, m.id!)).toEqual(positions)
        }
        yield* all.close

        // Resumed after the third message: what each partition had not yet sent, nothing twice.
        const resumed = yield* Sse.open(`${url}events?from=0`, { "last-event-id": first[2]!.id! })
        const rest = yield* resumed.take(3)
        expect(rest.map((m) => JSON.stringify(payloadOf(m))).sort()).toEqual(
          first
            .slice(3)
            .map((m) => JSON.stringify(payloadOf(m)))
            .sort()
        )
        // What comes next, on any partition, follows.
        yield* xadd(server, 1, 2)
        expect((yield* resumed.take(1)).map(payloadOf)).toEqual([{ p: 1, i: 2 }])
        yield* resumed.close

        // The page's reload sends the position as `from`.
        const reloaded = yield* Sse.open(`${url}events?from=${encodeURIComponent(first[5]!.id!)}`)
        expect((yield* reloaded.take(1)).map(payloadOf)).toEqual([{ p: 1, i: 2 }])
      })
    )

    it.scoped("a $ feed names every partition from its first message; a bad position is 400", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const url = yield* base
        const before = yield* Effect.forEach(keys, (key) =>
          Effect.map(server.command("XREVRANGE", key, "+", "-", "COUNT", 1), (reply) =>
            String((reply as ReadonlyArray<[string, unknown]>)[0]?.[0] ?? "0-0")
          )
        )
        const live = yield* Sse.open(`${url}events`)
        const id = yield* xadd(server, 2, 9)
        const [m] = yield* live.take(1)
        expect(payloadOf(m!)).toEqual({ p: 2, i: 9 })
        expect(FeedPosition.decode(keys, m!.id!)).toEqual({
          [keys[0]!]: before[0],
          [keys[1]!]: before[1],
          [keys[2]!]: id
        })

        for (const [from, reason] of [
          ["5:1-0", 'a position names partition "5", not one of 0 to 2'],
          ["0:later", 'a position of partition 0 must be 0 or an entry id like 1715680953123-0, got "later"'],
          ["latest", 'from must be $, 0 or an entry id like 1715680953123-0, got "latest"']
        ] as const) {
          const response = yield* Effect.promise(() => fetch(`${url}events?from=${encodeURIComponent(from)}`))
          expect(response.status).toBe(400)
          expect(yield* Effect.promise(() => response.text())).toBe(`${reason}\n`)
        }
      })
    )
  }
)
