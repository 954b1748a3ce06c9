/**
 * GroupWatch: what the dashboard shows of a stream's consumer groups. On a real redis-server, the
 * Redis probe lists every group of the stream (`XINFO GROUPS`: pending, lag, members; the first read
 * waits for the connection being made), a stream that does not exist has none, a read right after the
 * server closed the connection waits for the new one, and a server that stopped is a failure with the
 * connection's reason (never ioredis' "Stream isn't writeable"), the probe working again once it is back. Through the port (the in-memory backend), only the named groups that exist.
 * The watch (under `TestClock`) reads at once and then every interval, sets the group gauges, and
 * keeps the last groups seen, with the reason, when a read fails.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { ConsumerMetrics, GroupBackend, MemoryStreamBackend } from "@maf/events"
import { RedisTestServer } from "@maf/events-test"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as GroupWatch from "../src/GroupWatch.js"

describe("GroupWatch", () => {
  it.effect("through the port: the named groups that exist", () =>
    Effect.gen(function* () {
      const groups = yield* GroupBackend.GroupBackend
      yield* groups.create("s", "g", "0")
      const found = yield* GroupWatch.named(groups, ["g", "missing"])("s")
      expect(found).toEqual([{ name: "g", pending: 0, lag: 0, consumers: 0, last_delivered_id: "0-0" }])
    }).pipe(Effect.provide(MemoryStreamBackend.layer))
  )

  it.scoped(
    "the watch reads at once and every interval, sets the gauges, keeps the last groups when a read fails",
    () =>
      Effect.gen(function* () {
        const answers = yield* Ref.make<
          ReadonlyArray<Effect.Effect<ReadonlyArray<GroupWatch.GroupStatus>, string>>
        >([
          Effect.succeed([{ name: "g", pending: 4, lag: 10, consumers: 2, last_delivered_id: "1-0" }]),
          Effect.fail("XINFO GROUPS timed out"),
          Effect.succeed([{ name: "g", pending: 1, lag: null, consumers: 2, last_delivered_id: "2-0" }])
        ])
        const probe: GroupWatch.Probe = () =>
          Effect.flatMap(
            Ref.modify(answers, ([next, ...rest]) => [next ?? Effect.succeed([]), rest]),
            (answer) => answer
          )
        const stream = "watched"
        const watch = yield* GroupWatch.watch(probe, { stream, interval: "2 seconds" })
        const seen = yield* Stream.take(watch.changes, 3).pipe(Stream.runCollect, Effect.fork)
        yield* TestClock.adjust("2 seconds")
        yield* TestClock.adjust("2 seconds")
        const snapshots = Chunk.toReadonlyArray(yield* Fiber.join(seen))
        expect(snapshots.map((s) => [s.at, s.groups.map((g) => [g.pending, g.lag]), s.error])).toEqual([
          [0, [[4, 10]], undefined],
          [2_000, [[4, 10]], "XINFO GROUPS timed out"],
          [4_000, [[1, null]], undefined]
        ])
        const gauge = (metric: Metric.Metric.Gauge<number>) =>
          Effect.map(
            Metric.value(metric.pipe(Metric.tagged("stream", stream), Metric.tagged("group", "g"))),
            (s) => s.value
          )
        expect(yield* gauge(ConsumerMetrics.pending)).toBe(1)
        // An unknown lag leaves the gauge at its last known value.
        expect(yield* gauge(ConsumerMetrics.lag)).toBe(10)
      })
  )
})

// Last: `layer` gives the shared `it` its own `effect` and `scoped` (live services here).
layer(RedisTestServer.layer(), { excludeTestServices: true })("GroupWatch over a real redis-server", (it) => {
  it.scoped(
    "lists every group of the stream with its pending count, lag and members; no stream, no groups",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = "watch:groups"
        for (let i = 0; i < 5; i++) yield* server.command("XADD", stream, "*", "data", `{"i":${i}}`)
        yield* server.command("XGROUP", "CREATE", stream, "slow", "0")
        yield* server.command("XGROUP", "CREATE", stream, "done", "$")
        yield* server.command("XREADGROUP", "GROUP", "slow", "a", "COUNT", "2", "STREAMS", stream, ">")
        yield* server.command("XREADGROUP", "GROUP", "slow", "b", "COUNT", "1", "STREAMS", stream, ">")
        const probe = yield* GroupWatch.redis({ url: Redacted.make(server.url), clientName: "test-watch" })
        // One read, made while the connection is being made, run now and again later (as the watch does).
        const read = probe(stream)
        const groups = yield* read
        expect(groups.map(({ last_delivered_id, ...g }) => g)).toEqual([
          { name: "done", pending: 0, lag: 0, consumers: 0 },
          { name: "slow", pending: 3, lag: 2, consumers: 2 }
        ])
        expect(yield* probe("watch:nothing-here")).toEqual([])
        yield* server.command("XADD", stream, "*", "data", "{}")
        // (Redis 7.0 cannot tell the lag of the group made at "$" once an entry came: null.)
        expect((yield* read).map((g) => [g.name, g.lag])).toEqual([
          ["done", null],
          ["slow", 3]
        ])

        // A connection the server closed: a read sent at once (ioredis may not have seen the close
        // yet, or be re-making it) waits for the new connection and answers, in each of a few tries.
        for (let i = 0; i < 5; i++) {
          expect(yield* server.killClients).toBeGreaterThan(0)
          expect((yield* read).map((g) => g.name)).toEqual(["done", "slow"])
        }

        // A server gone is a failure saying why; the same probe works once it is back.
        yield* server.stop
        const failure = yield* Effect.flip(probe(stream))
        expect(failure).toMatch(/^cannot reach the server: .*ECONNREFUSED/)
        yield* server.start
        const back = yield* Effect.eventually(read)
        expect(back.map((g) => g.name)).toEqual(["done", "slow"])
      })
  )
})
