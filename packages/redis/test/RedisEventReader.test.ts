import { describe, expect, layer } from "@effect/vitest"
import { EventBus, EventReader, type ReadResult } from "@maf/events"
import { RedisEventBus, RedisEventReader } from "@maf/events-redis"
import { RedisTestServer, TcpProxy } from "@maf/events-test"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { untilXreadCalls, xreadCalls } from "./xreadCalls.js"

type Server = RedisTestServer.RedisTestServer["Type"]
type Entry = [string, Array<string>]

let streamCounter = 0
const freshStream = () => `test:reader:${++streamCounter}`

const xrangeIds = (server: Server, stream: string) =>
  Effect.map(server.command("XRANGE", stream, "-", "+"), (reply) => (reply as Array<Entry>).map(([id]) => id))

const xadd = (server: Server, stream: string, i: number) =>
  server.command(
    "XADD",
    stream,
    "*",
    "data",
    JSON.stringify({ kind: "agent.signal", ts: "2026-05-14T11:22:33.123456+00:00", payload: { i } })
  )

const payloadIndex = (r: ReadResult.ReadResult) =>
  r._tag === "KnownEvent" ? (r.event.payload as { i: number }).i : r._tag

/** Fast retries for tests: the defaults are paced for production. */
const quickRetry = Schedule.spaced("20 millis")

const readerLayer = (server: Server) => RedisEventReader.layer({ url: server.url })

const collect = (server: Server, options: EventReader.ReadOptions, n: number) =>
  EventReader.stream({ retrySchedule: quickRetry, ...options }).pipe(
    Stream.take(n),
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray),
    Effect.provide(readerLayer(server))
  )

/** How many connections are blocked in `XREAD` on the server. */
const blockedReaders = (server: Server) =>
  Effect.map(
    server.command("CLIENT", "LIST"),
    (list) =>
      String(list)
        .split("\n")
        .filter((l) => l.includes("cmd=xread") && l.includes("flags=b")).length
  )

/** Waits (up to 5 s) until `n` readers are blocked in XREAD on the server. */
const untilBlockedReaders = (server: Server, n: number) =>
  Effect.gen(function* () {
    for (let waited = 0; (yield* blockedReaders(server)) < n; waited += 5) {
      if (waited >= 5000) expect.fail(`fewer than ${n} readers blocked in XREAD after 5 s`)
      yield* Effect.sleep("5 millis")
    }
  })

const normalClients = (server: Server) =>
  Effect.map(server.command("CLIENT", "LIST"), (list) =>
    String(list)
      .split("\n")
      .filter((l) => l.includes("addr=") && !l.includes("name=maf-events-test-helper"))
  )

