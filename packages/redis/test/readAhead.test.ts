import { expect, layer } from "@effect/vitest"
import { RedisStreamBackend } from "@maf/events-redis"
import { RedisTestServer, TcpProxy } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { untilXreadCalls, xreadCalls } from "./xreadCalls.js"

type Server = RedisTestServer.RedisTestServer["Type"]

let streamCounter = 0
const freshStream = () => `test:read-ahead:${++streamCounter}`

const fill = (server: Server, stream: string, n: number) =>
  Effect.forEach(
    Array.from({ length: n }, (_, i) => i),
    (i) => server.command("XADD", stream, `0-${i + 1}`, "data", JSON.stringify({ i })),
    { discard: true }
  )

/** A fresh stream of `n` entries (ids `0-1` to `0-n`) and a cursor of a backend on the test server. */
const cursorOver = (n: number) =>
  Effect.gen(function* () {
    const server = yield* RedisTestServer.RedisTestServer
    const stream = freshStream()
    yield* fill(server, stream, n)
    const backend = yield* RedisStreamBackend.make({ url: server.url })
    const cursor = yield* backend.openCursor
    return { server, stream, cursor }
  })

const ids = (batch: { readonly entries: ReadonlyArray<{ readonly id: string }> }) =>
  batch.entries.map((entry) => entry.id)

const noBlock = (count: number) => ({ count, blockMillis: undefined })

layer(RedisTestServer.layer(), { excludeTestServices: true })(
  "RedisStreamBackend cursor: readAhead",
  (it) => {
    it.effect(
      "nothing is read before it is asked for, unless hinted; a hinted read is sent at once and answers the read",
      () =>
        Effect.gen(function* () {
          const { server, stream, cursor } = yield* cursorOver(5)
          const before = yield* xreadCalls(server)
          expect(ids(yield* cursor.read(stream, "0", noBlock(2)))).toEqual(["0-1", "0-2"])
          yield* Effect.sleep("100 millis")
          expect(yield* xreadCalls(server)).toBe(before + 1)

          cursor.readAhead!(stream, "0-2", noBlock(2))
          // The hinted read reaches the server before the read is made...
          yield* untilXreadCalls(server, before + 2)
          // ...and answers it: no XREAD more.
          expect(ids(yield* cursor.read(stream, "0-2", noBlock(2)))).toEqual(["0-3", "0-4"])
          expect(ids(yield* cursor.read(stream, "0-4", noBlock(2)))).toEqual(["0-5"])
          expect(yield* xreadCalls(server)).toBe(before + 3)
        }).pipe(Effect.scoped)
    )

    it.effect(
      "a read with other arguments than the hinted one gets its own entries, never the hinted ones",
      () =>
        Effect.gen(function* () {
          const { stream, cursor } = yield* cursorOver(6)
          cursor.readAhead!(stream, "0-2", noBlock(2))
          expect(ids(yield* cursor.read(stream, "0", noBlock(2)))).toEqual(["0-1", "0-2"])
          cursor.readAhead!(stream, "0-2", noBlock(2))
          expect(ids(yield* cursor.read(stream, "0-2", noBlock(3)))).toEqual(["0-3", "0-4", "0-5"])
          cursor.readAhead!(`${stream}:other`, "0-5", noBlock(3))
          expect(ids(yield* cursor.read(stream, "0-5", noBlock(3)))).toEqual(["0-6"])
        }).pipe(Effect.scoped)
    )

    it.effect("a hinted read's stream snapshot is the one taken with it (gap detection stays exact)", () =>
      Effect.gen(function* () {
        const { server, stream, cursor } = yield* cursorOver(4)
        const before = yield* xreadCalls(server)
        cursor.readAhead!(stream, "0-2", noBlock(2))
        yield* untilXreadCalls(server, before + 1)
        // Written after the hinted read: neither in its entries nor in its snapshot.
        yield* server.command("XADD", stream, "0-9", "data", "{}")
        const ahead = yield* cursor.read(stream, "0-2", noBlock(2))
        expect(ids(ahead)).toEqual(["0-3", "0-4"])
        expect(ahead.info.lastId).toBe("0-4")
        expect(ahead.info.length).toBe(4)
        const next = yield* cursor.read(stream, "0-4", noBlock(2))
        expect(ids(next)).toEqual(["0-9"])
        expect(next.info.length).toBe(5)
      }).pipe(Effect.scoped)
    )

    it.effect(
      "a hinted read that found nothing is sent again when the read is made (it is stale by then)",
      () =>
        Effect.gen(function* () {
          const { server, stream, cursor } = yield* cursorOver(2)
          const before = yield* xreadCalls(server)
          cursor.readAhead!(stream, "0-2", noBlock(2))
          yield* untilXreadCalls(server, before + 1)
          yield* server.command("XADD", stream, "0-3", "data", "{}")
          expect(ids(yield* cursor.read(stream, "0-2", noBlock(2)))).toEqual(["0-3"])
          expect(yield* xreadCalls(server)).toBe(before + 2)
        }).pipe(Effect.scoped)
    )

    it.effect(
      "a hinted read never blocks: a read made later on a quiet stream waits its own block time, within its bound",
      () =>
        Effect.gen(function* () {
          const { stream, cursor } = yield* cursorOver(2)
          // Hinted with a block time; nothing comes after 0-2.
          cursor.readAhead!(stream, "0-2", { count: 2, blockMillis: 1000 })
          yield* Effect.sleep("500 millis")
          // Had the hinted read blocked (for 1 s from the hint), this read's own block would end 1.5 s
          // after it was made, past its bound (1.3 s). (Redis may end a block up to 100 ms late.)
          const start = Date.now()
          const batch = yield* cursor.read(stream, "0-2", {
            count: 2,
            blockMillis: 1000,
            timeoutMillis: 1300
          })
          expect(batch.entries).toEqual([])
          expect(Date.now() - start).toBeGreaterThanOrEqual(950)
        }).pipe(Effect.scoped)
    )

    it.effect(
      "a hinted read answered before the connection was lost still answers its read; the read after fails",
      () =>
        Effect.gen(function* () {
          const { server, stream, cursor } = yield* cursorOver(4)
          const before = yield* xreadCalls(server)
          cursor.readAhead!(stream, "0-2", noBlock(2))
          yield* untilXreadCalls(server, before + 1)
          yield* server.killClients
          // Entries read before the loss are real: delivered.
          expect(ids(yield* cursor.read(stream, "0-2", noBlock(2)))).toEqual(["0-3", "0-4"])
          const error = yield* Effect.flip(cursor.read(stream, "0-4", noBlock(2)))
          expect(error._tag).toBe("StreamBackendError")
          expect(error.reason).toBe("Unavailable")
        }).pipe(Effect.scoped)
    )
  }
)

