/**
 * The `EventReader` on Redis: the reader of `@maf/events` over the Redis backend, in one layer.
 * Each stream it gives opens a connection of its own.
 *
 * @since 0.1.0
 */
import { EventReader } from "@maf/events"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Layer from "effect/Layer"
import * as RedisStreamBackend from "./RedisStreamBackend.js"

/**
 * The reader on Redis.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * import { Effect, Stream } from "effect"
 * import { EventReader } from "@maf/events"
 * import { RedisEventReader } from "@maf/events-redis"
 *
 * const program = EventReader.stream({ from: "0" }).pipe(Stream.take(100), Stream.runCollect)
 *
 * Effect.runPromise(program.pipe(Effect.provide(RedisEventReader.layer({ url: "redis://localhost:6379/0" }))))
 */
export const layer = (
  options: RedisStreamBackend.ConnectionOptions = {}
): Layer.Layer<EventReader.EventReader> =>
  EventReader.layer.pipe(Layer.provide(RedisStreamBackend.layer(options)))

/**
 * The reader on Redis with connection options from `Config`; the URL defaults to `REDIS_URL`, else
 * `redis://localhost:6379/0`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<RedisStreamBackend.ConnectionOptions> = {}
): Layer.Layer<EventReader.EventReader, ConfigError.ConfigError> =>
  EventReader.layer.pipe(Layer.provide(RedisStreamBackend.layerConfig(options)))