layer(RedisTestServer.layer(), { excludeTestServices: true })("EventReader on a real redis-server", (it) => {
  it.effect("replays from 0, follows from $, starts after an id", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const stream = freshStream()
      for (let i = 0; i < 5; i++) yield* xadd(server, stream, i)
      const all = yield* collect(server, { stream, from: "0" }, 5)
      expect(all.map(payloadIndex)).toEqual([0, 1, 2, 3, 4])
      const afterThird = yield* collect(server, { stream, from: all[2]!.streamId }, 2)
      expect(afterThird.map(payloadIndex)).toEqual([3, 4])
      const tail = yield* Effect.fork(collect(server, { stream, from: "$", block: "200 millis" }, 2))
      yield* untilBlockedReaders(server, 1)
      yield* xadd(server, stream, 5)
      yield* xadd(server, stream, 6)
      expect((yield* Fiber.join(tail)).map(payloadIndex)).toEqual([5, 6])
    })
  )

  it.effect("count caps each read; an empty read returns after the block time", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const stream = freshStream()
      for (let i = 0; i < 10; i++) yield* xadd(server, stream, i)
      yield* Effect.scoped(
        Effect.gen(function* () {
          const pull = yield* Stream.toPull(
            EventReader.stream({ stream, from: "0", count: 4, block: "300 millis" })
          )
          expect(Chunk.size(yield* pull)).toBe(4)
          expect(Chunk.size(yield* pull)).toBe(4)
          expect(Chunk.size(yield* pull)).toBe(2)
          const start = Date.now()
          expect(Chunk.size(yield* pull)).toBe(0)
          const waited = Date.now() - start
          expect(waited).toBeGreaterThanOrEqual(250)
          expect(waited).toBeLessThan(2000)
        }).pipe(Effect.provide(readerLayer(server)))
      )
    })
  )

  it.effect("raw malformed entries surface as their variants and reading goes on", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const stream = freshStream()
      yield* xadd(server, stream, 0)
      yield* server.command("XADD", stream, "*", "other", "x")
      yield* server.command("XADD", stream, "*", "data", "{not json")
      yield* server.command("XADD", stream, "*", "data", '"a string"')
      yield* server.command("XADD", stream, "*", "data", JSON.stringify({ kind: "llm.call", ts: "soon" }))
      yield* server.command(
        "XADD",
        stream,
        "*",
        "data",
        JSON.stringify({ kind: "x.y", ts: "2026-01-01T00:00:00Z" })
      )
      yield* xadd(server, stream, 1)
      const results = yield* collect(server, { stream, from: "0" }, 7)
      expect(results.map((r) => (r._tag === "Malformed" ? `Malformed:${r.reason}` : r._tag))).toEqual([
        "KnownEvent",
        "Malformed:no_data_field",
        "Malformed:json_decode",
        "Malformed:schema",
        "Malformed:schema",
        "UnknownKind",
        "KnownEvent"
      ])
      expect(results.map((r) => r.streamId)).toEqual(yield* xrangeIds(server, stream))
    })
  )

  it.effect(
    "entries trimmed while the reader is paused: a gap with the right ids and count, then the rest",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        for (let i = 0; i < 10; i++) yield* xadd(server, stream, i)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const pull = yield* Stream.toPull(EventReader.stream({ stream, from: "0", count: 10 }))
            const first = Chunk.toReadonlyArray(yield* pull)
            expect(first.map(payloadIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
            for (let i = 10; i < 50; i++) yield* xadd(server, stream, i)
            yield* server.command("XTRIM", stream, "MAXLEN", "5")
            const remaining = yield* xrangeIds(server, stream)
            const next = Chunk.toReadonlyArray(yield* pull)
            expect(next[0]).toEqual({
              _tag: "Gap",
              streamId: remaining[0],
              after: first[9]!.streamId,
              lost: 35
            })
            expect(next.slice(1).map(payloadIndex)).toEqual([45, 46, 47, 48, 49])
          }).pipe(Effect.provide(readerLayer(server)))
        )
      })
  )

  it.effect(
    "a full batch of 200 comes in two chunks; asking for the second sends the next read: what it took before a trim comes first, then the gap, exactly counted",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        for (let i = 0; i < 400; i++) yield* xadd(server, stream, i)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const pull = yield* Stream.toPull(EventReader.stream({ stream, from: "0", count: 200 }))
            const pulled = Effect.map(pull, (chunk) => Chunk.toReadonlyArray(chunk).map(payloadIndex))
            const range = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + k)
            const before = yield* xreadCalls(server)
            expect(yield* pulled).toEqual(range(0, 100))
            // One read, and nothing read further.
            yield* Effect.sleep("50 millis")
            expect(yield* xreadCalls(server)).toBe(before + 1)
            expect(yield* pulled).toEqual(range(100, 100))
            // Asked for the second half: the read after 199 went out at once.
            yield* untilXreadCalls(server, before + 2)
            for (let i = 400; i < 440; i++) yield* xadd(server, stream, i)
            yield* server.command("XTRIM", stream, "MAXLEN", "5")
            // Read before the trim: delivered as read.
            expect(yield* pulled).toEqual(range(200, 100))
            expect(yield* pulled).toEqual(range(300, 100))
            // Read after the trim: the gap (400 to 434), exactly counted, then what is left.
            const next = Chunk.toReadonlyArray(yield* pull)
            expect(next[0]).toMatchObject({ _tag: "Gap", lost: 35 })
            expect(next.slice(1).map(payloadIndex)).toEqual(range(435, 5))
          }).pipe(Effect.provide(readerLayer(server)))
        )
      })
  )

  it.effect(
    "a reader's connection killed mid-stream: it reconnects and goes on, nothing lost or repeated",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        for (let i = 0; i < 100; i++) yield* xadd(server, stream, i)
        const reader = yield* Effect.fork(
          collect(server, { stream, from: "0", count: 10, block: "200 millis" }, 300)
        )
        yield* untilBlockedReaders(server, 1).pipe(Effect.race(Effect.sleep("2 seconds")))
        for (let round = 0; round < 4; round++) {
          expect(yield* server.killClients).toBeGreaterThanOrEqual(0)
          for (let i = 0; i < 50; i++) yield* xadd(server, stream, 100 + round * 50 + i)
          yield* Effect.sleep("30 millis")
        }
        const results = yield* Fiber.join(reader)
        expect(results.map((r) => r.streamId)).toEqual(yield* xrangeIds(server, stream))
      })
  )

  it.effect(
    "the server hung with DEBUG SLEEP: the watchdog ends the stuck read and the stream recovers",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        yield* xadd(server, stream, 0)
        const reader = yield* Effect.fork(
          collect(server, { stream, from: "0", block: "200 millis", watchdogGrace: "300 millis" }, 3)
        )
        yield* untilBlockedReaders(server, 1)
        yield* server.hang("2 seconds")
        yield* Effect.sleep("2100 millis")
        const resumed = Date.now()
        yield* xadd(server, stream, 1)
        yield* xadd(server, stream, 2)
        const results = yield* Fiber.join(reader)
        expect(results.map(payloadIndex)).toEqual([0, 1, 2])
        // Within the watchdog's bound (block + grace) and a retry, not the server's own timeouts.
        expect(Date.now() - resumed).toBeLessThan(1500)
      })
  )

  it.effect("1,000 readers opened and closed, some interrupted mid-block: no connection left open", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const stream = freshStream()
      yield* xadd(server, stream, 0)
      const before = (yield* normalClients(server)).length
      yield* Effect.gen(function* () {
        // Opened, read, closed: 800 one after another, 10 at a time.
        yield* Effect.forEach(
          Array.from({ length: 800 }, (_, i) => i),
          () => EventReader.stream({ stream, from: "0" }).pipe(Stream.take(1), Stream.runDrain),
          { concurrency: 10, discard: true }
        )
        // Interrupted while blocked in XREAD: 200, in batches of 50.
        for (let batch = 0; batch < 4; batch++) {
          const fibers = yield* Effect.forEach(
            Array.from({ length: 50 }, (_, i) => i),
            () =>
              Effect.fork(
                EventReader.stream({ stream, from: "$", block: "10 seconds" }).pipe(Stream.runDrain)
              ),
            { concurrency: "unbounded" }
          )
          yield* untilBlockedReaders(server, 50)
          yield* Fiber.interruptAll(fibers)
        }
      }).pipe(Effect.provide(readerLayer(server)))
      // Disconnects are asynchronous on the server's side: give it a moment to see them all.
      let after = (yield* normalClients(server)).length
      for (let i = 0; i < 100 && after > before; i++) {
        yield* Effect.sleep("20 millis")
        after = (yield* normalClients(server)).length
      }
      expect(after).toBe(before)
    })
  )
})

