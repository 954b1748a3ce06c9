/**
 * The Sentinel kit on real `redis-server` processes: one deployment for the file (`layer`); the
 * sentinels agree on the master after start, and after `failover` and `killMaster` the master has
 * moved, the sentinels report the new one, and a client of ioredis' own Sentinel support writes to
 * it; a killed server comes back as a replica.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import * as RedisTestSentinel from "../src/RedisTestSentinel.js"
import { inPrivateTmpdir } from "./helpers/teardown.js"

type Deployment = Effect.Effect.Success<typeof RedisTestSentinel.RedisTestSentinel>

/** An ioredis client that finds the master through the sentinels, disconnected with the scope. */
const sentinelClient = (deployment: Deployment): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const client = new Redis({ sentinels: [...deployment.sentinels], name: deployment.masterName })
      client.on("error", () => {})
      return client
    }),
    (client) => Effect.sync(() => client.disconnect())
  )

/** The port of the server the client is connected to now. */
const connectedPort = (client: Redis) =>
  Effect.promise(() => client.call("CONFIG", "GET", "port")).pipe(
    Effect.map((reply) => Number((reply as ReadonlyArray<string>)[1]))
  )

layer(RedisTestSentinel.layer(), { timeout: 60_000 })("RedisTestSentinel", (it) => {
  it.effect("starts a master, a replica and three sentinels that agree on the master", () =>
    Effect.gen(function* () {
      const deployment = yield* RedisTestSentinel.RedisTestSentinel
      expect(deployment.masterName).toBe("mymaster")
      expect(deployment.sentinels).toHaveLength(3)
      expect(deployment.url).toBe(
        `redis+sentinel://${deployment.sentinels.map(({ port }) => `127.0.0.1:${port}`).join(",")}/mymaster/0`
      )
      const [first, second] = deployment.servers
      expect(yield* deployment.master).toEqual(first)
      for (const { port } of deployment.sentinels) {
        const reported = yield* deployment.commandAt(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
        expect(reported).toEqual(["127.0.0.1", String(first?.port)])
        const replicas = (yield* deployment.commandAt(port, "SENTINEL", "REPLICAS", "mymaster")) as Array<
          Array<string>
        >
        expect(replicas.map((fields) => Number(fields[fields.indexOf("port") + 1]))).toEqual([second?.port])
      }
      expect(String(yield* deployment.command("INFO", "replication"))).toMatch(/^connected_slaves:1/m)
      expect(String(yield* deployment.commandAt(second?.port ?? 0, "INFO", "replication"))).toMatch(
        /^master_link_status:up/m
      )
    })
  )

  it.effect("failover moves the master to the replica; a sentinel client writes to the new master", () =>
    Effect.gen(function* () {
      const deployment = yield* RedisTestSentinel.RedisTestSentinel
      const client = yield* sentinelClient(deployment)
      yield* Effect.promise(() => client.set("sentinel:before", "1"))
      const before = yield* deployment.master
      const started = Date.now()
      const after = yield* deployment.failover
      expect(Date.now() - started).toBeLessThan(15_000) // about 1.5 seconds here
      expect(after.port).not.toBe(before.port)
      expect(yield* deployment.master).toEqual(after)
      expect(String(yield* deployment.commandAt(after.port, "INFO", "replication"))).toMatch(/^role:master/m)
      // A client that asks the sentinels now writes to the new master.
      const fresh = yield* sentinelClient(deployment)
      yield* Effect.promise(() => fresh.set("sentinel:after", "2"))
      expect(yield* connectedPort(fresh)).toBe(after.port)
      expect(yield* deployment.command("MGET", "sentinel:before", "sentinel:after")).toEqual(["1", "2"])

      // Until the sentinels demote it, the former master is a master too; then it follows.
      const settling = Date.now()
      yield* deployment.awaitSettled
      expect(Date.now() - settling).toBeLessThan(10_000) // about a second here
      expect(String(yield* deployment.commandAt(before.port, "INFO", "replication"))).toMatch(/^role:slave/m)
      expect(yield* deployment.commandAt(before.port, "GET", "sentinel:after")).toBe("2")
      // The client connected before the failover is moved over (the demoted server closed its connections).
      yield* Effect.promise(() => client.set("sentinel:later", "3"))
      expect(yield* connectedPort(client)).toBe(after.port)
    }).pipe(Effect.scoped)
  )

  it.effect(
    "killMaster: the replica is promoted and takes writes; start brings the killed server back as a replica",
    () =>
      Effect.gen(function* () {
        const deployment = yield* RedisTestSentinel.RedisTestSentinel
        const client = yield* sentinelClient(deployment)
        yield* Effect.promise(() => client.set("kill:before", "1"))
        expect(yield* deployment.command("WAIT", 1, 5_000)).toBe(1)
        const before = yield* deployment.master
        const started = Date.now()
        const after = yield* deployment.killMaster
        expect(Date.now() - started).toBeLessThan(15_000) // about 3.5 seconds here
        expect(after.port).not.toBe(before.port)
        expect(yield* Effect.promise(() => client.get("kill:before"))).toBe("1")
        yield* Effect.promise(() => client.set("kill:after", "2"))
        expect(yield* connectedPort(client)).toBe(after.port)
        const dead = yield* Effect.flip(deployment.commandAt(before.port, "PING"))
        expect(dead.reason).toBe("Command")

        yield* deployment.start(before)
        expect(yield* deployment.master).toEqual(after)
        expect(String(yield* deployment.commandAt(before.port, "INFO", "replication"))).toMatch(
          /^role:slave/m
        )
        expect(yield* deployment.commandAt(before.port, "GET", "kill:after")).toBe("2")
      }).pipe(Effect.scoped)
  )

  it.effect("hang freezes a server for the duration", () =>
    Effect.gen(function* () {
      const deployment = yield* RedisTestSentinel.RedisTestSentinel
      const master = yield* deployment.master
      const replica = deployment.servers.find((server) => server.port !== master.port)
      if (replica === undefined) return expect.unreachable("a replica")
      const before = Date.now()
      yield* deployment.hang(replica, 400)
      expect(Date.now() - before).toBeLessThan(200)
      expect(yield* deployment.commandAt(replica.port, "PING")).toBe("PONG")
      expect(Date.now() - before).toBeGreaterThanOrEqual(350)
      yield* deployment.awaitSettled
    })
  )
})

describe("RedisTestSentinel lifecycle", () => {
  it.effect("a start failing midway kills what it started, removes its directories and says why", () =>
    Effect.gen(function* () {
      const { left, result: error } = yield* inPrivateTmpdir(
        Effect.flip(
          RedisTestSentinel.RedisTestSentinel.pipe(
            Effect.provide(RedisTestSentinel.layer({ startTimeout: "1 millis" }))
          )
        )
      )
      expect(error.reason).toBe("Startup")
      expect(error.message).toMatch(/^sentinel start: the replica in sync: not reached within 1ms/)
      expect(left).toEqual([])
    })
  )
})
