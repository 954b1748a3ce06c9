/**
 * `@maf/events-redis`: the Redis Streams backend of `@maf/events`.
 *
 * @since 0.1.0
 */

/** @since 0.3.0 */
export * as RedisClient from "./RedisClient.js"
/** @since 0.1.0 */
export * as RedisEventBus from "./RedisEventBus.js"
/** @since 0.2.0 */
export * as RedisEventConsumer from "./RedisEventConsumer.js"
/** @since 0.1.0 */
export * as RedisEventReader from "./RedisEventReader.js"
/** @since 0.2.0 */
export * as RedisGroupBackend from "./RedisGroupBackend.js"
/** @since 0.1.0 */
export * as RedisStreamBackend from "./RedisStreamBackend.js"
/** @since 0.3.0 */
export * as RedisUrl from "./RedisUrl.js"
