/**
 * The `EventConsumer` on Redis: the consumer groups of `@maf/events` over the Redis group backend
 * (`RedisGroupBackend`), in one layer. Each member has a connection of its own for its blocking
 * reads; its other commands share the layer's connection.
 *
 * @since 0.2.0
 */
import { EventBus, EventConsumer, Partitions } from "@maf/events"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { connectionConfig } from "./internal/connectionConfig.js"
import * as RedisEventReader from "./RedisEventReader.js"
import * as RedisGroupBackend from "./RedisGroupBackend.js"

/**
 * Options of the consumer layer: the Redis connection, and the stream consumed when a member does
 * not name one (as `RedisEventBus.layer`'s `stream`: the same default, `maf:events`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Options extends RedisGroupBackend.Options {
  /** The stream a member names none consumes. Default `"maf:events"`; a member's own `stream` wins. */
  readonly stream?: string | undefined
  /**
   * The partitions of that stream (see `Partitions`), for a member that names neither a stream nor
   * its partitions. Default 1.
   */
  readonly partitions?: number | undefined
}

/** The consumer of the context, consuming `stream` where a member names none. */
const consumingByDefault = (
  stream: string,
  partitions: number | undefined
): Layer.Layer<EventConsumer.EventConsumer, never, EventConsumer.EventConsumer> => {
  const withDefaults = <
    O extends { readonly stream?: string | undefined; readonly partitions?: number | undefined }
  >(
    options: O
  ): O =>
    options.stream === undefined && options.partitions === undefined && partitions !== undefined
      ? { ...options, stream, partitions }
      : { ...options, stream: options.stream ?? stream }
  return Layer.effect(
    EventConsumer.EventConsumer,
    Effect.map(EventConsumer.EventConsumer, (consumer) =>
      EventConsumer.EventConsumer.of({
        consume: (options) => consumer.consume(withDefaults(options)),
        stream: (options) => consumer.stream(withDefaults(options))
      })
    )
  )
}

/**
 * The consumer on Redis. `stream` is the stream of every member that names none (default
 * `maf:events`).
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EventConsumer } from "@maf/events"
 * import { RedisEventConsumer } from "@maf/events-redis"
 *
 * // A member of the group "auditor": each llm.call handled once across the group, acked on success.
 * const auditor = EventConsumer.consume({
 *   group: "auditor",
 *   concurrency: 4,
 *   handler: (message) =>
 *     message._tag === "KnownEvent" && message.event.kind === "llm.call"
 *       ? Effect.log(`booking the cost of ${message.streamId}`)
 *       : Effect.void
 * })
 *
 * const ConsumerLive = RedisEventConsumer.layer({ url: "redis://localhost:6379/0", stream: "arena:events" })
 *
 * Effect.runFork(auditor.pipe(Effect.provide(ConsumerLive)))
 * ```
 */
export const layer = (options: Options = {}): Layer.Layer<EventConsumer.EventConsumer> => {
  const { stream = EventConsumer.defaults.stream, partitions, ...connection } = options
  return consumingByDefault(stream, partitions === 1 ? undefined : partitions).pipe(
    Layer.provide(EventConsumer.layer),
    Layer.provide(RedisGroupBackend.layer(connection))
  )
}

/**
 * The consumer on Redis with options from `Config`. Unless given, the URL is read from `REDIS_URL`
 * (default `redis://localhost:6379/0`, as a `Redacted`) and the stream from `MAF_EVENTS_STREAM`
 * (default `maf:events`), as `RedisEventBus.layerConfig` reads them.
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { RedisEventConsumer } from "@maf/events-redis"
 *
 * // REDIS_URL and MAF_EVENTS_STREAM, with their defaults.
 * const FromEnvironment = RedisEventConsumer.layerConfig()
 * // Or each option from a Config of its own.
 * const Named = RedisEventConsumer.layerConfig({ clientName: Config.string("MEMBER_NAME") })
 * ```
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options> = {}
): Layer.Layer<EventConsumer.EventConsumer, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const resolved = yield* EventBus.unwrapOptions(options)
      const connection = yield* connectionConfig(resolved)
      const stream = resolved.stream ?? (yield* RedisEventReader.streamConfig)
      const partitions = resolved.partitions ?? (yield* Partitions.config)
      return layer({ ...connection, stream, partitions })
    })
  )
