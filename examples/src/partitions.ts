// examples/src/partitions.ts — a partitioned stream: one logical stream over three keys
import { EventBus, EventConsumer, EventReader, Partitions } from "@maf/events"
import { RedisEventBus, RedisEventConsumer, RedisEventReader } from "@maf/events-redis"
import { Effect, Layer, Stream } from "effect"

// Every process of the stream (publishers, readers, members) gives the same count: the keys are
// Partitions.keys("maf:events", 3), spread over the masters of a Redis Cluster.
const partitions = 3

// The events of one arena go to one partition, in order; across partitions no order holds.
const publishing = Effect.gen(function* () {
  for (const arena of ["trading", "research", "operations"]) {
    yield* EventBus.publishNowait({ kind: "arena.start", arena })
    yield* EventBus.publishNowait({ kind: "phase.start", arena, phase: "analysis" })
  }
  yield* Effect.flatMap(EventBus.EventBus, (bus) => bus.flush)
})

// One Stream over every partition, each result naming its partition; the positions (the last id
// delivered of each) resume a later reader right after them: EventReader.stream({ partitions, positions }).
const reading = EventReader.stream({ partitions, from: "0" }).pipe(
  Stream.take(6),
  Stream.tap((result) => Effect.log(`${result.partition} ${result.streamId} ${result._tag}`)),
  Stream.runFold({} as Partitions.Positions, Partitions.advance)
)

// A member of a group reads every partition (a loop each, the handlers sharing `concurrency`);
// a partition's dead letters go to its own `<key>:dead`.
export const auditor = EventConsumer.consume({
  group: "auditor",
  partitions,
  concurrency: 4,
  handler: (message) => Effect.log(`${message.stream} ${message.streamId}`)
})

// redis://localhost:6379/0 by default; the layerConfig forms read REDIS_URL (and, for the bus,
// MAF_EVENTS_PARTITIONS).
const Live = Layer.mergeAll(
  RedisEventBus.layer({ partitions }),
  RedisEventReader.layer(),
  RedisEventConsumer.layer()
)

Effect.runPromise(
  Effect.andThen(publishing, reading).pipe(
    Effect.flatMap((positions) => Effect.log(positions)),
    Effect.provide(Live)
  )
)
