/**
 * The bus of a partitioned stream, composed of single-key publishers (`publisher.ts`): one a
 * partition key, each with its own outbox, writer, bounds and metrics (tagged with its key), behind
 * one `EventBusService` that routes each event by its routing key (`partitionBy`, the arena by
 * default) to `crc16(key) mod N`. `flush` waits for every partition; closing drains them all at
 * once, each within `drainTimeout`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import type * as Event from "../Event.js"
import type { EventBusService, Options } from "../EventBus.js"
import type * as PublishResult from "../PublishResult.js"
import type { StreamBackend } from "../StreamBackend.js"
import * as FailureStreak from "./failureStreak.js"
import * as Partitions from "./partitions.js"
import * as Publisher from "./publisher.js"

const resolve = (options: Options) => {
  const stream = options.stream ?? Publisher.defaults.stream
  const partitions = Partitions.requirePartitions(options.partitions ?? 1, "EventBus")
  const partitionBy = options.partitionBy ?? Partitions.byArena
  if (typeof partitionBy !== "function") {
    throw new RangeError(`EventBus option partitionBy must be a function, got ${typeof partitionBy}`)
  }
  return { stream, partitions, partitionBy, keys: Partitions.keys(stream, partitions, "EventBus") }
}

/** @internal */
export const make = (options: Options): Effect.Effect<EventBusService, never, StreamBackend | Scope.Scope> =>
  Effect.gen(function* () {
    const { stream, partitions, partitionBy, keys } = yield* Effect.orDie(
      Effect.try({ try: () => resolve(options), catch: (e) => e })
    )
    const { partitions: _count, partitionBy: _by, ...single } = options
    if (partitions === 1) return yield* Publisher.make(single)

    // A scope a partition, closed together: the drains run at once, not one after the other.
    const scopes = yield* Effect.forEach(keys, () => Scope.make())
    yield* Effect.addFinalizer((exit) =>
      Effect.forEach(scopes, (scope) => Scope.close(scope, exit), {
        concurrency: "unbounded",
        // Stryker disable next-line BooleanLiteral: a finalizer's result is dropped
        discard: true
      })
    )
    const buses = yield* Effect.forEach(keys, (key, i) =>
      Scope.extend(Publisher.make({ ...single, stream: key }), scopes[i]!)
    )

    const unroutable = FailureStreak.make("EventBus partitionBy (the event goes to partition 0)", { stream })

    /** The bus of an event's partition; a `partitionBy` that throws or answers no string sends it to partition 0. */
    const route = <A>(
      input: Event.Input<string, unknown>,
      publish: (bus: EventBusService) => Effect.Effect<A>
    ): Effect.Effect<A> => {
      let routingKey: unknown
      try {
        routingKey = partitionBy(input)
      } catch (defect) {
        routingKey = defect instanceof Error ? defect : new Error(String(defect))
      }
      if (typeof routingKey === "string") {
        const bus = buses[Partitions.partitionOf(routingKey, partitions)]!
        return unroutable.current() === 0 ? publish(bus) : Effect.zipRight(unroutable.success, publish(bus))
      }
      const why =
        routingKey instanceof Error
          ? `it threw: ${routingKey.message}`
          : `it answered ${typeof routingKey}, not a string`
      return Effect.zipRight(unroutable.failure(why), publish(buses[0]!))
    }

    return {
      stream,
      publish: <K extends string, P>(input: Event.Input<K, P>): Effect.Effect<PublishResult.PublishResult> =>
        route(input, (bus) => bus.publish(input)),
      publishNowait: <K extends string, P>(input: Event.Input<K, P>): Effect.Effect<boolean> =>
        route(input, (bus) => bus.publishNowait(input)),
      flush: Effect.forEach(buses, (bus) => bus.flush, { concurrency: "unbounded", discard: true })
    } satisfies EventBusService
  })
