// examples/src/consume.ts — consuming the stream as an Effect Stream
import { EventReader, type ReadResult } from "@maf/events"
import { RedisEventReader } from "@maf/events-redis"
import { Effect, Match, Stream } from "effect"

// Every entry comes out as one of four variants, each with its stream id; the match is exhaustive.
const describe = Match.type<ReadResult.ReadResult>().pipe(
  Match.tagsExhaustive({
    KnownEvent: ({ event, streamId }) =>
      `${streamId} ${event.kind} ${event.arena} ${JSON.stringify(event.payload)}`,
    UnknownKind: ({ kind, streamId }) => `${streamId} unknown kind ${kind}`,
    Malformed: ({ reason, streamId }) => `${streamId} malformed (${reason})`,
    Gap: ({ after, lost }) => `gap after ${after}: ${lost ?? "an unknown number of"} entries trimmed unread`
  })
)

// "$": the live tail; "0": the whole history; or an entry id to resume after it. Redis restarts,
// killed connections and hangs are survived: it resumes after the last entry it delivered.
const program = EventReader.stream({ from: "0" }).pipe(
  Stream.take(100),
  Stream.runForEach((result) => Effect.log(describe(result)))
)

Effect.runPromise(program.pipe(Effect.provide(RedisEventReader.layerConfig())))
