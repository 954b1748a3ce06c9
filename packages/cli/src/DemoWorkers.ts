/**
 * The demo's consumer groups, so that the dashboard has groups to show: `archiver`, quick with each
 * event (4 at a time, 5 to 40 ms), and `auditor`, slow (2 at a time, 150 to 650 ms: about as fast
 * as the demo publishes, so its lag and pending count move). Both read the stream from its start.
 *
 * @since 0.3.0
 */
import { EventConsumer, GroupBackend, MemoryStreamBackend } from "@maf/events"
import { RedisEventConsumer } from "@maf/events-redis"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import type * as Redacted from "effect/Redacted"

/**
 * The groups' names.
 *
 * @since 0.3.0
 * @category constants
 */
export const groups = ["archiver", "auditor"] as const

const member = (stream: string, group: string, concurrency: number, minMillis: number, maxMillis: number) =>
  EventConsumer.consume({
    stream,
    group,
    consumer: `${group}-1`,
    from: "0",
    concurrency,
    handler: () =>
      Effect.flatMap(Random.nextIntBetween(minMillis, maxMillis + 1), (ms) =>
        Effect.sleep(Duration.millis(ms))
      )
  })

/**
 * Runs both groups' members until interrupted.
 *
 * @since 0.3.0
 * @category running
 */
export const run = (stream: string) =>
  Effect.all([member(stream, "archiver", 4, 5, 40), member(stream, "auditor", 2, 150, 650)], {
    concurrency: "unbounded",
    discard: true
  })

/**
 * The `EventConsumer` of the demo over the in-memory backend of the context.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerMemory: Layer.Layer<
  EventConsumer.EventConsumer,
  never,
  MemoryStreamBackend.MemoryStreamBackend
> = EventConsumer.layer.pipe(
  Layer.provide(
    Layer.effect(
      GroupBackend.GroupBackend,
      Effect.map(MemoryStreamBackend.MemoryStreamBackend, (memory) => memory.groups)
    )
  )
)

/**
 * The `EventConsumer` of the demo over Redis.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerRedis = (
  url: Redacted.Redacted<string>,
  stream: string
): Layer.Layer<EventConsumer.EventConsumer> => RedisEventConsumer.layer({ url, stream })