describe("EventReader across a half-open connection", () => {
  layer(TcpProxy.layerToTestServer().pipe(Layer.provideMerge(RedisTestServer.layer())), {
    excludeTestServices: true
  })("through a proxy that stops forwarding without closing", (it) => {
    it.effect(
      "the watchdog ends the stalled read; after the proxy forwards again, nothing is lost or repeated",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const proxy = yield* TcpProxy.TcpProxy
          const stream = freshStream()
          yield* xadd(server, stream, 0)
          const reader = yield* Effect.fork(
            EventReader.stream({
              stream,
              from: "0",
              block: "200 millis",
              watchdogGrace: "300 millis",
              retrySchedule: quickRetry
            }).pipe(
              Stream.take(6),
              Stream.runCollect,
              Effect.map(Chunk.toReadonlyArray),
              Effect.provide(RedisEventReader.layer({ url: proxy.url }))
            )
          )
          yield* untilBlockedReaders(server, 1)
          yield* proxy.stall
          // Written while the reader's connection is silent: the server has them, the reader cannot see them.
          for (let i = 1; i < 6; i++) yield* xadd(server, stream, i)
          yield* Effect.sleep("1500 millis")
          expect(reader.unsafePoll()).toBeNull()
          yield* proxy.restore
          const restored = Date.now()
          const results = yield* Fiber.join(reader)
          expect(results.map(payloadIndex)).toEqual([0, 1, 2, 3, 4, 5])
          expect(results.map((r) => r.streamId)).toEqual(yield* xrangeIds(server, stream))
          // Within the watchdog's bound (block + grace) and a retry.
          expect(Date.now() - restored).toBeLessThan(1500)
        })
    )
  })
})

