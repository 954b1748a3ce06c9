// Plain JavaScript, no type-checker: the reader layer's `stream` means what the bus layer's means.
import { EventBus, EventReader } from "@maf/events"
import { RedisEventBus, RedisEventReader } from "@maf/events-redis"
import { Chunk, Effect, Stream } from "effect"

const url = process.env.REDIS_URL
const program = Effect.gen(function* () {
  yield* EventBus.publish({ kind: "arena.start", arena: "plain-js" }).pipe(
    Effect.provide(RedisEventBus.layer({ url, stream: "plain:js" }))
  )
  const results = yield* EventReader.stream({ from: "0" }).pipe(
    Stream.take(1),
    Stream.runCollect,
    Effect.provide(RedisEventReader.layer({ url, stream: "plain:js" }))
  )
  return Chunk.toReadonlyArray(results).map((r) => (r._tag === "KnownEvent" ? r.event.arena : r._tag))
})

Effect.runPromise(program).then((arenas) => process.stdout.write(`${JSON.stringify(arenas)}\n`))
