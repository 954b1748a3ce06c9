/**
 * A real Redis Sentinel deployment for tests: a master, one replica and three sentinels (each a
 * `redis-server`, the sentinels run with `--sentinel` and a configuration file of their own that
 * they rewrite), on free ports of `127.0.0.1`, ready once every sentinel sees the master, the
 * replica in sync and the two other sentinels. Everything is removed when the scope closes.
 *
 * With `tls`, every server and sentinel speaks TLS only (`--tls-port`, `tls-replication yes`: the
 * replica's link and the sentinels' links to the servers and to each other too), with throwaway
 * certificates (`certificates`), mutual TLS with `authClients: "yes"`.
 *
 * Its faults move the master: `failover` (`SENTINEL FAILOVER`, graceful) and `killMaster`
 * (`SIGKILL`: the sentinels notice after `down-after-milliseconds`, one second by default, agree and
 * promote the replica). Each waits until every sentinel reports the new master and it is one.
 *
 * @example
 * ```ts
 * import { layer } from "@effect/vitest"
 * import * as Effect from "effect/Effect"
 * import { RedisTestSentinel } from "@maf/events-test"
 *
 * layer(RedisTestSentinel.layer())("sentinel", (it) => {
 *   it.effect("moves the master", () =>
 *     Effect.gen(function*() {
 *       const sentinel = yield* RedisTestSentinel.RedisTestSentinel
 *       // ioredis: new Redis({ sentinels: [...sentinel.sentinels], name: sentinel.masterName })
 *       const promoted = yield* sentinel.killMaster // the replica is the master now
 *       yield* sentinel.command("SET", "k", "v") // sent to `promoted`
 *     }))
 * })
 * ```
 *
 * @since 0.3.0
 */

import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/redisSentinel.js"
import type * as RedisTestServer from "./RedisTestServer.js"
import type { RedisTestServerError } from "./RedisTestServer.js"
import type * as RedisTestTls from "./RedisTestTls.js"

/**
 * Options of {@link make} and {@link layer}: those of every deployment (`args` go to the master and
 * the replica; `executable` runs the sentinels too), and the sentinels' settings.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options extends RedisTestServer.DeploymentOptions {
  /** The name the sentinels monitor the master under; default `"mymaster"`. */
  readonly masterName?: string | undefined
  /** `down-after-milliseconds`: how long the master may be silent before it is down; default 1 second. */
  readonly downAfter?: Duration.DurationInput | undefined
  /** `failover-timeout`; default 2 seconds (a failed attempt is tried again after twice this). */
  readonly failoverTimeout?: Duration.DurationInput | undefined
  /**
   * TLS only, on the servers and the sentinels (clients, replication, and the sentinels' links to
   * the servers and to each other), with throwaway certificates as `RedisTestTls` makes them
   * (`certificates`); `authClients` as there (`"yes"`: mutual TLS). Default: plain TCP.
   */
  readonly tls?: boolean | { readonly authClients?: "yes" | "no" | "optional" | undefined } | undefined
  /** The certificate maker when `tls` is on; default `"openssl"`. */
  readonly opensslExecutable?: string | undefined
}

/**
 * A host and a port.
 *
 * @since 0.3.0
 * @category models
 */
export interface Address {
  readonly host: string
  readonly port: number
}

/**
 * A real Sentinel deployment: its sentinels, its servers, its master and its faults. The service of
 * {@link RedisTestSentinel}.
 *
 * @since 0.3.0
 * @category models
 */
export interface Deployment {
  /** The monitored master's name. */
  readonly masterName: string
  /** The three sentinels' addresses (ioredis: `new Redis({ sentinels, name: masterName })`). */
  readonly sentinels: ReadonlyArray<Address>
  /**
   * `redis+sentinel://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>/<masterName>/0` (with `tls`, give
   * the client the certificates: the URL form has no TLS scheme).
   */
  readonly url: string
  /** The certificates with the `tls` option (for the servers and the sentinels alike). */
  readonly certificates: Option.Option<RedisTestTls.Certificates>
  /** The two data servers' addresses (master and replica, in start order; roles change). */
  readonly servers: ReadonlyArray<Address>
  /** The master's address, as the sentinels report it now (`SENTINEL GET-MASTER-ADDR-BY-NAME`). */
  readonly master: Effect.Effect<Address, RedisTestServerError>
  /** Sends a raw command to the current master on a fresh helper connection. */
  readonly command: (...args: ReadonlyArray<string | number>) => Effect.Effect<unknown, RedisTestServerError>
  /** Sends a raw command to one server or sentinel, named by its port. */
  readonly commandAt: (
    port: number,
    ...args: ReadonlyArray<string | number>
  ) => Effect.Effect<unknown, RedisTestServerError>
  /**
   * A graceful failover (`SENTINEL FAILOVER`): waits until the replica is the master and every
   * sentinel reports it. Succeeds with the new master. The former master stays a master until a
   * sentinel's next `INFO` of it (up to 10 seconds; Sentinel's own pace) makes it a replica:
   * `awaitSettled` does it at once.
   */
  readonly failover: Effect.Effect<Address, RedisTestServerError>
  /**
   * `SIGKILL`s the master and waits until the sentinels have promoted the replica and all report
   * it. Succeeds with the new master; the killed server stays down until `start`.
   */
  readonly killMaster: Effect.Effect<Address, RedisTestServerError>
  /**
   * Starts a killed server again (same port and directory) and waits until it is a replica of the
   * current master in sync, as every sentinel sees it.
   */
  readonly start: (server: number | Address) => Effect.Effect<void, RedisTestServerError>
  /**
   * Freezes a server (`SIGSTOP`) for `duration`, then lets it go on (`SIGCONT`); returns at once. A
   * master frozen longer than `downAfter` is failed over.
   */
  readonly hang: (
    server: number | Address,
    duration: Duration.DurationInput
  ) => Effect.Effect<void, RedisTestServerError>
  /**
   * Makes every running server a replica of the current master as the sentinels would at their
   * next `INFO` of it (`REPLICAOF`, its clients closed), without their wait of up to 10 seconds,
   * and waits until all follow it in sync and every sentinel sees them so: after `failover`,
   * before the next fault.
   */
  readonly awaitSettled: Effect.Effect<void, RedisTestServerError>
}

/**
 * A real Sentinel deployment, owned by the scope that built it.
 *
 * @since 0.3.0
 * @category tags
 */
export class RedisTestSentinel extends Context.Tag("@maf/events-test/RedisTestSentinel")<
  RedisTestSentinel,
  Deployment
>() {}

/**
 * Builds a {@link RedisTestSentinel}: starts the master, the replica and, once it is in sync, the
 * three sentinels in parallel, and waits until every sentinel sees all of them. Closing the scope
 * kills every process and removes their directories. Needs a `CommandExecutor`; {@link layer}
 * provides it.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<Deployment, RedisTestServerError, Scope.Scope | CommandExecutor.CommandExecutor> =>
  internal.make(options)

/**
 * A layer with a fresh {@link RedisTestSentinel}, torn down when the layer is released. It provides
 * Node's `CommandExecutor` itself.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<RedisTestSentinel, RedisTestServerError> =>
  Layer.scoped(RedisTestSentinel, make(options)).pipe(Layer.provide(NodeContext.layer))
