/**
 * TLS through Sentinel, for real (`RedisTestSentinel` with `tls`: the master, the replica and the
 * three sentinels speak TLS only, require a client certificate, and replicate and talk to each other
 * over TLS): through a `redis+sentinel://` URL with the CA, the certificate and the key, the bus
 * publishes, a reader reads, a `RedisClient` reaches the master, and a graceful failover is followed
 * under a steady load (with `waitForReplicas`: no Written event a replica acknowledged is lost).
 * Without the CA the certificate is refused in one line, by `RedisClient` and by the bus alike. Figures printed (`FAILOVER
 * sentinel-tls-graceful-wait …`).
 */
import { expect, layer } from "@effect/vitest"
import { EventBus, EventReader, PublishResult } from "@maf/events"
import { RedisClient, RedisEventBus, RedisEventReader, type RedisStreamBackend } from "@maf/events-redis"
import { RedisTestSentinel } from "@maf/events-test"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { report, steadyLoad, summarize, taggedEntries } from "./helpers/steadyLoad.js"

type Sentinel = RedisTestSentinel.RedisTestSentinel["Type"]

/** Mutual TLS: the kit's CA, client certificate and key. */
const mutualTls = (sentinel: Sentinel): RedisStreamBackend.TlsOptions => {
  const { ca, clientCert, clientKey } = Option.getOrThrow(sentinel.certificates)
  return { ca: ca.pem, cert: clientCert.pem, key: clientKey.pem }
}

layer(RedisTestSentinel.layer({ tls: { authClients: "yes" } }), {
  excludeTestServices: true,
  timeout: 60_000
})("a master watched by Sentinel, everything over mutual TLS", (it) => {
  it.effect("the bus publishes and a reader reads through redis+sentinel:// with the certificates", () =>
    Effect.gen(function* () {
      const sentinel = yield* RedisTestSentinel.RedisTestSentinel
      const stream = `tls-sentinel:${process.pid}:read`
      const connection = { url: sentinel.url, stream, tls: mutualTls(sentinel) }
      const results = yield* Effect.forEach([0, 1, 2, 3, 4], (i) =>
        EventBus.publish({ kind: "agent.signal", payload: { i } })
      ).pipe(Effect.provide(RedisEventBus.layer(connection)))
      expect(results.every(PublishResult.isWritten)).toBe(true)
      expect(Number(yield* sentinel.command("XLEN", stream))).toBe(5)

      const read = yield* EventReader.stream({ from: "0", stream }).pipe(
        Stream.take(5),
        Stream.runCollect,
        Effect.provide(RedisEventReader.layer(connection))
      )
      expect(
        Chunk.toReadonlyArray(read).map((r) => (r._tag === "KnownEvent" ? r.event.payload : r._tag))
      ).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })))

      const master = yield* sentinel.master
      const role = yield* Effect.scoped(
        Effect.flatMap(RedisClient.make({ url: sentinel.url, tls: mutualTls(sentinel) }), (client) =>
          Effect.promise(() => client.role() as Promise<ReadonlyArray<unknown>>)
        )
      )
      expect(role[0]).toBe("master")
      expect(master.port).toBeGreaterThan(0)
    })
  )

  it.effect("without the CA (Node's trusted CAs), the sentinels' certificate is refused in one line", () =>
    Effect.gen(function* () {
      const sentinel = yield* RedisTestSentinel.RedisTestSentinel
      const { cert, key } = mutualTls(sentinel)
      const error = yield* Effect.flip(
        Effect.scoped(
          RedisClient.make({ url: sentinel.url, tls: { cert, key }, connectTimeout: Duration.seconds(1) })
        )
      )
      expect(error.message).toMatch(/^cannot connect to sentinel master mymaster via .*certificate/i)
      expect(error.message).not.toContain("\n")
    })
  )

  it.effect("without the CA, a publish is not written, the sentinel's certificate named in one line", () =>
    Effect.gen(function* () {
      const sentinel = yield* RedisTestSentinel.RedisTestSentinel
      const { cert, key } = mutualTls(sentinel)
      const result = yield* EventBus.publish({ kind: "agent.signal", payload: { i: 0 } }).pipe(
        Effect.provide(
          RedisEventBus.layer({
            url: sentinel.url,
            stream: `tls-sentinel:${process.pid}:no-ca`,
            tls: { cert, key },
            publishTimeout: Duration.seconds(2)
          })
        )
      )
      expect(result).toMatchObject({ _tag: "NotWritten", reason: "Unavailable" })
      const message = (result as { readonly message: string }).message
      // Not ioredis' "All sentinels are unreachable … Connection is closed": the handshake's reason.
      expect(message).toMatch(/sentinel 127\.0\.0\.1:\d+: .*certificate/)
      expect(message).not.toContain("\n")
    })
  )

  it.effect(
    "a graceful failover under a steady load is followed over TLS; no Written event a replica acknowledged is lost",
    () =>
      Effect.gen(function* () {
        const sentinel = yield* RedisTestSentinel.RedisTestSentinel
        const stream = `tls-sentinel:${process.pid}:failover`
        const former = yield* sentinel.master
        const run = yield* steadyLoad({
          connection: {
            url: sentinel.url,
            tls: mutualTls(sentinel),
            waitForReplicas: { replicas: 1, timeout: Duration.millis(500) }
          },
          stream,
          fault: Effect.zipRight(sentinel.failover, sentinel.awaitSettled),
          entries: Effect.map(sentinel.command("XRANGE", stream, "-", "+"), taggedEntries),
          after: Duration.seconds(2)
        })
        expect((yield* sentinel.master).port).not.toBe(former.port)
        const figures = summarize(run)
        yield* report("sentinel-tls-graceful-wait", figures)
        // Publishing went on on the new master, within each publish's bound.
        expect(figures.unavailableMillis).toBeGreaterThanOrEqual(0)
        expect(figures.maxPublishMillis).toBeLessThan(2_500)
        expect(figures.notSentButWritten).toEqual([])
        const acknowledged = run.awaited.filter((a) => a.result._tag === "Written" && a.result.replicas === 1)
        const inStream = new Set(run.stream.map((e) => e.tag))
        expect(acknowledged.length).toBeGreaterThan(0)
        expect(acknowledged.filter((a) => !inStream.has(a.tag)).map((a) => a.tag)).toEqual([])
        // Written again on the new master: the last publish, two seconds after the switch.
        expect(PublishResult.isWritten(run.awaited.at(-1)!.result)).toBe(true)
        expect(figures.handledAll).toBe(true)
      })
  )
})
