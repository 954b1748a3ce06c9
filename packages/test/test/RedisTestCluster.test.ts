/**
 * The cluster kit on real `redis-server` processes: one cluster for the file (`layer`), every fault
 * checked from outside with plain and cluster clients — the state after start, slots as Redis
 * computes them, a graceful and a hard failover (data replicated with `WAIT` survives), a node
 * stopped and started again, a slot migration seen as `ASK` then `MOVED`, a frozen node.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { Cluster, Redis } from "ioredis"
import * as RedisTestCluster from "../src/RedisTestCluster.js"
import { connectionRefused, inPrivateTmpdir } from "./helpers/teardown.js"

/** An ioredis `Cluster` on the kit's start-up nodes, disconnected with the scope. */
const clusterClient = (cluster: Context): Effect.Effect<Cluster, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const client = new Cluster([...cluster.nodes], { enableOfflineQueue: true })
      client.on("error", () => {})
      return client
    }),
    (client) => Effect.sync(() => client.disconnect())
  )

/** A plain (not cluster-aware) client of one node, disconnected with the scope. */
const nodeClient = (port: number): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const client = new Redis({
        host: "127.0.0.1",
        port,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0
      })
      client.on("error", () => {})
      return client
    }),
    (client) => Effect.sync(() => client.disconnect())
  )

type Context = Effect.Effect.Success<typeof RedisTestCluster.RedisTestCluster>

/** The rejection of a promise, as an error value. */
const rejection = <A>(promise: () => Promise<A>): Effect.Effect<unknown, A> =>
  Effect.tryPromise({ try: promise, catch: (error) => error }).pipe(Effect.flip)

const inRange = (slot: number) => (node: RedisTestCluster.ClusterNode) =>
  node.slots.some(([from, to]) => from <= slot && slot <= to)

describe("RedisTestCluster.slotOf", () => {
  it("is CRC16/XMODEM modulo 16384", () => {
    expect(RedisTestCluster.slotOf("123456789")).toBe(0x31c3 % 16_384)
    expect(RedisTestCluster.slotOf("")).toBe(0)
  })

  it("hashes only a non-empty hash tag", () => {
    expect(RedisTestCluster.slotOf("{user1000}.following")).toBe(RedisTestCluster.slotOf("user1000"))
    expect(RedisTestCluster.slotOf("foo{bar}{zap}")).toBe(RedisTestCluster.slotOf("bar"))
    expect(RedisTestCluster.slotOf("foo{}{bar}")).not.toBe(RedisTestCluster.slotOf("bar"))
    expect(RedisTestCluster.slotOf("foo{{bar}}zap")).toBe(RedisTestCluster.slotOf("{bar"))
  })
})

