/**
 * Publishing under a burst, on a real redis-server: N fibers each awaiting one `publish` at once.
 * Every answer must be true of what the stream holds: `Written` with the id the entry has, and a
 * `NotWritten` event absent unless its reason says the outcome is unknown (`Timeout`).
 */
import { describe, expect, layer } from "@effect/vitest"
import { EventBus, PublishResult } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"

type Entry = [string, Array<string>]

let streamCounter = 0
const freshStream = () => `test:load:${++streamCounter}`

/** A 400-byte payload's filler, as the load test used. */
const filler = "x".repeat(330)

interface Tally {
  readonly results: Map<string, PublishResult.PublishResult>
}

/** `n` publishes at once, each with a correlation id of its own; their answers. */
const burst = (n: number, prefix: string) =>
  Effect.gen(function* () {
    const results = new Map<string, PublishResult.PublishResult>()
    yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) => {
        const correlationId = `${prefix}${i.toString(16).padStart(8, "0")}`.padEnd(32, "0")
        return Effect.map(
          EventBus.publish({ kind: "llm.call", arena: "load", correlationId, payload: { i, filler } }),
          (result) => {
            results.set(correlationId, result)
          }
        )
      },
      { concurrency: "unbounded", discard: true }
    )
    return { results } satisfies Tally
  })

/** What the stream holds: entry id by correlation id. */
const holds = (server: RedisTestServer.RedisTestServer["Type"], stream: string) =>
  Effect.map(server.command("XRANGE", stream, "-", "+"), (reply) => {
    const ids = new Map<string, Array<string>>()
    for (const [id, fields] of reply as Array<Entry>) {
      const body = JSON.parse(fields[1]!)
      if (body.arena !== "load") continue
      const correlation = body.correlation_id as string
      ids.set(correlation, [...(ids.get(correlation) ?? []), id])
    }
    return ids
  })

/** Checks every answer against the stream; the counts by outcome. */
const check = (tally: Tally, stream: Map<string, Array<string>>) => {
  const counts = new Map<string, number>()
  for (const [correlation, result] of tally.results) {
    const key = result._tag === "Written" ? "Written" : result.reason
    counts.set(key, (counts.get(key) ?? 0) + 1)
    const ids = stream.get(correlation)
    // Never twice.
    expect(ids === undefined || ids.length === 1).toBe(true)
    if (result._tag === "Written") expect(ids).toEqual([result.id])
    else if (!PublishResult.isOutcomeUnknown(result)) expect(ids).toBeUndefined()
  }
  // Nothing in the stream that was not published.
  for (const correlation of stream.keys()) expect(tally.results.has(correlation)).toBe(true)
  return Object.fromEntries(counts)
}

const quiet = Logger.minimumLogLevel("Error" as never)

describe("publishing under a burst", () => {
  layer(RedisTestServer.layer(), { excludeTestServices: true, timeout: 120_000 })(
    "a real redis-server",
    (it) => {
      it.scoped(
        "20,000 concurrent awaited publishes, default options: each answer true of the stream, the rest Overloaded at once",
        () =>
          Effect.gen(function* () {
            const server = yield* RedisTestServer.RedisTestServer
            const stream = freshStream()
            const bus = RedisEventBus.layer({ url: server.url, stream })
            const tally = yield* burst(20_000, "a").pipe(Effect.provide(bus))
            const counts = check(tally, yield* holds(server, stream))
            // Twice the default capacity (10,000): what finds the outbox full is answered at once.
            expect(counts.Overloaded).toBeGreaterThan(9_000)
            // Forking 20,000 fibers stalls this process's event loop for about a second (a plain
            // Effect.sleep in place of publish does too): an answer that cannot be read within the
            // bound is a Timeout, honestly (one still waiting for the connection being made when its
            // bound ran out was never sent: Unavailable). With a bound past that stall, see the next test.
            expect(
              (counts.Written ?? 0) +
                (counts.Timeout ?? 0) +
                (counts.NotSent ?? 0) +
                (counts.Unavailable ?? 0)
            ).toBe(20_000 - counts.Overloaded!)
          }).pipe(Effect.provide(quiet))
      )

      it.scoped(
        "20,000 with a capacity for all and a bound past the burst's own stall: every one Written",
        () =>
          Effect.gen(function* () {
            const server = yield* RedisTestServer.RedisTestServer
            const stream = freshStream()
            const bus = RedisEventBus.layer({
              url: server.url,
              stream,
              bufferCapacity: 20_000,
              publishTimeout: "5 seconds"
            })
            const tally = yield* burst(20_000, "b").pipe(Effect.provide(bus))
            const counts = check(tally, yield* holds(server, stream))
            expect(counts).toEqual({ Written: 20_000 })
          }).pipe(Effect.provide(quiet))
      )

      it.scoped(
        "20,000 with the server stopped (SIGSTOP) for part of the burst: each answer still true of the stream",
        () =>
          Effect.gen(function* () {
            const server = yield* RedisTestServer.RedisTestServer
            const stream = freshStream()
            const info = String(yield* server.command("INFO", "server"))
            const pid = Number(/process_id:(\d+)/.exec(info)![1])
            const bus = RedisEventBus.layer({ url: server.url, stream, bufferCapacity: 20_000 })
            const tally = yield* Effect.gen(function* () {
              // Connected and warm before the burst.
              expect(PublishResult.isWritten(yield* EventBus.publish({ kind: "arena.start" }))).toBe(true)
              const fiber = yield* Effect.fork(burst(20_000, "c"))
              yield* Effect.sleep("20 millis")
              process.kill(pid, "SIGSTOP")
              yield* Effect.sleep("700 millis").pipe(
                Effect.ensuring(Effect.sync(() => process.kill(pid, "SIGCONT")))
              )
              return yield* Fiber.join(fiber)
            }).pipe(Effect.provide(bus))
            // Whatever was in flight when the server stopped is written once it goes on.
            yield* Effect.sleep("300 millis")
            const counts = check(tally, yield* holds(server, stream))
            expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(20_000)
            // The answers the hang left: NotSent (never sent) or Timeout (sent, unanswered).
            expect((counts.NotSent ?? 0) + (counts.Timeout ?? 0)).toBeGreaterThan(0)
          }).pipe(Effect.provide(quiet))
      )
    }
  )
})
