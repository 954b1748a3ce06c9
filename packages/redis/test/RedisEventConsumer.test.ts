/**
 * The consumer layer on a real redis-server: a member of a group consumes what `RedisEventBus`
 * publishes, each entry handled once and acknowledged; `stream` (and, from `Config`,
 * `MAF_EVENTS_STREAM`) is the stream consumed where a member names none, as the reader layer's.
 */
import { describe, expect, layer } from "@effect/vitest"
import { EventBus, EventConsumer } from "@maf/events"
import { RedisEventBus, RedisEventConsumer } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"

type Server = RedisTestServer.RedisTestServer["Type"]

/** Publishes `n` events to `stream` through the bus layer; their ids. */
const publish = (server: Server, stream: string, n: number) =>
  Effect.forEach(
    Array.from({ length: n }, (_, i) => i),
    (i) =>
      Effect.flatMap(EventBus.publish({ kind: "agent.signal", payload: { stream, i } }), (result) =>
        result._tag === "Written" ? Effect.succeed(result.id) : Effect.die(`not written: ${result._tag}`)
      )
  ).pipe(Effect.provide(RedisEventBus.layer({ url: server.url, stream })))

/**
 * Runs one member of group `g` with `consumer` until it has handled `n` entries: what it was given
 * (stream id, kind, delivery count, group, consumer, the stream named in the payload).
 */
const handleFirst = (
  consumer: Layer.Layer<EventConsumer.EventConsumer, unknown>,
  n: number,
  options: { readonly stream?: string } = {}
) =>
  Effect.gen(function* () {
    const seen: Array<string> = []
    const done = yield* Deferred.make<void>()
    const member = yield* Effect.fork(
      EventConsumer.consume({
        ...options,
        group: "g",
        consumer: "m1",
        from: "0",
        block: Duration.millis(50),
        handler: (message) =>
          Effect.suspend(() => {
            if (message._tag === "Gap") return Effect.void
            const payload =
              message._tag === "KnownEvent" ? (message.event.payload as { stream?: string }) : {}
            seen.push(
              `${message.streamId} ${message._tag === "KnownEvent" ? message.event.kind : message._tag} ${message.deliveryCount} ${message.group}/${message.consumer} ${payload.stream}`
            )
            return seen.length === n ? Deferred.succeed(done, undefined) : Effect.void
          })
      }).pipe(Effect.provide(consumer))
    )
    yield* Deferred.await(done).pipe(Effect.timeout(Duration.seconds(20)))
    // Interrupted: its shutdown acknowledges what it finished.
    yield* Fiber.interrupt(member)
    return seen
  })

/** The group's pending count on `stream`, as the server says it. */
const pendingOf = (server: Server, stream: string) =>
  Effect.map(server.command("XPENDING", stream, "g"), (reply) => Number((reply as Array<unknown>)[0]))

describe("RedisEventConsumer", () => {
  layer(RedisTestServer.layer(), { excludeTestServices: true })("on a real redis-server", (it) => {
    it.effect("layer({ url, stream }): a member consumes what RedisEventBus publishes, each acked once", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const ids = yield* publish(server, "arena:consumed", 5)
        const seen = yield* handleFirst(
          RedisEventConsumer.layer({ url: server.url, stream: "arena:consumed" }),
          5
        )
        expect(seen).toEqual(ids.map((id) => `${id} agent.signal 1 g/m1 arena:consumed`))
        expect(yield* pendingOf(server, "arena:consumed")).toBe(0)
        // A member that names its stream consumes it, whatever the layer's.
        const other = yield* publish(server, "arena:named", 2)
        const named = yield* handleFirst(
          RedisEventConsumer.layer({ url: server.url, stream: "arena:consumed" }),
          2,
          { stream: "arena:named" }
        )
        expect(named).toEqual(other.map((id) => `${id} agent.signal 1 g/m1 arena:named`))
        // Without `stream`, maf:events, as the bus layer.
        const plain = yield* publish(server, "maf:events", 1)
        expect(yield* handleFirst(RedisEventConsumer.layer({ url: server.url }), 1)).toEqual([
          `${plain[0]} agent.signal 1 g/m1 maf:events`
        ])
      })
    )

    it.effect(
      "layerConfig: REDIS_URL, the stream from MAF_EVENTS_STREAM, else maf:events; a given Config wins",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const environment = (map: ReadonlyArray<readonly [string, string]>) =>
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["REDIS_URL", server.url], ...map])))
          const fromEnv = yield* publish(server, "config:env", 2)
          expect(
            yield* handleFirst(RedisEventConsumer.layerConfig(), 2).pipe(
              environment([["MAF_EVENTS_STREAM", "config:env"]])
            )
          ).toEqual(fromEnv.map((id) => `${id} agent.signal 1 g/m1 config:env`))
          expect(yield* pendingOf(server, "config:env")).toBe(0)

          const fromConfig = yield* publish(server, "config:given", 1)
          expect(
            yield* handleFirst(
              RedisEventConsumer.layerConfig({ stream: Config.succeed("config:given") }),
              1
            ).pipe(environment([["MAF_EVENTS_STREAM", "config:env"]]))
          ).toEqual([`${fromConfig[0]} agent.signal 1 g/m1 config:given`])

          // The whole options as one Config: its URL, the stream from the environment's default.
          const plain = yield* publish(server, "maf:events", 1)
          expect(
            yield* handleFirst(RedisEventConsumer.layerConfig(Config.succeed({ url: server.url })), 1).pipe(
              Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
            )
          ).toEqual([`${plain[0]} agent.signal 1 g/m1 maf:events`])
        })
    )
  })
})
