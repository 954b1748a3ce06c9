/**
 * The cluster kit's workings: its nodes (each a {@link RedisNode}), the cluster's creation, what
 * "settled" means (every running node `ok`, every slot served, all views agreeing, the stopped
 * nodes failed, the replicas in sync), and the faults, each waiting until the cluster has settled.
 *
 * @internal
 */

import { Partitions } from "@maf/events"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as RedisTestCluster from "../RedisTestCluster.js"
import { deploymentTls } from "./certificates.js"
import { isFailing, type NodeLine, parseClusterNodes, SLOTS, slotMap, slotsCovered } from "./clusterSlots.js"
import { runProgram } from "./program.js"
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

/** A node's own port among the stable ones, and its bus port 10000 above (22000-32767). */
const PORT_RULE = { ...stablePorts, alsoFreeAt: 10_000 }
const MIGRATE_BATCH = 100
const MIGRATE_TIMEOUT_MILLIS = 5_000

/** What one running node says: its `CLUSTER NODES`, its `cluster_state`, its replication link. */
interface View {
  readonly port: number
  readonly nodes: ReadonlyArray<NodeLine>
  readonly state: string
  readonly linkUp: boolean
}

const infoField = (info: string, field: string): string =>
  new RegExp(`^${field}:(.*)$`, "m").exec(info)?.[1]?.trim() ?? ""

const fault = (message: string) => new RedisTestServerError({ reason: "Fault", message })
const badInput = (message: string) => new RedisTestServerError({ reason: "Command", message })

