/**
 * A connection lost in the moment it is made is made again. ioredis, without a ready check, calls a
 * connection ready once its `CLIENT SETNAME` is answered or fails, without asking whether it is
 * still the current one: a connection reset while it was being named left the client "ready" on a
 * closed socket, refusing its own reconnection ("already connected"), for good — the bus and every
 * group member stopped after a run of server restarts (the chaos soak's bug B). Connections are
 * named by the backend once ready instead.
 */
import { expect, layer } from "@effect/vitest"
import { RedisStreamBackend } from "@maf/events-redis"
import { RedisTestServer, TcpProxy } from "@maf/events-test"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"

/** Polls `condition` every 10 ms until it holds (the test's own bound ends a wait that never does). */
const awaitTrue = <E>(condition: Effect.Effect<boolean, E>) =>
  Effect.repeat(condition, { schedule: Schedule.spaced(Duration.millis(10)), until: (ok) => ok })

layer(TcpProxy.layerToTestServer().pipe(Layer.provideMerge(RedisTestServer.layer())), {
  excludeTestServices: true
})("a connection reset while it is being made", (it) => {
  it.scoped(
    "is made again: appends are written once the network is back, on a connection that carries its name",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const proxy = yield* TcpProxy.TcpProxy
        const stream = "reconnect:named"
        const backend = yield* RedisStreamBackend.make({ url: proxy.url, clientName: "reconnect-named" })
        yield* Effect.orDie(backend.info(stream))

        // The network goes silent and the connection is reset: the client connects again at once
        // (the proxy accepts, silent), and names its new connection, which gets no answer...
        yield* proxy.stall
        yield* proxy.drop
        yield* awaitTrue(Effect.map(proxy.connections, (n) => n >= 1))
        // ...and that connection is reset too, while it is being named.
        yield* proxy.drop
        yield* proxy.restore

        // Within seconds (the reconnection's back-off), an append is written.
        const ids = yield* Effect.eventually(
          backend
            .append(stream, ['{"kind":"arena.start"}'], { maxlen: 0, timeoutMillis: 500 })
            .pipe(Effect.delay(Duration.millis(50)))
        ).pipe(Effect.timeout(Duration.seconds(10)))
        expect(ids).toHaveLength(1)
        expect(yield* server.command("XLEN", stream)).toBe(1)
        // The new connection is named.
        yield* awaitTrue(
          Effect.map(server.command("CLIENT", "LIST"), (list) =>
            String(list).includes("name=reconnect-named ")
          )
        ).pipe(Effect.timeout(Duration.seconds(5)))
      }),
    30_000
  )
})
