/**
 * The reader layer's options mean what the bus layer's mean: `stream` (and, from `Config`,
 * `MAF_EVENTS_STREAM`) is the stream read where a read names none; a read's own `stream` wins.
 */
import { describe, expect, layer } from "@effect/vitest"
import { EventBus, EventReader } from "@maf/events"
import { RedisEventBus, RedisEventReader } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

type Server = RedisTestServer.RedisTestServer["Type"]

/** Publishes one event whose payload names `stream`, to `stream` (through the bus layer's option). */
const publishTo = (server: Server, stream: string) =>
  EventBus.publish({ kind: "agent.signal", payload: { stream } }).pipe(
    Effect.provide(RedisEventBus.layer({ url: server.url, stream }))
  )

/** What the first entry read from "0" says it was published to, with `options` for the read. */
const firstRead = (
  reader: Layer.Layer<EventReader.EventReader, unknown>,
  options: EventReader.ReadOptions = {}
) =>
  EventReader.stream({ from: "0", ...options }).pipe(
    Stream.take(1),
    Stream.runCollect,
    Effect.map((results) => {
      const first = Chunk.unsafeHead(results)
      return first._tag === "KnownEvent" ? (first.event.payload as { stream: string }).stream : first._tag
    }),
    Effect.provide(reader)
  )

describe("RedisEventReader options", () => {
  layer(RedisTestServer.layer(), { excludeTestServices: true })("on a real redis-server", (it) => {
    it.effect("layer({ url, stream }) reads that stream; without it, maf:events, as the bus layer", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        yield* publishTo(server, "maf:events")
        yield* publishTo(server, "arena:one")
        yield* publishTo(server, "arena:two")

        expect(yield* firstRead(RedisEventReader.layer({ url: server.url, stream: "arena:one" }))).toBe(
          "arena:one"
        )
        expect(yield* firstRead(RedisEventReader.layer({ url: server.url }))).toBe("maf:events")
        // A read that names its stream reads it, whatever the layer's.
        expect(
          yield* firstRead(RedisEventReader.layer({ url: server.url, stream: "arena:one" }), {
            stream: "arena:two"
          })
        ).toBe("arena:two")
        // `stream: undefined` (as plain JavaScript may pass it) is the default, not "undefined".
        expect(yield* firstRead(RedisEventReader.layer({ url: server.url, stream: undefined }))).toBe(
          "maf:events"
        )
      })
    )

    it.effect("layerConfig: the stream from MAF_EVENTS_STREAM, else maf:events; a given Config wins", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        yield* publishTo(server, "maf:events")
        yield* publishTo(server, "from:env")
        yield* publishTo(server, "from:config")
        const environment = (map: ReadonlyArray<readonly [string, string]>) =>
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["REDIS_URL", server.url], ...map])))

        expect(yield* firstRead(RedisEventReader.layerConfig()).pipe(environment([]))).toBe("maf:events")
        expect(
          yield* firstRead(RedisEventReader.layerConfig()).pipe(
            environment([["MAF_EVENTS_STREAM", "from:env"]])
          )
        ).toBe("from:env")
        expect(
          yield* firstRead(RedisEventReader.layerConfig({ stream: Config.succeed("from:config") })).pipe(
            environment([["MAF_EVENTS_STREAM", "from:env"]])
          )
        ).toBe("from:config")
        // The whole options as one Config: its stream, else MAF_EVENTS_STREAM.
        expect(
          yield* firstRead(RedisEventReader.layerConfig(Config.succeed({ url: server.url }))).pipe(
            environment([["MAF_EVENTS_STREAM", "from:env"]])
          )
        ).toBe("from:env")
      })
    )
  })
})
