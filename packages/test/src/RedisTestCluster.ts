/**
 * A real Redis Cluster for tests: 3 masters and 3 replicas (by default) on free ports of
 * `127.0.0.1`, each a `redis-server` with `cluster-enabled yes` and a temporary directory of its own,
 * joined by `redis-cli --cluster create` and ready once every node says `cluster_state:ok`, every
 * slot is served and all nodes agree on who serves what. Everything is removed when the scope closes.
 *
 * Its faults are the ones a cluster client must survive: a graceful `CLUSTER FAILOVER`, a `SIGKILL`ed
 * master (a hard failover, a few seconds with the default `cluster-node-timeout` of one second), a
 * slot migration (`ASK` while it is half done, `MOVED` after), a node stopped, restarted or hung
 * (`SIGSTOP`). Each fault waits until the cluster has settled again.
 *
 * @example
 * ```ts
 * import { layer } from "@effect/vitest"
 * import * as Effect from "effect/Effect"
 * import { RedisTestCluster } from "@maf/events-test"
 *
 * layer(RedisTestCluster.layer())("cluster", (it) => {
 *   it.effect("survives a hard failover", () =>
 *     Effect.gen(function*() {
 *       const cluster = yield* RedisTestCluster.RedisTestCluster
 *       const master = yield* cluster.masterOf("maf:events")
 *       yield* cluster.kill(master) // a replica of it serves its slots now
 *     }))
 * })
 * ```
 *
 * @since 0.3.0
 */

import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Partitions } from "@maf/events"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/redisCluster.js"
import type * as RedisTestServer from "./RedisTestServer.js"
import type { RedisTestServerError } from "./RedisTestServer.js"
import type * as RedisTestTls from "./RedisTestTls.js"

/**
 * Options of {@link make} and {@link layer}: those of every deployment (`args` go to every node), and
 * the cluster's shape.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options extends RedisTestServer.DeploymentOptions {
  /** How many masters share the slots; default 3 (`redis-cli --cluster create` needs at least 3). */
  readonly masters?: number | undefined
  /** Replicas of each master; default 1. */
  readonly replicasPerMaster?: number | undefined
  /** `cluster-node-timeout`: how long a node may be silent before it is failed over; default 1 second. */
  readonly nodeTimeout?: Duration.DurationInput | undefined
  /** The client executable that creates the cluster; default `"redis-cli"`. */
  readonly cliExecutable?: string | undefined
  /**
   * TLS only, for clients, the cluster bus and replication, with throwaway certificates as
   * `RedisTestTls` makes them (`certificates`); `authClients` as there. Default: plain TCP.
   */
  readonly tls?: boolean | { readonly authClients?: "yes" | "no" | "optional" | undefined } | undefined
  /** The certificate maker when `tls` is on; default `"openssl"`. */
  readonly opensslExecutable?: string | undefined
}

/**
 * A node of the cluster as the cluster sees it now (`CLUSTER NODES`), and whether the kit runs it.
 *
 * @since 0.3.0
 * @category models
 */
export interface ClusterNode {
  /** Always `"127.0.0.1"`. */
  readonly host: string
  readonly port: number
  /** The node id (40 hex characters). */
  readonly id: string
  readonly role: "master" | "replica"
  /** The id of the master a replica follows. */
  readonly masterId: Option.Option<string>
  /** The slot ranges a master serves, inclusive (`[from, to]`). */
  readonly slots: ReadonlyArray<readonly [number, number]>
  /** Whether its process runs (false after `kill` or `stop`). */
  readonly running: boolean
}

/**
 * A node named by its port, or any value with the node's `port` (a {@link ClusterNode}).
 *
 * @since 0.3.0
 * @category models
 */
export type NodeRef = number | { readonly port: number }

/**
 * A slot migration begun by `beginMigration` and not finished: the target is `IMPORTING` the slot,
 * the source `MIGRATING` it, and some keys may be moved already. A client asking the source for a
 * key it no longer has (or never had) gets `ASK`.
 *
 * @since 0.3.0
 * @category models
 */