export const make = (options: RedisTestCluster.Options): Started<RedisTestCluster.Cluster> =>
  live(
    Effect.gen(function* () {
      const masters = options.masters ?? 3
      const replicas = options.replicasPerMaster ?? 1
      if (!Number.isInteger(masters) || masters < 3) {
        return yield* badInput(`a cluster needs at least 3 masters (got ${masters})`)
      }
      if (!Number.isInteger(replicas) || replicas < 0) {
        return yield* badInput(`replicasPerMaster must be a whole number >= 0 (got ${replicas})`)
      }
      const nodeTimeout = Math.max(1, Math.round(Duration.toMillis(options.nodeTimeout ?? "1 second")))
      const startTimeout = options.startTimeout ?? "30 seconds"
      const faultTimeout = options.faultTimeout ?? "30 seconds"

      // TLS only: clients, the cluster bus and replication (each node shows its certificate to the others).
      const { certificates, node: tlsNode } = yield* deploymentTls(options.tls, options.opensslExecutable, [
        "--tls-cluster",
        "yes",
        "--tls-replication",
        "yes"
      ])
      const cliTls = Option.match(certificates, {
        onNone: () => [],
        onSome: (files) => [
          "--tls",
          "--cacert",
          files.ca.path,
          "--cert",
          files.clientCert.path,
          "--key",
          files.clientKey.path
        ]
      })

      const nodes: ReadonlyArray<RedisNode> = yield* Effect.all(
        Array.from({ length: masters * (1 + replicas) }, () =>
          makeNode({
            executable: options.executable,
            portRule: PORT_RULE,
            commandTimeout: options.commandTimeout,
            ...tlsNode,
            args: [
              "--cluster-enabled",
              "yes",
              "--cluster-config-file",
              "nodes.conf",
              "--cluster-node-timeout",
              String(nodeTimeout),
              // A replica may always take over, however long its master was away.
              "--cluster-replica-validity-factor",
              "0",
              "--repl-diskless-sync-delay",
              "0",
              ...(options.args ?? [])
            ]
          })
        ),
        { concurrency: "unbounded" }
      )

      const nodeAt = (ref: RedisTestCluster.NodeRef): Effect.Effect<RedisNode, RedisTestServerError> => {
        const port = typeof ref === "number" ? ref : ref.port
        const node = nodes.find((candidate) => candidate.port === port)
        return node === undefined
          ? Effect.fail(badInput(`no node of the cluster listens on port ${port}`))
          : Effect.succeed(node)
      }

      const isRunning = (node: RedisNode): Effect.Effect<boolean> => Effect.map(node.pid, Option.isSome)

      const running: Effect.Effect<ReadonlyArray<RedisNode>> = Effect.filter(nodes, isRunning)

      // -- what the nodes say ------------------------------------------------------------------------

      const viewOf = (node: RedisNode): Effect.Effect<View, RedisTestServerError> =>
        node.withClient("CLUSTER NODES", async (client) => {
          const [text, info, replication] = await Promise.all([
            client.call("CLUSTER", "NODES"),
            client.call("CLUSTER", "INFO"),
            client.call("INFO", "replication")
          ])
          return {
            port: node.port,
            nodes: parseClusterNodes(String(text)),
            state: infoField(String(info), "cluster_state"),
            linkUp:
              infoField(String(replication), "role") === "master" ||
              infoField(String(replication), "master_link_status") === "up"
          }
        })

      const toClusterNode = (
        line: NodeLine,
        runningPorts: ReadonlyArray<number>
      ): RedisTestCluster.ClusterNode => ({
        host: line.host,
        port: line.port,
        id: line.id,
        role: line.role,
        masterId: line.masterId,
        slots: line.slots,
        running: runningPorts.includes(line.port)
      })

      const topology: Effect.Effect<
        ReadonlyArray<RedisTestCluster.ClusterNode>,
        RedisTestServerError
      > = Effect.gen(function* () {
        const up = yield* running
        const ports = up.map((node) => node.port)
        for (const node of up) {
          const view = yield* Effect.option(viewOf(node))
          if (Option.isSome(view)) {
            return view.value.nodes.map((line) => toClusterNode(line, ports)).sort((a, b) => a.port - b.port)
          }
        }
        return yield* new RedisTestServerError({
          reason: "Command",
          message: "no node of the cluster answers"
        })
      })

      const lineOf = (nodesNow: ReadonlyArray<RedisTestCluster.ClusterNode>, port: number) =>
        Option.fromNullable(nodesNow.find((node) => node.port === port))

      /**
       * Whether the cluster is settled, as every running node sees it (a reason when not), and
       * `extra` on the agreed view.
       */
      const settled = (
        extra: (view: ReadonlyArray<NodeLine>) => string | undefined = () => undefined
      ): Effect.Effect<void, string> =>
        Effect.gen(function* () {
          const up = yield* running
          const upPorts = up.map((node) => node.port)
          const views = yield* Effect.all(up.map(viewOf), { concurrency: "unbounded" }).pipe(
            Effect.mapError((error) => error.message)
          )
          const first = views[0]
          if (first === undefined) return yield* Effect.fail("no node runs")
          const roles = (view: View) =>
            view.nodes
              .filter((line) => upPorts.includes(line.port))
              .map((line) => `${line.port}:${line.role}:${Option.getOrElse(line.masterId, () => "-")}`)
              .sort()
              .join(" ")
          for (const view of views) {
            const at = `node ${view.port}`
            yield* ensure(view.state === "ok", () => `${at}: cluster_state:${view.state}`)
            yield* ensure(
              slotsCovered(view.nodes) === SLOTS,
              () => `${at}: ${slotsCovered(view.nodes)} slots served`
            )
            yield* ensure(
              slotMap(view.nodes) === slotMap(first.nodes),
              () => `${at} and ${first.port} disagree on slots`
            )
            yield* ensure(roles(view) === roles(first), () => `${at} and ${first.port} disagree on roles`)
            yield* ensure(view.linkUp, () => `${at}: replication link down`)
            for (const line of view.nodes) {
              const migrating = line.migrating.length + line.importing.length
              yield* ensure(migrating === 0, () => `${at}: slot migration open on ${line.port}`)
              if (upPorts.includes(line.port)) {
                yield* ensure(
                  !isFailing(line) && !line.flags.includes("handshake"),
                  () => `${at} sees ${line.port} as ${line.flags.join(",")}`
                )
              } else {
                yield* ensure(
                  line.flags.includes("fail") && line.slots.length === 0,
                  () =>
                    `${at} sees stopped ${line.port} as ${line.flags.join(",")} with ${line.slots.length} slot ranges`
                )
              }
            }
          }
          const problem = extra(first.nodes)
          if (problem !== undefined) return yield* Effect.fail(problem)
        })

      const awaitSettledWith = (
        what: string,
        extra?: (view: ReadonlyArray<NodeLine>) => string | undefined
      ) => awaitCondition(`${what}: the cluster settled`, settled(extra), faultTimeout)

      const awaitSettled = awaitSettledWith("wait")

      // -- start ---------------------------------------------------------------------------------------

      yield* runProgram(
        options.cliExecutable ?? "redis-cli",
        [
          ...cliTls,
          "--cluster",
          "create",
          ...nodes.map((node) => `${HOST}:${node.port}`),
          "--cluster-replicas",
          String(replicas),
          "--cluster-yes"
        ],
        { reason: "Startup" }
      )
      yield* awaitCondition("cluster start: the cluster settled", settled(), startTimeout, "Startup")

      // -- faults --------------------------------------------------------------------------------------

      const masterOf = (key: string) =>
        Effect.gen(function* () {
          const slot = Partitions.keySlot(key)
          const nodesNow = yield* topology
          const master = nodesNow.find(
            (node) => node.role === "master" && node.slots.some(([from, to]) => from <= slot && slot <= to)
          )
          if (master === undefined) return yield* fault(`no master serves slot ${slot}`)
          return master
        })

      const command = (ref: RedisTestCluster.NodeRef, ...args: ReadonlyArray<string | number>) =>
        Effect.flatMap(nodeAt(ref), (node) => node.command(...args))

      const failover = (ref: RedisTestCluster.NodeRef) =>
        Effect.gen(function* () {
          const node = yield* nodeAt(ref)
          const nodesNow = yield* topology
          const line = yield* lineOf(nodesNow, node.port).pipe(
            Effect.mapError(() => fault(`node ${node.port} is not in the cluster's view`))
          )
          const masterId = line.role === "master" ? line.id : Option.getOrElse(line.masterId, () => "")
          const replica =
            line.role === "replica"
              ? line
              : nodesNow.find(
                  (candidate) =>
                    candidate.running &&
                    candidate.role === "replica" &&
                    Option.contains(candidate.masterId, masterId)
                )
          if (replica === undefined)
            return yield* fault(`master ${node.port} has no running replica to fail over to`)
          yield* command(replica.port, "CLUSTER", "FAILOVER")
          yield* awaitSettledWith(`failover to ${replica.port}`, (view) => {
            const promoted = view.find((candidate) => candidate.port === replica.port)
            return promoted?.role === "master" && promoted.slots.length > 0
              ? undefined
              : `${replica.port} is not yet a master serving slots`
          })
          return yield* lineOf(yield* topology, replica.port).pipe(
            Effect.mapError(() => fault(`node ${replica.port} left the cluster's view`))
          )
        })

      const down =
        (how: (node: RedisNode) => Effect.Effect<void, RedisTestServerError>, what: string) =>
        (ref: RedisTestCluster.NodeRef) =>
          Effect.gen(function* () {
            const node = yield* nodeAt(ref)
            yield* how(node)
            yield* awaitSettledWith(`${what} ${node.port}`)
          })

      const start = (ref: RedisTestCluster.NodeRef) =>
        Effect.gen(function* () {
          const node = yield* nodeAt(ref)
          yield* node.start
          yield* awaitSettledWith(`start of ${node.port}`)
        })

      const stop = down((node) => node.stop, "stop of")

      const hang = (ref: RedisTestCluster.NodeRef, duration: Duration.DurationInput) =>
        Effect.flatMap(nodeAt(ref), (node) => node.pause(duration))

      const beginMigration = (
        slot: number,
        to: RedisTestCluster.NodeRef,
        migration: { readonly keys?: number | ReadonlyArray<string> | undefined } = {}
      ): Effect.Effect<RedisTestCluster.SlotMigration, RedisTestServerError> =>
        Effect.gen(function* () {
          if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS) {
            return yield* badInput(`a slot is a whole number from 0 to ${SLOTS - 1} (got ${slot})`)
          }
          const targetNode = yield* nodeAt(to)
          const nodesNow = yield* topology
          const source = nodesNow.find(
            (node) =>
              node.role === "master" && node.slots.some(([from, until]) => from <= slot && slot <= until)
          )
          const target = nodesNow.find((node) => node.port === targetNode.port)
          if (source === undefined) return yield* fault(`no master serves slot ${slot}`)
          if (target === undefined || target.role !== "master") {
            return yield* badInput(`node ${targetNode.port} is not a master: a slot can only go to a master`)
          }
          if (target.port === source.port)
            return yield* badInput(`node ${target.port} serves slot ${slot} already`)

          yield* command(target.port, "CLUSTER", "SETSLOT", slot, "IMPORTING", source.id)
          yield* command(source.port, "CLUSTER", "SETSLOT", slot, "MIGRATING", target.id)

          const migrate = (keys: ReadonlyArray<string>) =>
            keys.length === 0
              ? Effect.succeed(keys)
              : command(
                  source.port,
                  "MIGRATE",
                  target.host,
                  target.port,
                  "",
                  0,
                  MIGRATE_TIMEOUT_MILLIS,
                  "KEYS",
                  ...keys
                ).pipe(Effect.as(keys))

          const keysLeft = (count: number) =>
            Effect.map(command(source.port, "CLUSTER", "GETKEYSINSLOT", slot, count), (reply) =>
              Array.isArray(reply) ? reply.map(String) : []
            )

          const moveKeys = (keys: number | ReadonlyArray<string>) =>
            typeof keys === "number" ? Effect.flatMap(keysLeft(keys), migrate) : migrate(keys)

          const finish = Effect.gen(function* () {
            for (;;) {
              const moved = yield* Effect.flatMap(keysLeft(MIGRATE_BATCH), migrate)
              if (moved.length === 0) break
            }
            const others = (yield* topology).filter(
              (node) =>
                node.running &&
                node.role === "master" &&
                node.port !== target.port &&
                node.port !== source.port
            )
            for (const node of [target, source, ...others]) {
              yield* command(node.port, "CLUSTER", "SETSLOT", slot, "NODE", target.id)
            }
            yield* awaitSettledWith(`migration of slot ${slot} to ${target.port}`, (view) =>
              view.some(
                (node) =>
                  node.id === target.id && node.slots.some(([from, until]) => from <= slot && slot <= until)
              )
                ? undefined
                : `slot ${slot} not yet served by ${target.port}`
            )
          })

          yield* moveKeys(migration.keys ?? 0)
          return { slot, source, target, moveKeys, finish }
        })

      return {
        host: HOST,
        nodes: nodes.map((node) => ({ host: HOST, port: node.port })),
        url: `${Option.isSome(certificates) ? "rediss" : "redis"}://${HOST}:${nodes[0]?.port ?? 0}/0`,
        certificates,
        topology,
        slotOf: Partitions.keySlot,
        masterOf,
        command,
        failover,
        kill: down((node) => node.kill, "kill of"),
        stop,
        start,
        restart: (ref: RedisTestCluster.NodeRef) => Effect.zipRight(stop(ref), start(ref)),
        hang,
        awaitSettled,
        migrateSlot: (slot: number, to: RedisTestCluster.NodeRef) =>
          Effect.flatMap(beginMigration(slot, to), (migration) => migration.finish),
        beginMigration
      }
    })
  )
