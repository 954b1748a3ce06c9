/**
 * The topology a soak runs against, started with the test kit, and the faults it offers: one
 * `Deployment` shape for a single server (behind a `TcpProxy`: every client connects through it),
 * a Redis Cluster and a Sentinel deployment. Every fault returns once its effect is over (a server
 * answering again, a cluster settled), describing what it did.
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type { RedisEventBus } from "@maf/events-redis"
import { RedisTestCluster, RedisTestSentinel, RedisTestServer, TcpProxy } from "@maf/events-test"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { FaultKind, Topology } from "./History.js"
import type { Rng } from "./Rng.js"

/** What a server fault did: a line saying so, and whether it may have lost or failed over data. */
export interface FaultEffect {
  readonly detail: string
  readonly losesData: boolean
  readonly failsOver: boolean
  /** A trim: every entry below this id was removed. */
  readonly trimmedBelow?: string | undefined
  /** The clients it touched, by connection name, when it touched only some. */
  readonly touched?: ReadonlyArray<string> | undefined
}

/** A started topology: how clients connect, how to reach the stream's server, and its faults. */
export interface Deployment {
  readonly topology: Topology
  /** The connection options of every client of the soak. */
  readonly connection: RedisEventBus.Options
  /** A raw command on the server holding `key` (the master of its slot). */
  readonly command: (key: string, ...args: ReadonlyArray<string | number>) => Effect.Effect<unknown, unknown>
  /** Every normal client connection of every data server: its `CLIENT LIST` line and the server's port. */
  readonly clients: Effect.Effect<ReadonlyArray<{ readonly line: string; readonly port: number }>, unknown>
  /** `CLIENT KILL ID id` on the server at `port`. */
  readonly killClient: (port: number, id: string) => Effect.Effect<unknown, unknown>
  /** The server faults of this topology (the soak adds the generic ones). */
  readonly faults: Partial<Record<FaultKind, (rng: Rng, key: string) => Effect.Effect<FaultEffect, unknown>>>
}

/** A hang the reader's watchdog (block 1 s + grace 1 s) does not notice, and one it does. */
const shortHang = (rng: Rng) => rng.int(200, 800)
const longHang = (rng: Rng) => rng.int(2_500, 4_000)

/** `waitForReplicas` of the replicated topologies: a failover then keeps every acknowledged write. */
export const waitForReplicas = { replicas: 1, timeout: Duration.millis(500) } as const

const effect = (detail: string, losesData = false, failsOver = false): FaultEffect => ({
  detail,
  losesData,
  failsOver
})

const single: Effect.Effect<Deployment, unknown, Scope.Scope | CommandExecutor.CommandExecutor> = Effect.gen(
  function* () {
    const server = yield* RedisTestServer.make()
    const proxy = yield* TcpProxy.make({ target: { host: server.host, port: server.port } })
    return {
      topology: "single",
      connection: { url: proxy.url },
      command: (_key, ...args) => server.command(...args),
      clients: Effect.map(server.command("CLIENT", "LIST", "TYPE", "normal"), (reply) =>
        String(reply)
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) => ({ line, port: server.port }))
      ),
      killClient: (_port, id) => server.command("CLIENT", "KILL", "ID", id),
      faults: {
        restart: () => Effect.as(server.restart, effect("SHUTDOWN SAVE, then start")),
        // SIGKILL loses what was written since the last save, exactly as SHUTDOWN NOSAVE does.
        crash: () =>
          Effect.as(
            Effect.zipRight(server.kill, server.start),
            effect("SIGKILL (as SHUTDOWN NOSAVE), then start from the last save", true)
          ),
        hangShort: (rng) => {
          const millis = shortHang(rng)
          return Effect.as(
            Effect.zipRight(server.pause(Duration.millis(millis)), Effect.sleep(Duration.millis(millis))),
            effect(`SIGSTOP for ${millis} ms`)
          )
        },
        hangLong: (rng) => {
          const millis = longHang(rng)
          return Effect.as(
            Effect.zipRight(server.pause(Duration.millis(millis)), Effect.sleep(Duration.millis(millis))),
            effect(`SIGSTOP for ${millis} ms`)
          )
        },
        proxyStall: (rng) => {
          const millis = rng.int(300, 3_000)
          return Effect.as(
            proxy.stall.pipe(
              Effect.zipRight(Effect.sleep(Duration.millis(millis))),
              Effect.ensuring(proxy.restore)
            ),
            effect(`proxy stalled for ${millis} ms`)
          )
        },
        proxyDrop: () => Effect.map(proxy.drop, (n) => effect(`proxy reset ${n} connections`))
      }
    } satisfies Deployment
  }
)

