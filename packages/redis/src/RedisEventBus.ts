/**
 * The `EventBus` on Redis: the publisher of `@maf/events` over the Redis backend, in one layer.
 *
 * @since 0.1.0
 */
import { EventBus, Partitions, type StreamBackend } from "@maf/events"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { connectionConfig } from "./internal/connectionConfig.js"
import * as RedisStreamBackend from "./RedisStreamBackend.js"

/**
 * Options of the publisher and of its Redis connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends EventBus.Options, RedisStreamBackend.ConnectionOptions {}

/**
 * The bus on Redis; the layer also provides its `StreamBackend` (readers can share it). It builds
 * at once, even with Redis down: the connection is made in the background and comes back by itself.
 * Closing it drains the buffer (within `drainTimeout`), then closes the connection.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * import { Effect, Redacted } from "effect"
 * import { EventBus } from "@maf/events"
 * import { RedisEventBus } from "@maf/events-redis"
 *
 * const program = EventBus.publish({ kind: "arena.start", arena: "trading" })
 *
 * Effect.runPromise(
 *   program.pipe(Effect.provide(RedisEventBus.layer({ url: Redacted.make("redis://localhost:6379/0") })))
 * )
 */
export const layer = (options: Options = {}): Layer.Layer<EventBus.EventBus | StreamBackend.StreamBackend> =>
  EventBus.layer(options).pipe(Layer.provideMerge(RedisStreamBackend.layer(options)))

/**
 * The bus on Redis with options from `Config`. Unless given, the URL is read from `REDIS_URL`
 * (default `redis://localhost:6379/0`, as a `Redacted`), the stream from `MAF_EVENTS_STREAM`
 * (default `maf:events`), the cap from `MAF_EVENTS_MAXLEN` (default 100000) and the partition count
 * from `MAF_EVENTS_PARTITIONS` (default 1: see `Partitions`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options> = {}
): Layer.Layer<EventBus.EventBus | StreamBackend.StreamBackend, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const resolved = yield* EventBus.unwrapOptions(options)
      const connection = yield* connectionConfig(resolved)
      const stream =
        resolved.stream ??
        (yield* Config.string("MAF_EVENTS_STREAM").pipe(Config.withDefault(EventBus.defaults.stream)))
      const maxlen =
        resolved.maxlen ??
        (yield* Config.integer("MAF_EVENTS_MAXLEN").pipe(
          Config.validate({ message: "MAF_EVENTS_MAXLEN must be 0 or more", validation: (n) => n >= 0 }),
          Config.withDefault(EventBus.defaults.maxlen)
        ))
      const partitions = resolved.partitions ?? (yield* Partitions.config)
      return layer({ ...connection, stream, maxlen, partitions })
    })
  )
