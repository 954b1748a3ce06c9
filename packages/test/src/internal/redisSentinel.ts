/**
 * The Sentinel kit's workings: two data servers and three sentinels (each a {@link RedisNode}),
 * what "settled" means (every sentinel reports the same master, which is one; it sees the running
 * replica in sync and the two other sentinels; nothing is down or failing over), and the faults,
 * each waiting until the deployment has settled on its new master.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as RedisTestSentinel from "../RedisTestSentinel.js"
import { deploymentTls } from "./certificates.js"
import {
  awaitCondition,
  ensure,
  HOST,
  live,
  makeNode,
  type RedisNode,
  RedisTestServerError,
  type Started,
  stablePorts
} from "./redisNode.js"

const SENTINELS = 3
const QUORUM = 2

const infoField = (info: string, field: string): string =>
  new RegExp(`^${field}:(.*)$`, "m").exec(info)?.[1]?.trim() ?? ""

/** A flat `[key, value, …]` reply as a record. */
const fields = (reply: unknown): Record<string, string> => {
  const record: Record<string, string> = {}
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) record[String(reply[i])] = String(reply[i + 1])
  }
  return record
}

const millis = (duration: Duration.DurationInput) =>
  String(Math.max(1, Math.round(Duration.toMillis(duration))))

export const make = (options: RedisTestSentinel.Options): Started<RedisTestSentinel.Deployment> =>
  live(
    Effect.gen(function* () {
      const masterName = options.masterName ?? "mymaster"
      if (!/^[A-Za-z0-9._-]+$/.test(masterName)) {
        return yield* new RedisTestServerError({
          reason: "Command",
          message: `a master name is letters, digits, ".", "_" or "-" (got ${JSON.stringify(masterName)})`
        })
      }
      const startTimeout = options.startTimeout ?? "30 seconds"
      const faultTimeout = options.faultTimeout ?? "30 seconds"
      // TLS only, on every server and sentinel: clients, replication, and the sentinels' own links
      // to the servers and to each other (`tls-replication`); the helper connections show the
      // client certificate.
      const { certificates, node: tlsNode } = yield* deploymentTls(options.tls, options.opensslExecutable, [
        "--tls-replication",
        "yes"
      ])
      const common = { executable: options.executable, commandTimeout: options.commandTimeout, ...tlsNode }
      const dataArgs = ["--repl-diskless-sync-delay", "0", ...(options.args ?? [])]

      // The servers are killed and started again: their ports are kept out of the ephemeral range.
      const first = yield* makeNode({ ...common, portRule: stablePorts, args: dataArgs })
      const second = yield* makeNode({
        ...common,
        portRule: stablePorts,
        args: ["--replicaof", HOST, String(first.port), ...dataArgs]
      })
      const servers: ReadonlyArray<RedisNode> = [first, second]

      const serverAt = (port: number): Effect.Effect<RedisNode, RedisTestServerError> =>
        Option.match(Option.fromNullable(servers.find((server) => server.port === port)), {
          onNone: () =>
            Effect.fail(
              new RedisTestServerError({
                reason: "Command",
                message: `no server of the deployment listens on port ${port}`
              })
            ),
          onSome: Effect.succeed
        })

      const isRunning = (node: RedisNode): Effect.Effect<boolean> => Effect.map(node.pid, Option.isSome)

      /** What a data server says of its replication: role, master port, link. */
      const replicationOf = (node: RedisNode) =>
        Effect.map(node.command("INFO", "replication"), (reply) => {
          const info = String(reply)
          return {
            role: infoField(info, "role"),
            masterPort: Number(infoField(info, "master_port")),
            linkUp: infoField(info, "master_link_status") === "up"
          }
        })

      /**
       * Whether `masterPort` is a master, every sentinel in `sentinels` reports it and sees it up
       * with the other sentinels, and (unless only the promotion is awaited) every running replica
       * follows it in sync, as itself and every sentinel sees it.
       */
      const settledOn = (
        masterPort: number,
        sentinels: ReadonlyArray<RedisNode>,
        awaiting: "promotion" | "everything" = "everything"
      ): Effect.Effect<void, string> =>
        Effect.gen(function* () {
          const master = yield* serverAt(masterPort)
          const replicas = yield* Effect.filter(servers, (server) =>
            Effect.map(
              isRunning(server),
              (running) => running && server !== master && awaiting === "everything"
            )
          )
          const role = yield* replicationOf(master)
          yield* ensure(role.role === "master", () => `${masterPort} is ${role.role}, not master`)
          for (const replica of replicas) {
            const state = yield* replicationOf(replica)
            yield* ensure(
              state.role === "slave" && state.masterPort === masterPort && state.linkUp,
              () => `${replica.port} does not follow ${masterPort} in sync yet`
            )
          }
          for (const sentinel of sentinels) {
            const at = `sentinel ${sentinel.port}`
            const address = yield* sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName)
            yield* ensure(
              Array.isArray(address) && Number(address[1]) === masterPort,
              () => `${at} reports ${JSON.stringify(address)} as the master, not ${masterPort}`
            )
            const seen = fields(yield* sentinel.command("SENTINEL", "MASTER", masterName))
            yield* ensure(seen.flags === "master", () => `${at} sees the master as ${seen.flags}`)
            yield* ensure(
              Number(seen["num-other-sentinels"]) === SENTINELS - 1,
              () => `${at} knows ${seen["num-other-sentinels"]} other sentinels`
            )
            const listed = yield* sentinel.command("SENTINEL", "REPLICAS", masterName)
            const seenReplicas = Array.isArray(listed) ? listed.map(fields) : []
            for (const replica of replicas) {
              const entry = seenReplicas.find((candidate) => Number(candidate.port) === replica.port)
              yield* ensure(
                entry !== undefined && entry.flags === "slave",
                () => `${at} sees replica ${replica.port} as ${JSON.stringify(entry?.flags ?? "unknown")}`
              )
            }
          }
        }).pipe(Effect.mapError((error) => (typeof error === "string" ? error : error.message)))

      // -- start: the replica in sync, then the sentinels (their first INFO of the master lists it) ---

      yield* awaitCondition(
        "sentinel start: the replica in sync",
        settledOn(first.port, []),
        startTimeout,
        "Startup"
      )
      const sentinels: ReadonlyArray<RedisNode> = yield* Effect.all(
        Array.from({ length: SENTINELS }, () =>
          makeNode({
            ...common,
            configFile: () =>
              [
                `sentinel monitor ${masterName} ${HOST} ${first.port} ${QUORUM}`,
                `sentinel down-after-milliseconds ${masterName} ${millis(options.downAfter ?? "1 second")}`,
                `sentinel failover-timeout ${masterName} ${millis(options.failoverTimeout ?? "2 seconds")}`,
                `sentinel parallel-syncs ${masterName} 1`,
                ""
              ].join("\n"),
            args: ["--sentinel"]
          })
        ),
        { concurrency: "unbounded" }
      )
      yield* awaitCondition(
        "sentinel start: every sentinel sees everything",
        settledOn(first.port, sentinels),
        startTimeout,
        "Startup"
      )

      // -- the master and the faults ---------------------------------------------------------------------

      /** The master as the first sentinel that answers reports it. */
      const masterPort: Effect.Effect<number, RedisTestServerError> = Effect.firstSuccessOf(
        sentinels.map((sentinel) =>
          Effect.flatMap(sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName), (reply) =>
            Array.isArray(reply) && reply.length === 2
              ? Effect.succeed(Number(reply[1]))
              : Effect.fail(
                  new RedisTestServerError({
                    reason: "Command",
                    message: `sentinel ${sentinel.port} knows no master`
                  })
                )
          )
        )
      )

      const address = (port: number): RedisTestSentinel.Address => ({ host: HOST, port })

      /** Waits until the other server is the master and everything is settled on it. */
      const awaitPromotionFrom = (what: string, formerPort: number) =>
        awaitCondition(
          `${what}: the replica promoted and reported by every sentinel`,
          Effect.gen(function* () {
            const now = yield* Effect.mapError(masterPort, (error) => error.message)
            yield* ensure(now !== formerPort, () => `${formerPort} is still reported as the master`)
            yield* settledOn(now, sentinels, "promotion")
            return address(now)
          }),
          faultTimeout
        )

      const failover = Effect.gen(function* () {
        const former = yield* masterPort
        const sentinel = sentinels[0]
        if (sentinel !== undefined) yield* sentinel.command("SENTINEL", "FAILOVER", masterName)
        return yield* awaitPromotionFrom("failover", former)
      })

      const killMaster = Effect.gen(function* () {
        const former = yield* masterPort
        yield* Effect.flatMap(serverAt(former), (server) => server.kill)
        return yield* awaitPromotionFrom("killMaster", former)
      })

      const start = (server: number | RedisTestSentinel.Address) =>
        Effect.gen(function* () {
          const node = yield* serverAt(typeof server === "number" ? server : server.port)
          yield* node.start
          const current = yield* masterPort
          // What the sentinels would tell it once they notice it is back, without waiting for them.
          if (current !== node.port) yield* demote(node, current)
          yield* awaitCondition(
            `start of ${node.port}: a replica of ${current} in sync`,
            settledOn(current, sentinels),
            faultTimeout
          )
        })

      /**
       * Makes a server a replica of `masterPort` as a sentinel does (`REPLICAOF`, then its normal and
       * pub/sub clients closed so that they ask the sentinels again).
       */
      const demote = (server: RedisNode, masterPort: number) =>
        server.withClient(`REPLICAOF ${HOST} ${masterPort}`, async (client) => {
          await client.call("REPLICAOF", HOST, String(masterPort))
          await client.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
          await client.call("CLIENT", "KILL", "TYPE", "pubsub", "SKIPME", "yes")
        })

      const awaitSettled = Effect.gen(function* () {
        const current = yield* masterPort
        for (const server of servers) {
          if (server.port === current || !(yield* isRunning(server))) continue
          const state = yield* replicationOf(server)
          if (state.role !== "slave" || state.masterPort !== current) yield* demote(server, current)
        }
        yield* awaitCondition(
          `every server following ${current} in sync`,
          settledOn(current, sentinels),
          faultTimeout
        )
      })

      const hang = (server: number | RedisTestSentinel.Address, duration: Duration.DurationInput) =>
        Effect.flatMap(serverAt(typeof server === "number" ? server : server.port), (node) =>
          node.pause(duration)
        )

      const command = (...args: ReadonlyArray<string | number>) =>
        Effect.flatMap(Effect.flatMap(masterPort, serverAt), (master) => master.command(...args))

      const commandAt = (port: number, ...args: ReadonlyArray<string | number>) => {
        const node = [...servers, ...sentinels].find((candidate) => candidate.port === port)
        return node === undefined
          ? Effect.fail(
              new RedisTestServerError({
                reason: "Command",
                message: `nothing of the deployment listens on port ${port}`
              })
            )
          : node.command(...args)
      }

      const sentinelAddresses = sentinels.map((sentinel) => address(sentinel.port))
      return {
        certificates,
        masterName,
        sentinels: sentinelAddresses,
        url: `redis+sentinel://${sentinelAddresses.map(({ host, port }) => `${host}:${port}`).join(",")}/${masterName}/0`,
        servers: servers.map((server) => address(server.port)),
        master: Effect.map(masterPort, address),
        command,
        commandAt,
        failover,
        killMaster,
        start,
        hang,
        awaitSettled
      }
    })
  )
