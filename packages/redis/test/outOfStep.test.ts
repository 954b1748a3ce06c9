/**
 * A connection left out of step (a network that lost bytes in both directions: each reply then goes
 * to an earlier command) never makes the bus lie: a batch is answered `Written` only with its own
 * entries' ids. The append script returns the token of its call, and a reply carrying another
 * call's token (or a single `XADD` answered with something that is not an id) is an unknown outcome
 * (`Timeout`) that has the connection checked at once. (Found by the chaos soak: an awaited publish
 * answered `Written` with another batch's id, and fire-and-forget events counted written that never
 * were.)
 */
import { expect, layer } from "@effect/vitest"
import { EventBus, PublishResult, StreamBackend } from "@maf/events"
import { RedisStreamBackend } from "@maf/events-redis"
import { RedisTestServer, TcpProxy } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"

type Entry = [string, Array<string>]

layer(TcpProxy.layerToTestServer().pipe(Layer.provideMerge(RedisTestServer.layer())), {
  excludeTestServices: true
})("appends on a connection out of step", (it) => {
  it.scoped("a Written answer always carries the event's own entry id", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const proxy = yield* TcpProxy.TcpProxy
      const stream = "out-of-step:appends"
      const backend = yield* RedisStreamBackend.make({ url: proxy.url })
      yield* Effect.orDie(backend.info(stream))
      const bus = yield* EventBus.make({
        stream,
        publishTimeout: "300 millis",
        batchTimeout: "300 millis",
        retrySchedule: Schedule.spaced("50 millis")
      }).pipe(Effect.provideService(StreamBackend.StreamBackend, backend))
      // Rounds of 4 awaited publishes at once (one batch each: the append script), some of them
      // sent while the network is stalled (their bytes lost), the rest after it heals.
      const results: Array<{ readonly n: number; readonly result: PublishResult.PublishResult }> = []
      let n = 0
      const round = Effect.forEach(
        [0, 1, 2, 3],
        () => {
          const i = n++
          return Effect.map(bus.publish({ kind: "agent.signal", payload: { n: i } }), (result) =>
            results.push({ n: i, result })
          )
        },
        { concurrency: "unbounded", discard: true }
      )
      yield* round
      for (let stall = 0; stall < 3; stall++) {
        yield* proxy.stall
        yield* Effect.forkScoped(round)
        yield* Effect.sleep("20 millis")
        yield* proxy.restore
        for (let i = 0; i < 5; i++) yield* round
      }
      // Publishing works again once the connection is made anew.
      yield* Effect.eventually(
        Effect.flatMap(bus.publish({ kind: "agent.signal", payload: { n: -1 } }), (result) =>
          PublishResult.isWritten(result) ? Effect.void : Effect.fail(result)
        ).pipe(Effect.delay("50 millis"))
      )
      const entries = (yield* server.command("XRANGE", stream, "-", "+")) as Array<Entry>
      const numberAt = new Map(
        entries.map(([id, fields]) => [id, JSON.parse(fields[1]!).payload.n as number])
      )
      const written = results.filter((r) => PublishResult.isWritten(r.result))
      expect(written.length).toBeGreaterThan(0)
      // Each Written id is the entry of that very event.
      for (const { n, result } of written)
        if (result._tag === "Written") expect({ n, at: numberAt.get(result.id) }).toEqual({ n, at: n })
      // Not written (and not Timeout): not in the stream.
      const inStream = new Set(numberAt.values())
      for (const { n, result } of results)
        if (result._tag === "NotWritten" && result.reason !== "Timeout") expect(inStream.has(n)).toBe(false)
    })
  )
})
