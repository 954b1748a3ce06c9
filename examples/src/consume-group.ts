// examples/src/consume-group.ts — a member of a consumer group
import { EventConsumer } from "@maf/events"
import { RedisEventConsumer } from "@maf/events-redis"
import { Data, Effect, Fiber, Stream } from "effect"

class NoCost extends Data.TaggedError("NoCost")<{ readonly streamId: string }> {}

// Books an LLM call's cost (here: a log line). A typed failure means "retry".
const bookCost = (streamId: string, payload: Record<string, unknown>) =>
  typeof payload.cost_usd === "number"
    ? Effect.log(`booked ${payload.cost_usd} USD for ${streamId}`)
    : Effect.fail(new NoCost({ streamId }))

// Each entry goes to one member of the group "auditor", and is acknowledged once its handler succeeds.
// A failure or a defect retries it (after about 100 ms, doubling), by this member, as a new delivery;
// the fifth failed delivery moves it to the dead-letter stream "maf:events:dead".
const auditor = EventConsumer.consume({
  group: "auditor",
  concurrency: 4,
  handler: (message) => {
    switch (message._tag) {
      case "KnownEvent":
        return message.event.kind === "llm.call"
          ? bookCost(message.streamId, message.event.payload)
          : Effect.void
      case "Malformed":
        // Retrying cannot mend it: said explicitly.
        return Effect.succeed(EventConsumer.Outcome.DeadLetter({ reason: `malformed (${message.reason})` }))
      case "UnknownKind":
        return Effect.void
      case "Gap":
        return Effect.logWarning(`${message.lost} pending entries were removed before they were handled`)
    }
  }
})

// The same member as a Stream, for composing: each message is settled by the program.
const auditorStream = EventConsumer.stream({ group: "auditor", concurrency: 4 }).pipe(
  Stream.mapEffect(
    (message) =>
      message._tag !== "KnownEvent"
        ? message._tag === "Gap"
          ? Effect.void
          : message.ack
        : bookCost(message.streamId, message.event.payload).pipe(
            Effect.zipRight(message.ack),
            Effect.catchAll((error) => message.deadLetter(`no cost in ${error.streamId}`))
          ),
    { concurrency: 4 }
  ),
  Stream.runDrain
)

// REDIS_URL (else redis://localhost:6379/0) and MAF_EVENTS_STREAM (else maf:events). The member runs
// until interrupted (here by Ctrl+C or SIGTERM): it stops reading, lets running handlers finish
// (10 s at most), acknowledges what finished and leaves the rest pending for the group.
const program = process.argv.includes("--stream") ? auditorStream : auditor
const member = Effect.runFork(program.pipe(Effect.provide(RedisEventConsumer.layerConfig())))
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => Effect.runFork(Fiber.interrupt(member)))
}
