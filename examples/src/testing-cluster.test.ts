// examples/src/testing-cluster.test.ts — a real Redis Cluster in a test, and a hard failover
import { expect, layer } from "@effect/vitest"
import { RedisTestCluster } from "@maf/events-test"
import { Effect } from "effect"

// One cluster for the file: 3 masters and 3 replicas of redis-server, ready in about 3 seconds.
layer(RedisTestCluster.layer())("on a Redis Cluster", (it) => {
  it.effect("a replica takes over a killed master, with what was replicated", () =>
    Effect.gen(function* () {
      const cluster = yield* RedisTestCluster.RedisTestCluster
      // cluster.nodes are the start-up nodes of a cluster client; cluster.url names one of them.
      const master = yield* cluster.masterOf("orders")
      yield* cluster.command(master, "SET", "orders", "42")
      yield* cluster.command(master, "WAIT", 1, 5_000) // on its replica too
      yield* cluster.kill(master) // SIGKILL; returns once a replica serves the slot and all is ok
      const successor = yield* cluster.masterOf("orders")
      expect(successor.port).not.toBe(master.port)
      expect(yield* cluster.command(successor, "GET", "orders")).toBe("42")
    })
  )
})
