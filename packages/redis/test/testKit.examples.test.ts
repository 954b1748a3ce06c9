/**
 * The examples of the test kit's README (packages/test/README.md), as tests: the in-memory backend, a
 * real Redis with `RedisTestServer`, and the fault tools (`RedisTestServer` restart / killClients /
 * hang, `TcpProxy` stall / restore / drop). The README quotes these blocks word for word (checked by
 * packages/test/test/readme.test.ts). They live here, beside the Redis layers they use: the test kit
 * does not depend on `@maf/events-redis`.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { EventBus, EventReader, PublishResult } from "@maf/events"
import { RedisEventBus, RedisEventReader } from "@maf/events-redis"
import { RedisTestServer, TcpProxy } from "@maf/events-test"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

const kindsOf = EventReader.stream({ from: "0" }).pipe(
  Stream.map((result) => (result._tag === "KnownEvent" ? result.event.kind : result._tag))
)

// --- in-memory backend -----------------------------------------------------------------------------

// The bus and a reader on one in-memory backend: what is published can be read back.
const Memory = EventReader.layer.pipe(Layer.provideMerge(EventBus.layerMemory()))

describe("on the in-memory backend", () => {
  it.effect("publish, then read back from 0", () =>
    Effect.gen(function* () {
      yield* EventBus.publish({ kind: "arena.start", arena: "trading" })
      yield* EventBus.publishNowait({ kind: "arena.complete", arena: "trading" })
      yield* Effect.flatMap(EventBus.EventBus, (bus) => bus.flush)
      const kinds = yield* kindsOf.pipe(Stream.take(2), Stream.runCollect)
      expect(Chunk.toReadonlyArray(kinds)).toEqual(["arena.start", "arena.complete"])
    }).pipe(Effect.provide(Memory))
  )
})

// --- a real redis-server -----------------------------------------------------------------------------

// One redis-server for the block, started on a free port and stopped after; real time inside.
layer(RedisTestServer.layer(), { excludeTestServices: true })("on a real redis-server", (it) => {
  it.effect("publish with RedisEventBus, read with RedisEventReader", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const result = yield* EventBus.publish({ kind: "arena.start", arena: "trading" }).pipe(
        Effect.provide(RedisEventBus.layer({ url: server.url }))
      )
      expect(PublishResult.isWritten(result)).toBe(true)
      const kinds = yield* kindsOf.pipe(
        Stream.take(1),
        Stream.runCollect,
        Effect.provide(RedisEventReader.layer({ url: server.url }))
      )
      expect(Chunk.toReadonlyArray(kinds)).toEqual(["arena.start"])
      expect(yield* server.command("XLEN", "maf:events")).toBe(1)
    })
  )

  it.effect("restart: the data is kept, and the bus reconnects by itself", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      yield* Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        yield* bus.publish({ kind: "phase.start", phase: "before" })
        yield* server.restart
        // Buffered while the connection comes back, then written.
        yield* bus.publishNowait({ kind: "phase.start", phase: "after" })
        yield* bus.flush
      }).pipe(Effect.scoped, Effect.provide(RedisEventBus.layer({ url: server.url, stream: "restarted" })))
      expect(yield* server.command("XLEN", "restarted")).toBe(2)
    })
  )

  it.effect("killClients: a reader's connection is closed under it; it reconnects and goes on", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      yield* Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const reader = yield* Effect.fork(
          EventReader.stream({
            stream: "killed",
            from: "0",
            retrySchedule: Schedule.spaced("20 millis")
          }).pipe(Stream.take(2), Stream.runCollect)
        )
        yield* bus.publish({ kind: "agent.start" })
        // Every client connection goes: the reader's, and the bus's (which buffers meanwhile).
        expect(yield* server.killClients).toBeGreaterThan(0)
        yield* bus.publishNowait({ kind: "agent.complete" })
        yield* bus.flush
        expect(Chunk.size(yield* Fiber.join(reader))).toBe(2)
      }).pipe(
        Effect.provide(
          EventReader.layer.pipe(
            Layer.provideMerge(RedisEventBus.layer({ url: server.url, stream: "killed" }))
          )
        )
      )
    })
  )

  it.effect("hang: while the server does not answer, publish gives up within its bound", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const result = yield* Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        yield* bus.publish({ kind: "system.status" })
        yield* server.hang("1 second")
        return yield* bus.publish({ kind: "system.status" })
      }).pipe(Effect.provide(RedisEventBus.layer({ url: server.url, publishTimeout: "200 millis" })))
      expect(result).toMatchObject({ _tag: "NotWritten", reason: "Timeout" })
    })
  )
})

// --- a network partition -------------------------------------------------------------------------

// A TCP proxy between the code and the server: stall, restore, drop the connections.
const Partition = TcpProxy.layerToTestServer().pipe(Layer.provideMerge(RedisTestServer.layer()))

layer(Partition, { excludeTestServices: true })("through a TcpProxy", (it) => {
  it.effect("a stalled network: publish gives up within its bound; after a drop it writes again", () =>
    Effect.gen(function* () {
      const proxy = yield* TcpProxy.TcpProxy
      yield* Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        expect(PublishResult.isWritten(yield* bus.publish({ kind: "arena.start" }))).toBe(true)
        yield* proxy.stall
        expect(yield* bus.publish({ kind: "arena.error" })).toMatchObject({ reason: "Timeout" })
        // The stalled connection lost bytes: heal the network and reset it, the bus reconnects.
        yield* proxy.restore
        yield* proxy.drop
        const written = bus
          .publish({ kind: "arena.complete" })
          .pipe(Effect.filterOrFail(PublishResult.isWritten))
        yield* written.pipe(Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("5 seconds"))))
      }).pipe(Effect.provide(RedisEventBus.layer({ url: proxy.url, publishTimeout: "200 millis" })))
    })
  )
})
