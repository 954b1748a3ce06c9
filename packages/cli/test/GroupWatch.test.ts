/**
 * GroupWatch: what the dashboard shows of a stream's consumer groups. On a real redis-server, the
 * Redis probe lists every group of the stream (`XINFO GROUPS`: pending, lag, members; the first read
 * waits for the connection being made), a stream that does not exist has none, a read right after the
 * server closed the connection waits for the new one, and a server that stopped is a failure with the
 * connection's reason (never ioredis' "Stream isn't writeable"), the probe working again once it is back. Through the port (the in-memory backend), only the named groups that exist.
 * On a partitioned stream, either probe reads every partition key and merges each group over them
 * (`merge`: figures summed, members merged by name, an unknown or missing partition's lag unknown).
 * The watch (under `TestClock`) reads at once and then every interval, sets the group gauges, and
 * keeps the last groups seen, with the reason, when a read fails.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { ConsumerMetrics, GroupBackend, MemoryStreamBackend, Partitions, StreamBackend } from "@maf/events"
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
  describe("merge: one group over the partitions of a stream", () => {
    const group = (
      name: string,
      pending: number,
      lag: number | null,
      last: string,
      members: ReadonlyArray<GroupWatch.MemberStatus>
    ): GroupWatch.GroupStatus => ({
      name,
      pending,
      lag,
      consumers: members.length,
      last_delivered_id: last,
      members
    })
    const member = (name: string, pending: number, idle_ms: number) => ({ name, pending, idle_ms })
    const cases: ReadonlyArray<
      readonly [string, ReadonlyArray<ReadonlyArray<GroupWatch.GroupStatus>>, Array<object>]
    > = [
      [
        "pending and lag summed, the latest id, members merged by name (pending summed, idle the least)",
        [
          [group("g", 2, 1, "5-0", [member("a", 2, 300)])],
          [group("g", 3, 4, "7-1", [member("a", 1, 100), member("b", 2, 50)])],
          [group("g", 0, 0, "6-0", [])]
        ],
        [
          {
            name: "g",
            pending: 5,
            lag: 5,
            consumers: 2,
            last_delivered_id: "7-1",
            partitions: 3,
            members: [member("a", 3, 100), member("b", 2, 50)]
          }
        ]
      ],
      [
        "a lag one partition cannot tell: unknown",
        [[group("g", 0, 2, "1-0", [])], [group("g", 0, null, "1-0", [])], [group("g", 0, 2, "1-0", [])]],
        [{ name: "g", lag: null, partitions: 3 }]
      ],
      [
        "a group some partitions do not hold: its lag unknown, the partitions that hold it counted",
        [[group("g", 1, 0, "2-0", [member("a", 1, 10)])], [], [group("g", 0, 0, "3-0", [])]],
        [{ name: "g", pending: 1, lag: null, consumers: 1, last_delivered_id: "3-0", partitions: 2 }]
      ],
      [
        "several groups: one each, by name",
        [
          [group("z", 0, 0, "0-0", []), group("a", 1, 0, "1-0", [])],
          [group("a", 1, 0, "1-0", []), group("z", 0, 0, "0-0", [])],
          [group("z", 0, 0, "0-0", []), group("a", 1, 0, "1-0", [])]
        ],
        [
          { name: "a", pending: 3, lag: 0 },
          { name: "z", pending: 0, lag: 0 }
        ]
      ],
      ["no groups anywhere: none", [[], [], []], []]
    ]
    for (const [name, perPartition, expected] of cases) {
      it(name, () => {
        // Each group has (at least) the fields expected; as many groups as expected.
        expect(GroupWatch.merge(3, perPartition)).toMatchObject(expected)
      })
    }
  })

  it.effect("through the port: the named groups that exist", () =>
    Effect.gen(function* () {
      const groups = yield* GroupBackend.GroupBackend
      yield* groups.create("s", "g", "0")
      const found = yield* GroupWatch.named(groups, ["g", "missing"])("s")
      expect(found).toEqual([{ name: "g", pending: 0, lag: 0, consumers: 0, last_delivered_id: "0-0" }])
    }).pipe(Effect.provide(MemoryStreamBackend.layer))
  )

  it.scoped(
    "through the port on a partitioned stream: each named group once, merged over the partition keys",
    () =>
      Effect.gen(function* () {
        const backend = yield* StreamBackend.StreamBackend
        const groups = yield* GroupBackend.GroupBackend
        const keys = Partitions.keys("s", 3)
        const cursor = yield* groups.openCursor
        // Two entries on each key; "g" on every key, "h" on the first only.
        for (const key of keys) {
          yield* backend.append(key, ["{}", "{}"], { maxlen: 0 })
          yield* groups.create(key, "g", "0")
        }
        yield* groups.create(keys[0]!, "h", "0")
        const read = (key: string, member: string, count: number) =>
          cursor.read(key, "g", member, { count, blockMillis: undefined, timeoutMillis: 1_000 })
        yield* read(keys[0]!, "a", 1)
        yield* read(keys[1]!, "a", 2)
        yield* read(keys[2]!, "b", 1)
        const found = yield* GroupWatch.named(groups, ["g", "h", "missing"], 3)("s")
        expect(found).toEqual([
          {
            name: "g",
            pending: 4,
            lag: 2,
            consumers: 2,
            last_delivered_id: expect.any(String),
            partitions: 3,
            members: [
              { name: "a", pending: 3, idle_ms: expect.any(Number) },
              { name: "b", pending: 1, idle_ms: expect.any(Number) }
            ]
          },
          // Not on every partition: its backlog on the others is unknown.
          {
            name: "h",
            pending: 0,
            lag: null,
            consumers: 0,
            last_delivered_id: "0-0",
            partitions: 1,
            members: []
          }
        ])
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

  it.scoped(
    "a partitioned stream: each group once, merged over every partition key (pending and lag summed, members by name)",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = "watch:parts"
        const keys = Partitions.keys(stream, 3)
        for (const key of keys) {
          for (let i = 0; i < 3; i++) yield* server.command("XADD", key, "*", "data", `{"i":${i}}`)
          yield* server.command("XGROUP", "CREATE", key, "workers", "0")
        }
        // "late" only on the first two partitions: its backlog on the third is unknown.
        for (const key of keys.slice(0, 2)) yield* server.command("XGROUP", "CREATE", key, "late", "$")
        const take = (key: string, consumer: string, count: number) =>
          server.command("XREADGROUP", "GROUP", "workers", consumer, "COUNT", count, "STREAMS", key, ">")
        yield* take(keys[0]!, "a", 2)
        yield* take(keys[1]!, "a", 1)
        yield* take(keys[1]!, "b", 1)
        yield* take(keys[2]!, "b", 3)
        const probe = yield* GroupWatch.redis({
          url: Redacted.make(server.url),
          partitions: 3,
          clientName: "test-watch-partitions"
        })
        const groups = yield* probe(stream)
        expect(groups.map(({ last_delivered_id, members, ...g }) => g)).toEqual([
          { name: "late", pending: 0, lag: null, consumers: 0, partitions: 2 },
          { name: "workers", pending: 7, lag: 2, consumers: 2, partitions: 3 }
        ])
        const workers = groups[1]!
        expect(workers.members?.map(({ name, pending }) => [name, pending])).toEqual([
          ["a", 3],
          ["b", 4]
        ])
        const lastIds = (yield* Effect.forEach(
          keys,
          (key) => server.command("XINFO", "STREAM", key) as Effect.Effect<ReadonlyArray<unknown>, unknown>
        )).map((info) => String(info[info.indexOf("last-generated-id") + 1]))
        // The latest delivered id of the three partitions (the third's: all of it delivered).
        expect(workers.last_delivered_id).toBe(lastIds[2])
        expect(yield* probe("watch:nothing-here")).toEqual([])
      })
  )
})
