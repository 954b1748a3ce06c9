/**
 * Partitioned streams on a real Redis Cluster (3 masters, 3 replicas, made as `redis-cli --cluster
 * create` makes it, by the test kit): the partition keys of 3 and 6 partitions land evenly on the
 * masters, each with its dead-letter key in its slot, and each master takes `XADD` and the
 * dead-letter script's pair of keys for its partitions without a redirection; then the partition
 * checks (`PartitionConformance`) through the Redis backends in Cluster mode, on a cluster of their
 * own, the raw operations of the checks sent to the master of each key.
 */
import { expect, layer } from "@effect/vitest"
import { Partitions } from "@maf/events"
import { RedisGroupBackend, RedisStreamBackend } from "@maf/events-redis"
import { GroupConformance, PartitionConformance, RedisTestCluster } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** The raw operations of the checks, each sent to the master of its key. */
const rawOfCluster: Layer.Layer<GroupConformance.GroupRaw, never, RedisTestCluster.RedisTestCluster> =
  Layer.effect(
    GroupConformance.GroupRaw,
    Effect.map(RedisTestCluster.RedisTestCluster, (cluster) => {
      const onMaster = (key: string, ...args: ReadonlyArray<string | number>) =>
        Effect.flatMap(cluster.masterOf(key), (master) => cluster.command({ port: master.port }, ...args))
      return {
        appendFields: (stream, fields) =>
          Effect.map(onMaster(stream, "XADD", stream, "*", ...fields), String),
        deleteEntries: (stream, ids) => Effect.map(onMaster(stream, "XDEL", stream, ...ids), Number),
        trim: (stream, maxlen) => Effect.map(onMaster(stream, "XTRIM", stream, "MAXLEN", maxlen), Number),
        destroyGroup: (stream, group) =>
          Effect.map(onMaster(stream, "XGROUP", "DESTROY", stream, group), (reply) => Number(reply) === 1),
        deleteStream: (stream) => Effect.asVoid(onMaster(stream, "DEL", stream))
      }
    })
  )

/** The Redis backends in Cluster mode on the kit's cluster, and the raw operations on it. */
const onCluster = Layer.merge(
  Layer.unwrapEffect(
    Effect.map(RedisTestCluster.RedisTestCluster, (cluster) =>
      Layer.merge(
        RedisStreamBackend.layer({ url: cluster.url, cluster: true }),
        RedisGroupBackend.layer({ url: cluster.url, cluster: true })
      )
    )
  ),
  rawOfCluster
).pipe(Layer.provide(RedisTestCluster.layer()))

layer(RedisTestCluster.layer(), { excludeTestServices: true, timeout: 60_000 })(
  "partitioned streams on a Redis Cluster",
  (it) => {
    it.effect(
      "the 3 partition keys are on 3 different masters, each dead-letter key with its partition",
      () =>
        Effect.gen(function* () {
          const cluster = yield* RedisTestCluster.RedisTestCluster
          const keys = Partitions.keys("maf:events", 3)
          const masters = yield* Effect.forEach(keys, (key) => cluster.masterOf(key))
          expect(new Set(masters.map((m) => m.id)).size).toBe(3)
          for (const [i, key] of keys.entries()) {
            const master = masters[i]!
            // Redis' own slot of the key, on the node that serves it.
            expect(Number(yield* cluster.command({ port: master.port }, "CLUSTER", "KEYSLOT", key))).toBe(
              Partitions.keySlot(key)
            )
            expect((yield* cluster.masterOf(Partitions.deadLetterKey(key))).id).toBe(master.id)
            // Both keys in one command on their master: what the dead-letter script needs.
            yield* cluster.command({ port: master.port }, "XADD", key, "*", "data", "{}")
            const both = yield* cluster.command(
              { port: master.port },
              "EVAL",
              "redis.call('XADD', KEYS[2], '*', 'data', '{}'); return redis.call('XLEN', KEYS[1])",
              2,
              key,
              Partitions.deadLetterKey(key)
            )
            expect(Number(both)).toBe(1)
          }
        })
    )

    it.effect("6 partitions: two on each master", () =>
      Effect.gen(function* () {
        const cluster = yield* RedisTestCluster.RedisTestCluster
        const masters = yield* Effect.forEach(Partitions.keys("maf:events", 6), (key) =>
          cluster.masterOf(key)
        )
        const perMaster = new Map<string, number>()
        for (const master of masters) perMaster.set(master.id, (perMaster.get(master.id) ?? 0) + 1)
        expect([...perMaster.values()]).toEqual([2, 2, 2])
      })
    )
  }
)

PartitionConformance.conformance("the partition checks on a Redis Cluster", onCluster)