layer(RedisTestCluster.layer(), { timeout: 60_000 })("RedisTestCluster", (it) => {
  it.effect("starts 3 masters with a replica each, every slot served, ok on every node", () =>
    Effect.gen(function* () {
      const cluster = yield* RedisTestCluster.RedisTestCluster
      expect(cluster.nodes).toHaveLength(6)
      expect(cluster.url).toBe(`redis://127.0.0.1:${cluster.nodes[0]?.port}/0`)
      for (const { port } of cluster.nodes) {
        expect(port).toBeLessThan(55_536)
        const info = String(yield* cluster.command(port, "CLUSTER", "INFO"))
        expect(info).toMatch(/^cluster_state:ok/m)
        expect(info).toMatch(/^cluster_slots_ok:16384/m)
      }
      const topology = yield* cluster.topology
      const masters = topology.filter((node) => node.role === "master")
      const replicas = topology.filter((node) => node.role === "replica")
      expect(masters).toHaveLength(3)
      expect(replicas).toHaveLength(3)
      expect(topology.every((node) => node.running && /^[0-9a-f]{40}$/.test(node.id))).toBe(true)
      for (const master of masters) {
        expect(replicas.filter((replica) => Option.contains(replica.masterId, master.id))).toHaveLength(1)
      }
      const served = masters.flatMap((node) => node.slots).reduce((n, [from, to]) => n + to - from + 1, 0)
      expect(served).toBe(16_384)
    })
  )

  it.effect("slotOf is CLUSTER KEYSLOT, masterOf the node that takes the key", () =>
    Effect.gen(function* () {
      const cluster = yield* RedisTestCluster.RedisTestCluster
      const keys = [
        "maf:events",
        "{maf:events}:0",
        "{user1000}.following",
        "foo{}{bar}",
        "foo{{bar}}zap",
        "a{b}c{d}",
        "{}",
        "événements",
        "123456789"
      ]
      for (const key of keys) {
        expect([key, cluster.slotOf(key)]).toEqual([
          key,
          yield* cluster.command(cluster.nodes[0]?.port ?? 0, "CLUSTER", "KEYSLOT", key)
        ])
        const master = yield* cluster.masterOf(key)
        expect(yield* cluster.command(master, "SET", key, "here")).toBe("OK")
      }
    })
  )

  it.effect("failover(master) makes its replica the master of its slots", () =>
    Effect.gen(function* () {
      const cluster = yield* RedisTestCluster.RedisTestCluster
      const before = yield* cluster.masterOf("failover:key")
      yield* cluster.command(before, "SET", "failover:key", "v1")
      const started = Date.now()
      const promoted = yield* cluster.failover(before)
      expect(Date.now() - started).toBeLessThan(10_000) // about half a second here
      expect(promoted.port).not.toBe(before.port)
      expect(promoted.role).toBe("master")
      expect(promoted.slots).toEqual(before.slots)
      const topology = yield* cluster.topology
      const demoted = topology.find((node) => node.port === before.port)
      expect(demoted?.role).toBe("replica")
      expect(demoted?.masterId).toEqual(Option.some(promoted.id))
      expect((yield* cluster.masterOf("failover:key")).port).toBe(promoted.port)
      expect(yield* cluster.command(promoted, "GET", "failover:key")).toBe("v1")
    })
  )

  it.effect(
    "kill(master): a replica takes over with what was replicated, start brings the node back as a replica",
    () =>
      Effect.gen(function* () {
        const cluster = yield* RedisTestCluster.RedisTestCluster
        const victim = yield* cluster.masterOf("kill:key")
        yield* cluster.command(victim, "SET", "kill:key", "kept")
        expect(yield* cluster.command(victim, "WAIT", 1, 5_000)).toBe(1)
        const started = Date.now()
        yield* cluster.kill(victim)
        expect(Date.now() - started).toBeLessThan(15_000) // 2 to 3 seconds here
        const successor = yield* cluster.masterOf("kill:key")
        expect(successor.port).not.toBe(victim.port)
        expect(yield* cluster.command(successor, "GET", "kill:key")).toBe("kept")
        const dead = (yield* cluster.topology).find((node) => node.port === victim.port)
        expect(dead?.running).toBe(false)
        const error = yield* Effect.flip(cluster.command(victim, "PING"))
        expect(error.reason).toBe("Command")

        yield* cluster.start(victim)
        const back = (yield* cluster.topology).find((node) => node.port === victim.port)
        expect(back?.running).toBe(true)
        expect(back?.role).toBe("replica")
        expect(back?.masterId).toEqual(Option.some(successor.id))
        expect(yield* cluster.command(victim, "READONLY")).toBe("OK")
      })
  )

  it.effect("stop and restart of a replica keep the cluster serving", () =>
    Effect.gen(function* () {
      const cluster = yield* RedisTestCluster.RedisTestCluster
      const replica = (yield* cluster.topology).find((node) => node.role === "replica")
      expect(replica).toBeDefined()
      if (replica === undefined) return
      yield* cluster.stop(replica)
      expect((yield* cluster.topology).find((node) => node.port === replica.port)?.running).toBe(false)
      const client = yield* clusterClient(cluster)
      expect(yield* Effect.promise(() => client.set("stop:key", "v"))).toBe("OK")
      yield* cluster.restart(replica) // stopped already: started again
      expect((yield* cluster.topology).find((node) => node.port === replica.port)?.running).toBe(true)
      expect(yield* Effect.promise(() => client.get("stop:key"))).toBe("v")
    }).pipe(Effect.scoped)
  )

  it.effect("beginMigration: ASK while the slot is half moved, MOVED once finished", () =>
    Effect.gen(function* () {
      const cluster = yield* RedisTestCluster.RedisTestCluster
      const keys = ["{mig}:a", "{mig}:b", "{mig}:c"]
      const slot = cluster.slotOf("{mig}")
      const source = yield* cluster.masterOf("{mig}")
      for (const key of keys) yield* cluster.command(source, "SET", key, key)
      const target = (yield* cluster.topology).find(
        (node) => node.role === "master" && node.port !== source.port
      )
      if (target === undefined) return expect.unreachable("a second master")

      const migration = yield* cluster.beginMigration(slot, target, { keys: ["{mig}:a"] })
      expect(migration.source.port).toBe(source.port)
      const plain = yield* nodeClient(source.port)
      const ask = yield* rejection(() => plain.get("{mig}:a"))
      expect(String(ask)).toMatch(new RegExp(`ASK ${slot} 127\\.0\\.0\\.1:${target.port}`))
      expect(yield* Effect.promise(() => plain.get("{mig}:b"))).toBe("{mig}:b")
      const client = yield* clusterClient(cluster)
      expect(yield* Effect.promise(() => Promise.all(keys.map((key) => client.get(key))))).toEqual(keys)

      yield* migration.finish
      const moved = yield* rejection(() => plain.get("{mig}:b"))
      expect(String(moved)).toMatch(new RegExp(`MOVED ${slot} 127\\.0\\.0\\.1:${target.port}`))
      expect((yield* cluster.masterOf("{mig}")).port).toBe(target.port)
      expect(
        (yield* cluster.topology)
          .find((node) => node.port === target.port)
          ?.slots.some(([from, to]) => from <= slot && slot <= to)
      ).toBe(true)
      expect(yield* Effect.promise(() => Promise.all(keys.map((key) => client.get(key))))).toEqual(keys)
      expect(yield* cluster.command(target, "GET", "{mig}:c")).toBe("{mig}:c")

      // And back, in one go.
      yield* cluster.migrateSlot(slot, source)
      expect((yield* cluster.topology).filter(inRange(slot)).map((node) => node.port)).toEqual([source.port])
      expect(yield* cluster.command(source, "GET", "{mig}:a")).toBe("{mig}:a")
    }).pipe(Effect.scoped)
  )

  it.effect("bad fault arguments fail clearly", () =>
    Effect.gen(function* () {
      const cluster = yield* RedisTestCluster.RedisTestCluster
      const replica = (yield* cluster.topology).find((node) => node.role === "replica")
      if (replica === undefined) return expect.unreachable("a replica")
      const noNode = yield* Effect.flip(cluster.command(1, "PING"))
      expect(noNode.message).toMatch(/no node of the cluster listens on port 1/)
      const toReplica = yield* Effect.flip(cluster.migrateSlot(0, replica))
      expect(toReplica.message).toMatch(/is not a master/)
      const badSlot = yield* Effect.flip(cluster.migrateSlot(16_384, cluster.nodes[0]?.port ?? 0))
      expect(badSlot.message).toMatch(/from 0 to 16383/)
    })
  )

  it.effect("hang freezes a node for the duration", () =>
    Effect.gen(function* () {
      const cluster = yield* RedisTestCluster.RedisTestCluster
      const replica = (yield* cluster.topology).find((node) => node.role === "replica")
      if (replica === undefined) return expect.unreachable("a replica")
      const client = yield* nodeClient(replica.port)
      expect(yield* Effect.promise(() => client.ping())).toBe("PONG")
      const before = Date.now()
      yield* cluster.hang(replica, 500)
      expect(yield* Effect.promise(() => client.ping())).toBe("PONG")
      expect(Date.now() - before).toBeGreaterThanOrEqual(400)
      yield* cluster.awaitSettled
    }).pipe(Effect.scoped)
  )
})

