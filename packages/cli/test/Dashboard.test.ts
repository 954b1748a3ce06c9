import * as HttpServer from "@effect/platform/HttpServer"
import { expect, layer } from "@effect/vitest"
import { RedisStreamBackend } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Dashboard from "../src/Dashboard.js"
import * as Sse from "./helpers/sse.js"

const stream = "test:dashboard"
type Server = RedisTestServer.RedisTestServer["Type"]

const dashboard = Layer.unwrapEffect(
  Effect.map(RedisTestServer.RedisTestServer, (server) =>
    Dashboard.layer({ stream, source: "test", port: 0, read: { block: "200 millis" } }).pipe(
      Layer.provide(RedisStreamBackend.layer({ url: server.url }))
    )
  )
)

const base = Effect.map(HttpServer.HttpServer, (server) => Dashboard.urlOf(server.address))

const xadd = (server: Server, kind: string, arena: string, i: number) =>
  server.command(
    "XADD",
    stream,
    "*",
    "data",
    JSON.stringify({
      schema_version: "1",
      kind,
      arena,
      ts: "2026-05-14T11:22:33.123456+00:00",
      payload: { i }
    })
  )

const blockedReaders = (server: Server) =>
  Effect.map(
    server.command("CLIENT", "LIST"),
    (list) =>
      String(list)
        .split("\n")
        .filter((l) => l.includes("cmd=xread")).length
  )

const untilReaders = (server: Server, n: number) =>
  Effect.flatMap(blockedReaders(server), (count) => (count === n ? Effect.void : Effect.fail(count))).pipe(
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("10 seconds")))
  )

const payloadIndex = (m: Sse.Message) => JSON.parse(m.data).payload?.i

layer(Layer.provideMerge(dashboard, RedisTestServer.layer()), { excludeTestServices: true })(
  "the dashboard's feed over a real redis-server",
  (it) => {
    it.scoped("serves the page and the events as SSE, resumes after Last-Event-ID, filters", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const url = yield* base
        const page = yield* Effect.promise(() => fetch(url))
        expect(page.headers.get("content-type")).toContain("text/html")
        for (const [i, [kind, arena]] of [
          ["llm.call", "a"],
          ["agent.start", "a"],
          ["llm.call", "b"],
          ["llm.error", "a"]
        ].entries()) {
          yield* xadd(server, kind!, arena!, i)
        }

        const all = yield* Sse.open(`${url}events?from=0`)
        expect(all.status).toBe(200)
        const first = yield* all.take(4)
        expect(first.map(payloadIndex)).toEqual([0, 1, 2, 3])
        for (const m of first) expect(m.id).toBe(JSON.parse(m.data).stream_id)
        expect(JSON.parse(first[0]!.data)).toMatchObject({ variant: "event", kind: "llm.call", arena: "a" })

        // EventSource's reconnection: the header wins over the query.
        const resumed = yield* Sse.open(`${url}events?from=0`, { "Last-Event-ID": first[1]!.id! })
        expect((yield* resumed.take(2)).map(payloadIndex)).toEqual([2, 3])

        const filtered = yield* Sse.open(`${url}events?from=0&kind=llm.*&arena=a`)
        expect((yield* filtered.take(2)).map(payloadIndex)).toEqual([0, 3])

        // Live: what comes after the connection.
        const live = yield* Sse.open(`${url}events`)
        yield* untilReaders(server, 4)
        yield* xadd(server, "phase.start", "a", 4)
        expect((yield* live.take(1)).map(payloadIndex)).toEqual([4])
      })
    )

    it.scoped("a gap has no id, so that a reconnection does not skip the entry after it", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const other = "test:dashboard:gap"
        for (let i = 0; i < 3; i++) {
          yield* server.command(
            "XADD",
            other,
            "*",
            "data",
            JSON.stringify({ kind: "agent.signal", ts: "2026-05-14T11:22:33Z", payload: { i } })
          )
        }
        yield* server.command("XTRIM", other, "MAXLEN", "1")
        const gapLayer = Dashboard.layer({
          stream: other,
          source: "test",
          port: 0,
          read: { block: "200 millis" }
        }).pipe(Layer.provide(RedisStreamBackend.layer({ url: server.url })))
        yield* Effect.gen(function* () {
          const feed = yield* Sse.open(`${yield* base}events?from=0`)
          const [gap, next] = yield* feed.take(2)
          expect(JSON.parse(gap!.data)).toMatchObject({ variant: "gap", after: "0-0", lost: 2 })
          expect(gap!.id).toBeUndefined()
          expect(next!.id).toBe(JSON.parse(gap!.data).stream_id)
          expect(payloadIndex(next!)).toBe(2)
        }).pipe(Effect.scoped, Effect.provide(gapLayer))
      })
    )

    it.scoped("rejects a bad start; closes the reader when the client goes away", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const url = yield* base
        const bad = yield* Effect.promise(() => fetch(`${url}events?from=yesterday`))
        expect(bad.status).toBe(400)
        yield* untilReaders(server, 0)
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* Sse.open(`${url}events`)
            yield* Sse.open(`${url}events?kind=llm.*`)
            yield* untilReaders(server, 2)
          })
        )
        yield* untilReaders(server, 0)
      })
    )
  }
)
