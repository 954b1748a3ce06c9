// examples/src/publish.ts — publishing from an Effect program
import { EventBus, PublishResult } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import { Effect } from "effect"

// Deep code reaches the bus through the Effect context: no global, no bus threaded through calls.
const runPhase = (arena: string, phase: string) =>
  Effect.gen(function* () {
    // Fire-and-forget: never waits for Redis; the event leaves in a batch.
    yield* EventBus.publishNowait({ kind: "phase.start", arena, phase })
    // Awaited: the entry's id, or why it was not written. Never fails, returns within a bound.
    const result = yield* EventBus.publish({ kind: "phase.complete", arena, phase, payload: { score: 0.93 } })
    if (PublishResult.isWritten(result)) yield* Effect.log(`written as ${result.id}`)
    else yield* Effect.logWarning(`not written: ${result.reason}`)
  })

// The URL comes from REDIS_URL (as a Redacted secret), else redis://localhost:6379/0. With Redis
// down the layer still builds and the program runs; closing it drains what is buffered.
const EventBusLive = RedisEventBus.layerConfig()

Effect.runPromise(runPhase("trading_intelligence", "analysis").pipe(Effect.provide(EventBusLive)))