const cluster: Effect.Effect<Deployment, unknown, Scope.Scope | CommandExecutor.CommandExecutor> = Effect.gen(
  function* () {
    const c = yield* RedisTestCluster.make()
    const masterOf = (key: string) => c.masterOf(key)
    const hang = (key: string, millis: number) =>
      Effect.gen(function* () {
        const master = yield* masterOf(key)
        yield* c.hang(master, Duration.millis(millis))
        yield* Effect.sleep(Duration.millis(millis))
        yield* c.awaitSettled
        return master
      })
    return {
      topology: "cluster",
      connection: { url: c.url, cluster: true, waitForReplicas },
      command: (key, ...args) => Effect.flatMap(masterOf(key), (master) => c.command(master, ...args)),
      clients: Effect.gen(function* () {
        const nodes = (yield* c.topology).filter((node) => node.running)
        const lists = yield* Effect.forEach(nodes, (node) =>
          Effect.map(c.command(node, "CLIENT", "LIST", "TYPE", "normal"), (reply) =>
            String(reply)
              .split("\n")
              .filter((line) => line.trim() !== "")
              .map((line) => ({ line, port: node.port }))
          )
        )
        return lists.flat()
      }),
      killClient: (port, id) => c.command(port, "CLIENT", "KILL", "ID", id),
      faults: {
        restart: (_rng, key) =>
          Effect.gen(function* () {
            const master = yield* masterOf(key)
            yield* c.restart(master)
            return effect(
              `SHUTDOWN SAVE of master ${master.port} (its replica took over), then start`,
              false,
              true
            )
          }),
        // The killed node (no persistence) comes back only once its replica took over: back at once,
        // it would keep its slots empty and its replica would resync from it (all data gone). If no
        // replica takes over within 15 s, it comes back anyway, and the fault says it lost the data.
        crash: (_rng, key) =>
          Effect.gen(function* () {
            const master = yield* masterOf(key)
            yield* c.kill(master)
            const promoted = yield* masterOf(key).pipe(
              Effect.filterOrFail(
                (now) => now.port !== master.port,
                () => "not yet"
              ),
              Effect.retry(Schedule.spaced(Duration.millis(100))),
              Effect.timeoutOption(Duration.seconds(15))
            )
            yield* c.start(master)
            yield* c.awaitSettled
            return Option.isSome(promoted)
              ? effect(
                  `SIGKILL of master ${master.port} (${promoted.value.port} took over), then start`,
                  false,
                  true
                )
              : effect(
                  `SIGKILL of master ${master.port} (no replica took over: back empty), then start`,
                  true,
                  true
                )
          }),
        hangShort: (rng, key) => {
          const millis = shortHang(rng)
          return Effect.map(hang(key, millis), (m) => effect(`SIGSTOP of master ${m.port} for ${millis} ms`))
        },
        // Longer than the node timeout (1 s): its replica may take over.
        hangLong: (rng, key) => {
          const millis = longHang(rng)
          return Effect.map(hang(key, millis), (m) =>
            effect(`SIGSTOP of master ${m.port} for ${millis} ms`, false, true)
          )
        },
        failover: (_rng, key) =>
          Effect.gen(function* () {
            const master = yield* masterOf(key)
            const promoted = yield* c.failover(master)
            return effect(`CLUSTER FAILOVER: ${master.port} → ${promoted.port}`, false, true)
          }),
        slotMigration: (rng, key) =>
          Effect.gen(function* () {
            const master = yield* masterOf(key)
            const others = (yield* c.topology).filter(
              (node) => node.role === "master" && node.running && node.port !== master.port
            )
            const to = rng.pick(others)
            const slot = c.slotOf(key)
            yield* c.migrateSlot(slot, to)
            return effect(`slot ${slot} migrated ${master.port} → ${to.port}`)
          })
      }
    } satisfies Deployment
  }
)

const sentinel: Effect.Effect<Deployment, unknown, Scope.Scope | CommandExecutor.CommandExecutor> =
  Effect.gen(function* () {
    const s = yield* RedisTestSentinel.make()
    const hang = (millis: number) =>
      Effect.gen(function* () {
        const master = yield* s.master
        yield* s.hang(master, Duration.millis(millis))
        yield* Effect.sleep(Duration.millis(millis))
        yield* s.awaitSettled
        return master
      })
    return {
      topology: "sentinel",
      connection: { url: s.url, waitForReplicas },
      command: (_key, ...args) => s.command(...args),
      clients: Effect.gen(function* () {
        const lists = yield* Effect.forEach(s.servers, (server) =>
          s.commandAt(server.port, "CLIENT", "LIST", "TYPE", "normal").pipe(
            Effect.map((reply) =>
              String(reply)
                .split("\n")
                .filter((line) => line.trim() !== "")
                .map((line) => ({ line, port: server.port }))
            ),
            // A server killed and not yet started again has no clients.
            Effect.orElseSucceed(() => [])
          )
        )
        return lists.flat()
      }),
      killClient: (port, id) => s.commandAt(port, "CLIENT", "KILL", "ID", id),
      faults: {
        crash: () =>
          Effect.gen(function* () {
            const killed = yield* s.master
            const promoted = yield* s.killMaster
            yield* s.start(killed)
            yield* s.awaitSettled
            return effect(
              `SIGKILL of master ${killed.port} (${promoted.port} promoted), then start`,
              false,
              true
            )
          }),
        hangShort: (rng) => {
          const millis = shortHang(rng)
          return Effect.map(hang(millis), (m) => effect(`SIGSTOP of master ${m.port} for ${millis} ms`))
        },
        // Longer than down-after (1 s): the sentinels may fail it over.
        hangLong: (rng) => {
          const millis = longHang(rng)
          return Effect.map(hang(millis), (m) =>
            effect(`SIGSTOP of master ${m.port} for ${millis} ms`, false, true)
          )
        },
        failover: () =>
          Effect.gen(function* () {
            const before = yield* s.master
            const promoted = yield* s.failover
            yield* s.awaitSettled
            return effect(`SENTINEL FAILOVER: ${before.port} → ${promoted.port}`, false, true)
          })
      }
    } satisfies Deployment
  })

/** Starts a topology of the kit, torn down with the scope. */
export const start = (
  topology: Topology
): Effect.Effect<Deployment, unknown, Scope.Scope | CommandExecutor.CommandExecutor> =>
  topology === "single" ? single : topology === "cluster" ? cluster : sentinel