layer(TcpProxy.layerToTestServer().pipe(Layer.provideMerge(RedisTestServer.layer())), {
  excludeTestServices: true
})("RedisStreamBackend cursor: readAhead across a lost connection", (it) => {
  it.effect(
    "a hinted read cut off by a reset connection fails the read that uses it, and no rejection goes unhandled",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const proxy = yield* TcpProxy.TcpProxy
        const stream = freshStream()
        yield* fill(server, stream, 2)
        const rejections: Array<unknown> = []
        const onRejection = (reason: unknown) => rejections.push(reason)
        process.on("unhandledRejection", onRejection)
        yield* Effect.gen(function* () {
          const backend = yield* RedisStreamBackend.make({ url: proxy.url })
          const cursor = yield* backend.openCursor
          yield* proxy.stall
          // Sent, and never answered: the connection is reset under it.
          cursor.readAhead!(stream, "0-1", noBlock(2))
          yield* Effect.sleep("50 millis")
          expect(yield* proxy.drop).toBeGreaterThan(0)
          yield* proxy.restore
          yield* Effect.sleep("100 millis")
          const error = yield* Effect.flip(cursor.read(stream, "0-1", noBlock(2)))
          expect(error.reason).toBe("Unavailable")
          // A hinted read left unused when the cursor closes is dropped just as quietly.
          cursor.readAhead!(stream, "0-1", noBlock(2))
        }).pipe(
          Effect.scoped,
          Effect.ensuring(Effect.sync(() => process.off("unhandledRejection", onRejection)))
        )
        yield* Effect.sleep("50 millis")
        expect(rejections).toEqual([])
      })
  )
})
