/**
 * The suite has teeth on a real server too: Redis backends that claim bounds they do not keep are
 * caught by `hungServer` (the test kit's own broken backends, over the in-memory one, are in
 * packages/test/test/conformance.broken.test.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { StreamBackend } from "@maf/events"
import { RedisStreamBackend } from "@maf/events-redis"
import { Conformance } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** The suite's environment on a real redis-server, with the Redis backend. */
const OnRedis = Conformance.layerRedis((url) => RedisStreamBackend.layer({ url }))

/**
 * A Redis backend that says it bounds its appends (`boundsAppends`) and does not: `timeoutMillis` is
 * dropped on the way, so that an append waits for as long as the server does.
 */
const claimsBoundedAppends = Layer.effect(
  StreamBackend.StreamBackend,
  Effect.map(StreamBackend.StreamBackend, (redis) => ({
    ...redis,
    boundsAppends: true,
    append: (stream: string, bodies: ReadonlyArray<string>, options: StreamBackend.AppendOptions) =>
      redis.append(stream, bodies, { maxlen: options.maxlen })
  }))
).pipe(Layer.provideMerge(OnRedis))

/** A Redis backend whose cursors say they bound their reads and do not: `timeoutMillis` is dropped. */
const claimsBoundedReads = Layer.effect(
  StreamBackend.StreamBackend,
  Effect.map(StreamBackend.StreamBackend, (redis) => ({
    ...redis,
    openCursor: Effect.map(redis.openCursor, (cursor) => ({
      boundsReads: true,
      read: (stream: string, after: string, options: StreamBackend.ReadOptions) =>
        cursor.read(stream, after, { count: options.count, blockMillis: options.blockMillis })
    }))
  }))
).pipe(Layer.provideMerge(OnRedis))

/** Runs a check and returns its failure's message (fails the test when the check passes). */
const failureOf = <R>(check: Conformance.Check<R>) =>
  Effect.map(Effect.flip(check.run), (error) => {
    expect(error._tag).toBe("ConformanceError")
    expect(error.check).toBe(check.name)
    return error.message
  })

describe("the suite catches Redis backends that claim bounds they do not keep", () => {
  it.effect("a Redis cursor that says it bounds its reads and does not: a read waits out the hang", () =>
    Effect.gen(function* () {
      expect(yield* failureOf(Conformance.hungServer)).toMatch(
        /a read given timeoutMillis 200 (during the hang answered .*"_tag":"Right".*, not reason Timeout|answered after 1)/
      )
    }).pipe(Effect.provide(claimsBoundedReads))
  )

  it.effect(
    "a Redis backend that says it bounds its appends and does not: a publish waits out the hang",
    () =>
      Effect.gen(function* () {
        expect(yield* failureOf(Conformance.hungServer)).toMatch(
          /the publish during the hang answered .*"_tag":"Written".*, not NotWritten with reason Timeout/
        )
      }).pipe(Effect.provide(claimsBoundedAppends))
  )
})
