/**
 * Sentinels at the moments that are hard to bring about with real ones (a fake sentinel beside the
 * kit's real master and replica), both found by the chaos soak's Sentinel runs:
 *
 * - a sentinel that has not yet heard of a failover names the old master, a replica now: the bus is
 *   led to it, its writes answered `READONLY`. Nothing else would move that connection (the switch
 *   came before its failover detector subscribed): a `READONLY` reply makes it anew, the sentinels
 *   asked again, and the next publish is written on the master;
 * - a `+switch-master` announced while the client, its connection lost, is asking a sentinel for the
 *   master: ioredis then ends the client for good ("end", never reconnecting). The connection is
 *   made again, and publishing goes on.
 */
import { expect, layer } from "@effect/vitest"
import { EventBus, type PublishResult } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import { RedisTestSentinel } from "@maf/events-test"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FakeSentinel from "./helpers/fakeSentinel.js"

/** Publishes every 100 ms until an event is written (at most 50 tries): every answer. */
const publishUntilWritten = Effect.gen(function* () {
  const answers: Array<PublishResult.PublishResult> = []
  for (let i = 0; i < 50; i++) {
    const answer = yield* EventBus.publish({ kind: "agent.signal", payload: { i } })
    answers.push(answer)
    if (answer._tag === "Written") break
    yield* Effect.sleep("100 millis")
  }
  return answers
})

layer(RedisTestSentinel.layer(), { excludeTestServices: true, timeout: 60_000 })(
  "a fake sentinel beside the kit's master and replica",
  (it) => {
    it.scoped("the bus led to a replica makes its connection anew on READONLY and writes on the master", () =>
      Effect.gen(function* () {
        const sentinel = yield* RedisTestSentinel.RedisTestSentinel
        const master = yield* sentinel.master
        const replica = sentinel.servers.find((server) => server.port !== master.port)!
        // A sentinel that has not heard of a failover: it names the replica first.
        const stale = yield* FakeSentinel.make({ master: (asked) => (asked === 0 ? replica : master) })
        const stream = `sentinel-readonly:${process.pid}`
        // Published every 100 ms until written (at most 5 s): the first is refused on the replica
        // (`READONLY`: certainly not written, said at once), the next ones go to the master.
        const results = yield* publishUntilWritten.pipe(
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

    it.scoped(
      "a switch announced while the client asks for the master: the ended client is connected again",
      () =>
        Effect.gen(function* () {
          const sentinel = yield* RedisTestSentinel.RedisTestSentinel
          const master = yield* sentinel.master
          let delay = 0
          const fake = yield* FakeSentinel.make({ master: () => master, delayMillis: () => delay })
          const stream = `sentinel-switch:${process.pid}`
          const name = `switch-bus-${process.pid}`
          const layer = RedisEventBus.layer({
            url: `redis+sentinel://127.0.0.1:${fake.port}/${sentinel.masterName}`,
            stream,
            clientName: name,
            publishTimeout: Duration.seconds(2)
          })
          yield* Effect.gen(function* () {
            expect((yield* publishUntilWritten).length).toBe(1)
            // The bus's connection lost while the sentinel takes a second to answer: the client asks
            // it again, and the switch is announced meanwhile.
            delay = 1_000
            const list = String(yield* sentinel.command("CLIENT", "LIST", "TYPE", "normal"))
            const ids = list
              .split("\n")
              .filter((line) => line.includes(` name=${name} `))
              .map((line) => /id=(\d+)/.exec(line)![1]!)
            expect(ids.length).toBeGreaterThan(0)
            const askedBefore = fake.asked()
            for (const id of ids) yield* sentinel.command("CLIENT", "KILL", "ID", id)
            yield* Effect.sleep("300 millis")
            expect(fake.asked()).toBeGreaterThan(askedBefore)
            fake.switchMaster()
            yield* Effect.sleep("1200 millis")
            delay = 0
            // Written again within a few tries (never, with the client ended for good).
            const answers = yield* publishUntilWritten
            expect(answers.at(-1)?._tag).toBe("Written")
            expect(answers.length).toBeLessThan(20)
          }).pipe(Effect.provide(layer))
          expect(Number(yield* sentinel.command("XLEN", stream))).toBe(2)
        })
    )
  }
)
