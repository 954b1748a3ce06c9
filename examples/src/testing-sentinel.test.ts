// examples/src/testing-sentinel.test.ts — a real Sentinel deployment in a test, and a failover
import { expect, layer } from "@effect/vitest"
import { RedisTestSentinel } from "@maf/events-test"
import { Effect } from "effect"

// A master, a replica and three sentinels, ready in about 4 seconds.
layer(RedisTestSentinel.layer())("under Sentinel", (it) => {
  it.effect("the sentinels promote the replica of a killed master", () =>
    Effect.gen(function* () {
      const deployment = yield* RedisTestSentinel.RedisTestSentinel
      // What a client is given: redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/mymaster/0
      expect(deployment.url).toMatch(/^redis\+sentinel:\/\/.+\/mymaster\/0$/)
      const before = yield* deployment.master
      const after = yield* deployment.killMaster // returns once every sentinel reports the replica
      expect(after.port).not.toBe(before.port)
      expect(yield* deployment.command("SET", "orders", "42")).toBe("OK") // on the new master
    })
  )
})
