/**
 * The demo's consumer groups, so that the dashboard has groups to show: `archiver`, quick with each
 * event (4 at a time, 5 to 40 ms), and `auditor`, 2 at a time, slow one minute (3 to 9 s an
 * event: it falls behind the demo) and quick the next (20 to 80 ms: it catches up), so that its lag
 * and pending count rise and fall. Both read the stream from its start; on a partitioned stream, every
 * partition (a member loop a partition key, the group on each). When the demo stops, handlers running
 * are given 1 s: what the auditor holds then stays pending (claimed by the next demo after 30 s).
 *
 * @since 0.3.0
 */
import { EventConsumer, GroupBackend, MemoryStreamBackend } from "@maf/events"
import { RedisGroupBackend, type RedisStreamBackend } from "@maf/events-redis"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"

/**
 * The groups' names.
 *
 * @since 0.3.0
 * @category constants
 */
export const groups = ["archiver", "auditor"] as const

/** A while between `min` and `max` milliseconds. */
const work = (min: number, max: number) =>
  Effect.flatMap(Random.nextIntBetween(min, max + 1), (ms) => Effect.sleep(Duration.millis(ms)))

const member = <R>(
  stream: string,
  partitions: number | undefined,
  group: string,
  concurrency: number,
  handle: Effect.Effect<void, never, R>
) =>
  EventConsumer.consume({
    stream,
    partitions,
    group,
    consumer: `${group}-1`,
    from: "0",
    concurrency,
    // A demo stops promptly: what a slow auditor holds then stays pending, for the next demo's claim.
    drainTimeout: Duration.seconds(1),
    handler: () => handle
  })

/** Slow in even minutes, quick in odd ones. */
const audit = Effect.flatMap(Clock.currentTimeMillis, (now) =>
  Math.floor(now / 60_000) % 2 === 0 ? work(3_000, 9_000) : work(20, 80)
)

/**
 * Runs both groups' members until interrupted, on a stream of `partitions` (default 1: one key).
 *
 * @since 0.3.0
 * @category running
 */
export const run = (stream: string, partitions?: number | undefined) =>
  Effect.all(
    [member(stream, partitions, "archiver", 4, work(5, 40)), member(stream, partitions, "auditor", 2, audit)],
    { concurrency: "unbounded", discard: true }
  )

/**
 * The `EventConsumer` of the demo, and its `GroupBackend`, over the in-memory backend of the context.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerMemory: Layer.Layer<
  EventConsumer.EventConsumer | GroupBackend.GroupBackend,
  never,
  MemoryStreamBackend.MemoryStreamBackend
> = EventConsumer.layer.pipe(
  Layer.provideMerge(
    Layer.effect(
      GroupBackend.GroupBackend,
      Effect.map(MemoryStreamBackend.MemoryStreamBackend, (memory) => memory.groups)
    )
  )
)

/**
 * The `EventConsumer` of the demo, and its `GroupBackend`, over Redis.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerRedis = (
  connection: RedisStreamBackend.ConnectionOptions
): Layer.Layer<EventConsumer.EventConsumer | GroupBackend.GroupBackend> =>
  EventConsumer.layer.pipe(
    Layer.provideMerge(RedisGroupBackend.layer({ ...connection, clientName: "maf-events-demo-groups" }))
  )
