/**
 * The `EventReader` on Redis: the reader of `@maf/events` over the Redis backend, in one layer.
 * Each stream it gives opens a connection of its own.
 *
 * @since 0.1.0
 */
import { EventReader, Partitions } from "@maf/events"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { connectionConfig } from "./internal/connectionConfig.js"
import * as RedisStreamBackend from "./RedisStreamBackend.js"

/**
 * Options of the reader layer: the Redis connection, and the stream read when a read does not name
 * one (as `RedisEventBus.layer`'s `stream`: the same default, `maf:events`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends RedisStreamBackend.ConnectionOptions {
  /** The stream a read names none reads. Default `"maf:events"`; a read's own `stream` wins. */
  readonly stream?: string | undefined
  /**
   * The partitions of that stream (see `Partitions`), for a read that names neither a stream nor
   * its partitions. Default 1.
   */
  readonly partitions?: number | undefined
}

/**
 * The stream from `MAF_EVENTS_STREAM`, else `maf:events`: what `RedisEventBus.layerConfig` writes to.
 *
 * @since 0.1.0
 * @category config
 */
export const streamConfig: Config.Config<string> = Config.string("MAF_EVENTS_STREAM").pipe(
  Config.withDefault(EventReader.defaults.stream)
)

/** The reader of the context, reading `stream` where a read names none. */
const readingByDefault = (
  stream: string,
  partitions: number | undefined
): Layer.Layer<EventReader.EventReader, never, EventReader.EventReader> =>
  Layer.effect(
    EventReader.EventReader,
    Effect.map(EventReader.EventReader, (reader) =>
      EventReader.EventReader.of({
        stream: (options = {}) =>
          reader.stream(
            options.stream === undefined && options.partitions === undefined && partitions !== undefined
              ? { ...options, stream, partitions }
              : { ...options, stream: options.stream ?? stream }
          )
      })
    )
  )

/**
 * The reader on Redis. `stream` is the stream of every read that names none (default `maf:events`).
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { EventReader } from "@maf/events"
 * import { RedisEventReader } from "@maf/events-redis"
 *
 * const program = EventReader.stream({ from: "0" }).pipe(Stream.take(100), Stream.runCollect)
 *
 * const ReaderLive = RedisEventReader.layer({ url: "redis://localhost:6379/0", stream: "arena:events" })
 *
 * Effect.runPromise(program.pipe(Effect.provide(ReaderLive)))
 * ```
 */
export const layer = (options: Options = {}): Layer.Layer<EventReader.EventReader> => {
  const { stream = EventReader.defaults.stream, partitions, ...connection } = options
  return readingByDefault(stream, partitions === 1 ? undefined : partitions).pipe(
    Layer.provide(EventReader.layer),
    Layer.provide(RedisStreamBackend.layer(connection))
  )
}

/**
 * The reader on Redis with options from `Config`. Unless given, the URL is read from `REDIS_URL`
 * (default `redis://localhost:6379/0`, as a `Redacted`) and the stream from `MAF_EVENTS_STREAM`
 * (default `maf:events`), as `RedisEventBus.layerConfig` reads them.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { RedisEventReader } from "@maf/events-redis"
 *
 * // REDIS_URL and MAF_EVENTS_STREAM, with their defaults.
 * const FromEnvironment = RedisEventReader.layerConfig()
 * // Or each option from a Config of its own.
 * const Named = RedisEventReader.layerConfig({ stream: Config.string("ARENA_STREAM") })
 * ```
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options> = {}
): Layer.Layer<EventReader.EventReader, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      // Never an empty object for `Config.unwrap` (which throws on one, effect 3.22): `stream` is there.
      const resolved: Options = yield* Config.isConfig(options)
        ? options
        : Config.unwrap<Options>({ ...options, stream: options.stream ?? streamConfig })
      const connection = yield* connectionConfig(resolved)
      const stream = resolved.stream ?? (yield* streamConfig)
      const partitions = resolved.partitions ?? (yield* Partitions.config)
      return layer({ ...connection, stream, partitions })
    })
  )
