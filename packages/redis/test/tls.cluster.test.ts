/**
 * TLS on a Redis Cluster, for real (`RedisTestCluster` with `tls: true`: every node TLS-only, mutual
 * TLS required): the bus, a reader and a group member given a `rediss://` node and the certificates
 * (which ioredis needs in `redisOptions`: a `rediss://` start-up node alone does not turn TLS on).
 */
import { expect, layer } from "@effect/vitest"
import { EventBus, EventConsumer, EventReader, PublishResult } from "@maf/events"
import { RedisEventBus, RedisEventConsumer, RedisEventReader } from "@maf/events-redis"
import { RedisTestCluster } from "@maf/events-test"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

layer(RedisTestCluster.layer({ tls: { authClients: "yes" } }), {
  excludeTestServices: true,
  timeout: 60_000
})("a Redis Cluster over mutual TLS", (it) => {
  it.scoped("publish, read and consume with the CA, the client certificate and its key", () =>
    Effect.gen(function* () {
      const cluster = yield* RedisTestCluster.RedisTestCluster
      const certificates = Option.getOrThrow(cluster.certificates)
      const stream = `tls:cluster:${process.pid}`
      const connection = {
        url: cluster.url,
        cluster: true,
        stream,
        tls: { ca: certificates.ca.pem, cert: certificates.clientCert.pem, key: certificates.clientKey.pem }
      }
      expect(cluster.url.startsWith("rediss://")).toBe(true)
      const results = yield* Effect.forEach([1, 2, 3], (i) =>
        EventBus.publish({ kind: "agent.signal", payload: { i } })
      ).pipe(Effect.provide(RedisEventBus.layer(connection)))
      expect(results.every(PublishResult.isWritten)).toBe(true)

      const read = yield* EventReader.stream({ from: "0" }).pipe(
        Stream.take(3),
        Stream.runCollect,
        Effect.provide(RedisEventReader.layer(connection))
      )
      expect(Chunk.size(read)).toBe(3)

      const done = yield* Deferred.make<void>()
      let handled = 0
      const member = yield* Effect.fork(
        EventConsumer.consume({
          group: "g",
          from: "0",
          block: Duration.millis(50),
          handler: () =>
            Effect.suspend(() => (++handled === 3 ? Deferred.succeed(done, undefined) : Effect.void))
        }).pipe(Effect.provide(RedisEventConsumer.layer(connection)))
      )
      yield* Deferred.await(done)
      yield* Fiber.interrupt(member)
      expect(handled).toBe(3)
    })
  )
})
