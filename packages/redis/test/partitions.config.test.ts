/**
 * A partitioned stream configured from the environment on a real redis-server:
 * `RedisEventBus.layerConfig` reads `MAF_EVENTS_PARTITIONS`, writes one key a partition (each arena
 * whole in its key, what `redis-cli` shows), and a reader and a member of the Redis layers (their
 * `layerConfig` reading it too) read them all; a bad count fails the layer with the variable's reason.
 */
import { layer } from "@effect/vitest"
import { EventBus, EventConsumer, EventReader, Partitions } from "@maf/events"
import { RedisEventBus, RedisEventConsumer, RedisEventReader } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { expect } from "vitest"

const fromEnv = (env: Record<string, string>) => Layer.setConfigProvider(ConfigProvider.fromJson(env))

layer(RedisTestServer.layer(), { excludeTestServices: true })("partitions from the environment", (it) => {
  it.scoped("MAF_EVENTS_PARTITIONS=3: three keys, each arena whole in one, read and consumed whole", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const env = { REDIS_URL: server.url, MAF_EVENTS_STREAM: "env:events", MAF_EVENTS_PARTITIONS: "3" }
      yield* Effect.scoped(
        Effect.gen(function* () {
          const bus = yield* EventBus.EventBus
          for (let i = 0; i < 60; i++) {
            yield* bus.publishNowait({ kind: "agent.signal", arena: `arena-${i % 6}`, payload: { i } })
          }
          yield* bus.flush
        }).pipe(Effect.provide(RedisEventBus.layerConfig().pipe(Layer.provide(fromEnv(env)))))
      )
      const keys = Partitions.keys("env:events", 3)
      expect(yield* server.command("EXISTS", "env:events")).toBe(0)
      let total = 0
      for (const [p, key] of keys.entries()) {
        const entries = (yield* server.command("XRANGE", key, "-", "+")) as Array<[string, Array<string>]>
        total += entries.length
        for (const [, fields] of entries) {
          const body = JSON.parse(fields[1]!) as { arena: string }
          expect(Partitions.partitionOf(body.arena, 3)).toBe(p)
        }
      }
      expect(total).toBe(60)

      // The reader and the member of layerConfig read MAF_EVENTS_PARTITIONS too: no partitions given.
      const read = yield* EventReader.stream({ from: "0" }).pipe(
        Stream.take(60),
        Stream.runCollect,
        Effect.provide(RedisEventReader.layerConfig().pipe(Layer.provide(fromEnv(env))))
      )
      expect(new Set([...read].map((r) => `${r.partition} ${r.streamId}`)).size).toBe(60)

      const handled: Array<string> = []
      const member = yield* EventConsumer.consume({
        group: "env-group",
        from: "0",
        block: "100 millis",
        handler: (message) =>
          Effect.sync(() => {
            handled.push(`${message.stream} ${message.streamId}`)
          })
      }).pipe(Effect.provide(RedisEventConsumer.layerConfig().pipe(Layer.provide(fromEnv(env)))), Effect.fork)
      while (handled.length < 60) yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(member)
      expect(new Set(handled)).toEqual(new Set([...read].map((r) => `${r.partition} ${r.streamId}`)))
      for (const key of keys) {
        expect((yield* server.command("XINFO", "GROUPS", key)) as Array<unknown>).toHaveLength(1)
      }
    })
  )

  it.effect("MAF_EVENTS_PARTITIONS=0 fails the layer, naming the variable", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.scoped(
          Layer.build(
            RedisEventBus.layerConfig().pipe(Layer.provide(fromEnv({ MAF_EVENTS_PARTITIONS: "0" })))
          )
        )
      )
      expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(
        /MAF_EVENTS_PARTITIONS must be an integer from 1 to 1024/
      )
    })
  )
})
