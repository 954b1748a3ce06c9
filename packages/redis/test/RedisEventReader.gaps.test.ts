/**
 * The reader's gaps from an arbitrary id, on a real redis-server (7.0: `XINFO STREAM` keeps the last
 * id given when the stream is trimmed to nothing, and `XDEL` sets `max-deleted-entry-id`): what the
 * reader cannot count it still reports where it can see it, and only there.
 */
import { expect, layer } from "@effect/vitest"
import { EventReader, ReadResult } from "@maf/events"
import { RedisEventReader } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"

type Server = RedisTestServer.RedisTestServer["Type"]

let streams = 0
const freshStream = () => `test:reader-gaps:${++streams}`

const body = (i: number) =>
  JSON.stringify({ kind: "agent.signal", ts: "2026-05-14T11:22:33.123456+00:00", payload: { i } })

/** Adds events `from` to `to - 1` (each with its index as payload); their ids. */
const addEvents = (server: Server, stream: string, from: number, to: number) =>
  Effect.forEach(
    Array.from({ length: to - from }, (_, k) => from + k),
    (i) => Effect.map(server.command("XADD", stream, "*", "data", body(i)), String)
  )

const indexOf = (r: ReadResult.ReadResult) =>
  r._tag === "KnownEvent" ? (r.event.payload as { i: number }).i : r._tag

/** Whether a client is blocked in `XREAD` on the server. */
const readerBlocked = (server: Server) =>
  Effect.map(server.command("CLIENT", "LIST"), (list) =>
    String(list)
      .split("\n")
      .some((client) => client.includes("cmd=xread") && client.includes("flags=b"))
  )

layer(RedisTestServer.layer(), { excludeTestServices: true })(
  "EventReader gaps from an id on a real redis-server",
  (it) => {
    it.effect(
      "a stream trimmed to nothing past the id: a gap of unknown size when the next entry comes",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const ids = yield* addEvents(server, stream, 0, 5)
          yield* server.command("XTRIM", stream, "MAXLEN", "0")
          const fiber = yield* EventReader.stream({ stream, from: ids[1]!, block: "5 seconds" }).pipe(
            Stream.take(2),
            Stream.runCollect,
            Effect.provide(RedisEventReader.layer({ url: server.url })),
            Effect.fork
          )
          // The reader's info saw the stream empty; it waits in XREAD for the next entry.
          while (!(yield* readerBlocked(server))) yield* Effect.sleep("5 millis")
          const [next] = yield* addEvents(server, stream, 5, 6)
          const results = Chunk.toReadonlyArray(yield* Fiber.join(fiber).pipe(Effect.timeout("4 seconds")))
          expect(results[0]).toEqual(ReadResult.gap(next!, ids[1]!, undefined))
          expect(indexOf(results[1]!)).toBe(5)
        })
    )

    it.effect(
      "an entry deleted further on: the gap comes before the entry after it, not before the first",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const ids = yield* addEvents(server, stream, 0, 10)
          // 0 and 1 trimmed, 5 deleted; read from the id of 1: the stream's first entry is read first.
          yield* server.command("XTRIM", stream, "MAXLEN", "8")
          yield* server.command("XDEL", stream, ids[5]!)
          const results = yield* EventReader.stream({ stream, from: ids[1]!, count: 3 }).pipe(
            Stream.take(8),
            Stream.runCollect,
            Effect.provide(RedisEventReader.layer({ url: server.url }))
          )
          expect(Chunk.toReadonlyArray(results).map(indexOf)).toEqual([2, 3, 4, "Gap", 6, 7, 8, 9])
          expect(Chunk.toReadonlyArray(results)[3]).toEqual(ReadResult.gap(ids[6]!, ids[4]!, undefined))
        })
    )

    it.effect(
      "the server back from an older save (SIGKILL), without entries the reader had read: a gap of unknown size before the next entry",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          yield* addEvents(server, stream, 0, 5)
          yield* server.command("SAVE")
          const ids = yield* addEvents(server, stream, 5, 10)
          const fiber = yield* EventReader.stream({ stream, from: "0", block: "1 second" }).pipe(
            Stream.take(12),
            Stream.runCollect,
            Effect.provide(RedisEventReader.layer({ url: server.url })),
            Effect.fork
          )
          // All 10 read; the reader waits in XREAD for more.
          while (!(yield* readerBlocked(server))) yield* Effect.sleep("5 millis")
          // Entries 5 to 9 were never saved: gone with the process.
          yield* server.kill
          yield* server.start
          expect(yield* server.command("XLEN", stream)).toBe(5)
          const [next] = yield* addEvents(server, stream, 10, 12)
          const results = Chunk.toReadonlyArray(yield* Fiber.join(fiber).pipe(Effect.timeout("10 seconds")))
          expect(results.map(indexOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, "Gap", 10])
          // Whether any entry after the last one read was lost cannot be told: the size is unknown.
          expect(results[10]).toEqual(ReadResult.gap(next!, ids[4]!, undefined))
        }),
      30_000
    )
  }
)
