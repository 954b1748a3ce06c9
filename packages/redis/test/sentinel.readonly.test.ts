/**
 * A sentinel that has not yet heard of a failover names the old master, a replica now: the bus is
 * led to it, its writes answered `READONLY`. Nothing else would move that connection (the switch
 * came before its failover detector subscribed): a `READONLY` reply makes it anew, the sentinels
 * asked again, and the publish is written on the master within its bound. (The chaos soak's
 * Sentinel runs found group members held on a replica that way, for good.)
 */
import { expect, layer } from "@effect/vitest"
import { EventBus, type PublishResult } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import { RedisTestSentinel } from "@maf/events-test"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as StaleSentinel from "./helpers/staleSentinel.js"

layer(RedisTestSentinel.layer(), { excludeTestServices: true, timeout: 60_000 })(
  "a sentinel naming a replica as the master",
  (it) => {
    it.scoped("the bus led to a replica makes its connection anew on READONLY and writes on the master", () =>
      Effect.gen(function* () {
        const sentinel = yield* RedisTestSentinel.RedisTestSentinel
        const master = yield* sentinel.master
        const replica = sentinel.servers.find((server) => server.port !== master.port)!
        const stale = yield* StaleSentinel.make(replica, master)
        const stream = `sentinel-readonly:${process.pid}`
        // Published every 100 ms until written (at most 5 s): the first is refused on the replica
        // (`READONLY`: certainly not written, said at once), the next ones go to the master.
        const results = yield* Effect.gen(function* () {
          const answers: Array<PublishResult.PublishResult> = []
          for (let i = 0; i < 50; i++) {
            const answer = yield* EventBus.publish({ kind: "agent.signal", payload: { i } })
            answers.push(answer)
            if (answer._tag === "Written") break
            yield* Effect.sleep("100 millis")
          }
          return answers
        }).pipe(
          Effect.provide(
            RedisEventBus.layer({
              url: `redis+sentinel://127.0.0.1:${stale.port}/${sentinel.masterName}`,
              stream,
              publishTimeout: Duration.seconds(2)
            })
          )
        )
        expect(results[0]).toMatchObject({
          _tag: "NotWritten",
          reason: "Unavailable",
          message: expect.stringMatching(/^READONLY/)
        })
        expect(results.at(-1)?._tag).toBe("Written")
        expect(results.length).toBeLessThanOrEqual(10)
        // Led to the replica first, then asked again.
        expect(stale.asked()).toBeGreaterThanOrEqual(2)
        expect(Number(yield* sentinel.command("XLEN", stream))).toBe(1)
      })
    )
  }
)