export interface SlotMigration {
  readonly slot: number
  /** The master the slot leaves. */
  readonly source: ClusterNode
  /** The master the slot goes to. */
  readonly target: ClusterNode
  /**
   * `MIGRATE`s keys of the slot from the source to the target: the keys named, or up to `count` of
   * those the source still holds. Succeeds with the keys moved.
   */
  readonly moveKeys: (
    keys: number | ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<string>, RedisTestServerError>
  /**
   * Moves the remaining keys, gives the slot to the target (`CLUSTER SETSLOT slot NODE` on the
   * target, the source and the other masters) and waits until every node agrees: from then on a
   * client asking the source gets `MOVED`.
   */
  readonly finish: Effect.Effect<void, RedisTestServerError>
}

/**
 * A real Redis Cluster: its nodes, its slots and its faults. The service of {@link RedisTestCluster}.
 *
 * @since 0.3.0
 * @category models
 */
export interface Cluster {
  /** Always `"127.0.0.1"`. */
  readonly host: string
  /** Every node's address, in start order: the start-up nodes of an ioredis `Cluster`. */
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
  /**
   * `redis://127.0.0.1:<port>/0` (`rediss://` with `tls`) of the first node (any node leads a
   * cluster client to all).
   */
  readonly url: string
  /**
   * The certificates with the `tls` option (a cluster client takes them in ioredis'
   * `redisOptions.tls`: a `rediss://` start-up node alone does not turn TLS on).
   */
  readonly certificates: Option.Option<RedisTestTls.Certificates>
  /** The nodes as the cluster sees them now (the first running node's `CLUSTER NODES`), by port. */
  readonly topology: Effect.Effect<ReadonlyArray<ClusterNode>, RedisTestServerError>
  /** The slot of a key, as Redis computes it (CRC16 of the key or of its `{hash tag}`, mod 16384). */
  readonly slotOf: (key: string) => number
  /** The master serving a key's slot now. */
  readonly masterOf: (key: string) => Effect.Effect<ClusterNode, RedisTestServerError>
  /**
   * Sends a raw command to one node on a fresh helper connection (no redirections followed: a
   * key of another node's slot fails with its `MOVED` error).
   */
  readonly command: (
    node: NodeRef,
    ...args: ReadonlyArray<string | number>
  ) => Effect.Effect<unknown, RedisTestServerError>
  /**
   * A graceful failover: `CLUSTER FAILOVER` on a replica of the given master (or on the given
   * replica), waiting until it is the master of those slots and the cluster is settled. Succeeds
   * with the new master.
   */
  readonly failover: (node: NodeRef) => Effect.Effect<ClusterNode, RedisTestServerError>
  /**
   * `SIGKILL`s a node and waits until the cluster has settled without it: for a master, until a
   * replica took its slots over (a hard failover) and `cluster_state` is `ok` everywhere.
   */
  readonly kill: (node: NodeRef) => Effect.Effect<void, RedisTestServerError>
  /** `SHUTDOWN SAVE`, then waits as `kill` does. */
  readonly stop: (node: NodeRef) => Effect.Effect<void, RedisTestServerError>
  /**
   * Starts a stopped or killed node again (same port and directory) and waits until it has joined:
   * a former master comes back as a replica of the node that took its slots, and is in sync.
   */
  readonly start: (node: NodeRef) => Effect.Effect<void, RedisTestServerError>
  /** `stop`, then `start`. */
  readonly restart: (node: NodeRef) => Effect.Effect<void, RedisTestServerError>
  /**
   * Freezes a node (`SIGSTOP`) for `duration`, then lets it go on (`SIGCONT`); returns at once. A
   * master frozen longer than the node timeout is failed over.
   */
  readonly hang: (
    node: NodeRef,
    duration: Duration.DurationInput
  ) => Effect.Effect<void, RedisTestServerError>
  /** Waits until the cluster is settled (after `hang`, or after commands of a test's own). */
  readonly awaitSettled: Effect.Effect<void, RedisTestServerError>
  /**
   * Moves a slot to another master, keys and all (`SETSLOT IMPORTING`/`MIGRATING`, `MIGRATE`,
   * `SETSLOT NODE`), and waits until every node agrees.
   */
  readonly migrateSlot: (slot: number, to: NodeRef) => Effect.Effect<void, RedisTestServerError>
  /**
   * Begins a slot migration and leaves it half done (the slot `MIGRATING` on its master and
   * `IMPORTING` on `to`), moving the keys named or the number of keys given by `keys` (default
   * none): clients see `ASK` until `finish`.
   */
  readonly beginMigration: (
    slot: number,
    to: NodeRef,
    options?: { readonly keys?: number | ReadonlyArray<string> | undefined }
  ) => Effect.Effect<SlotMigration, RedisTestServerError>
}

/**
 * A real Redis Cluster, owned by the scope that built it.
 *
 * @since 0.3.0
 * @category tags
 */
export class RedisTestCluster extends Context.Tag("@maf/events-test/RedisTestCluster")<
  RedisTestCluster,
  Cluster
>() {}

/**
 * The slot of a key, as Redis computes it: CRC16/XMODEM of the key, or of the part between the
 * first `{` and the next `}` when that part is not empty, modulo 16384 (`Partitions.keySlot` of
 * `@maf/events`).
 *
 * @since 0.3.0
 * @category utils
 */
export const slotOf: (key: string) => number = Partitions.keySlot

/**
 * Builds a {@link RedisTestCluster}: starts the nodes in parallel, creates the cluster and waits
 * until it is settled. Closing the scope kills every node and removes their directories. Needs a
 * `CommandExecutor` (Node's: `NodeContext.layer`); {@link layer} provides it.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<Cluster, RedisTestServerError, Scope.Scope | CommandExecutor.CommandExecutor> =>
  internal.make(options)

/**
 * A layer with a fresh {@link RedisTestCluster}, torn down when the layer is released. It provides
 * Node's `CommandExecutor` itself.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<RedisTestCluster, RedisTestServerError> =>
  Layer.scoped(RedisTestCluster, make(options)).pipe(Layer.provide(NodeContext.layer))