describe("RedisTestCluster with TLS", () => {
  it.effect("speaks TLS only: to clients, on the cluster bus and to replicas", () =>
    Effect.gen(function* () {
      const cluster = yield* RedisTestCluster.RedisTestCluster
      expect(cluster.url).toBe(`rediss://127.0.0.1:${cluster.nodes[0]?.port}/0`)
      const { ca, clientCert, clientKey } = yield* cluster.certificates
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const tls = { ca: ca.pem, cert: clientCert.pem, key: clientKey.pem }
          const redis = new Cluster([...cluster.nodes], { redisOptions: { tls } })
          redis.on("error", () => {})
          return redis
        }),
        (redis) => Effect.sync(() => redis.disconnect())
      )
      expect(yield* Effect.promise(() => client.set("tls:key", "v"))).toBe("OK")
      const master = yield* cluster.masterOf("tls:key")
      expect(yield* cluster.command(master, "WAIT", 1, 5_000)).toBe(1) // replicated over TLS
      const promoted = yield* cluster.failover(master)
      expect(yield* cluster.command(promoted, "GET", "tls:key")).toBe("v")
      const plain = yield* nodeClient(promoted.port)
      const refused = yield* rejection(() => plain.ping())
      expect(String(refused)).toMatch(/closed|reset|ECONNRESET/i)
    }).pipe(Effect.scoped, Effect.provide(RedisTestCluster.layer({ tls: true })))
  )
})

describe("RedisTestCluster lifecycle", () => {
  it.effect("closing the scope kills every node and removes their directories", () =>
    Effect.gen(function* () {
      const { left, result: ports } = yield* inPrivateTmpdir(
        Effect.gen(function* () {
          const cluster = yield* RedisTestCluster.RedisTestCluster
          const topology = yield* cluster.topology
          expect(topology.map((node) => node.role)).toEqual(["master", "master", "master"])
          return cluster.nodes.map((node) => node.port)
        }).pipe(Effect.provide(RedisTestCluster.layer({ replicasPerMaster: 0 })))
      )
      expect(left).toEqual([])
      for (const port of ports) expect(yield* connectionRefused(port)).toBe(true)
    })
  )

  it.effect("a start failing midway leaves nothing behind and says why", () =>
    Effect.gen(function* () {
      const { left, result: error } = yield* inPrivateTmpdir(
        Effect.flip(
          RedisTestCluster.RedisTestCluster.pipe(
            Effect.provide(RedisTestCluster.layer({ cliExecutable: "false" }))
          )
        )
      )
      expect(error.reason).toBe("Startup")
      expect(error.message).toMatch(/^false --cluster create exited with code 1/)
      expect(left).toEqual([])
    })
  )

  it.effect("bad options are refused before anything starts", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        RedisTestCluster.RedisTestCluster.pipe(Effect.provide(RedisTestCluster.layer({ masters: 2 })))
      )
      expect(error.message).toMatch(/at least 3 masters/)
    })
  )
})