describe("EventReader across server restarts", () => {
  layer(RedisTestServer.layer(), { excludeTestServices: true })("20,000 entries, two restarts", (it) => {
    it.effect(
      "the reader delivers every entry exactly once, in order, while the server restarts twice",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const total = 20_000
          const reader = yield* Effect.fork(collect(server, { stream, from: "0", count: 200 }, total))
          yield* Effect.scoped(
            Effect.gen(function* () {
              const bus = yield* EventBus.EventBus
              for (let i = 0; i < total; i++) {
                yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })
                if (i === 7000 || i === 14000) {
                  yield* bus.flush
                  yield* server.restart
                }
                if (i % 500 === 0) yield* Effect.sleep("1 millis")
              }
              yield* bus.flush
            }).pipe(
              Effect.provide(
                RedisEventBus.layer({
                  url: server.url,
                  stream,
                  maxlen: 0,
                  bufferCapacity: total,
                  retrySchedule: quickRetry
                })
              )
            )
          )
          const results = yield* Fiber.join(reader)
          const ids = yield* xrangeIds(server, stream)
          expect(ids.length).toBeGreaterThanOrEqual(total)
          expect(results.map((r) => r.streamId)).toEqual(ids.slice(0, total))
          expect(new Set(results.map((r) => r.streamId)).size).toBe(total)
          expect(results.every((r) => r._tag === "KnownEvent")).toBe(true)
        }),
      120_000
    )
  })

  layer(RedisTestServer.layer(), { excludeTestServices: true })("a live tail across a restart", (it) => {
    it.effect("from $: entries written while the connection was down arrive after it, exactly once", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        for (let i = 0; i < 3; i++) yield* xadd(server, stream, i)
        const reader = yield* Effect.fork(collect(server, { stream, from: "$", block: "200 millis" }, 6))
        yield* untilBlockedReaders(server, 1)
        yield* xadd(server, stream, 3)
        yield* server.restart
        for (let i = 4; i < 9; i++) yield* xadd(server, stream, i)
        const results = yield* Fiber.join(reader)
        expect(results.map(payloadIndex)).toEqual([3, 4, 5, 6, 7, 8])
      })
    )
  })

  layer(RedisTestServer.layer(), { excludeTestServices: true })("a slow consumer", (it) => {
    it.effect("over a large backlog: resident memory stays bounded (reads follow the consumer's pulls)", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        const filler = "x".repeat(400)
        // 150,000 entries of ~500 bytes: reading them all ahead would take well over 100 MB here.
        for (let batch = 0; batch < 150; batch++) {
          const args: Array<string> = []
          for (let i = 0; i < 1000; i++) {
            args.push(
              JSON.stringify({ kind: "llm.call", ts: "2026-05-14T11:22:33Z", payload: { i, filler } })
            )
          }
          yield* server.command(
            "EVAL",
            "for i = 1, #ARGV do redis.call('XADD', KEYS[1], '*', 'data', ARGV[i]) end return #ARGV",
            "1",
            stream,
            ...args
          )
        }
        const before = process.memoryUsage().rss
        let peak = before
        yield* EventReader.stream({ stream, from: "0", count: 500 }).pipe(
          Stream.take(5000),
          Stream.tap((_) => Effect.void),
          Stream.mapEffect((r) =>
            Effect.sleep("0 millis").pipe(
              Effect.tap(() => {
                peak = Math.max(peak, process.memoryUsage().rss)
              }),
              Effect.as(r)
            )
          ),
          Stream.runDrain,
          Effect.provide(readerLayer(server))
        )
        expect((peak - before) / 2 ** 20).toBeLessThan(60)
      })
    )
  })
})
