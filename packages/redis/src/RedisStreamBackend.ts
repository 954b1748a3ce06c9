/**
 * The Redis Streams backend, on ioredis: a thin adapter from the `StreamBackend` port to `XADD`,
 * `XREAD` and `XINFO STREAM`.
 *
 * The ioredis settings chosen, and why (its defaults make commands wait for seconds to a minute
 * while the server is down, and re-send commands after a reconnect):
 *
 * | setting | value | why |
 * |---|---|---|
 * | `lazyConnect` | `true`, then `connect()` in the background | the layer builds at once, Redis up or not |
 * | `enableOfflineQueue` | `false` | while disconnected, a command fails at once instead of waiting |
 * | `maxRetriesPerRequest` | `0` | a command is never sent twice by ioredis: an `XADD` re-sent after a reconnect would duplicate an entry |
 * | `autoResendUnfulfilledCommands` | `false` | same: commands in flight when the connection broke fail, the publisher decides |
 * | `enableReadyCheck` | `false` | no `INFO` at connect, so a user limited to `XADD` on one stream can publish |
 * | `disableClientInfo` | `true` | no `CLIENT SETINFO` round trip before "ready": a silent (half-open) peer cannot hold a connection in "connecting" |
 * | `retryStrategy` | 25 ms doubling to `maxReconnectDelay` (1 s), forever | the publisher's connection comes back by itself |
 * | `connectTimeout` | 2 s | a black-holed host does not hold a connection attempt for ioredis' 10 s |
 *
 * Reader cursors get a connection each (a blocking `XREAD` blocks every other command on its
 * connection), without automatic reconnection: the reader re-opens its cursor by its own policy.
 *
 * The deployment is told by the URL and the options: one server (`redis://`, `rediss://` for TLS),
 * a master watched by Sentinel (`redis+sentinel://host:port[,host:port…]/<masterName>[/db]`), or a
 * Cluster (`cluster: true`, the URL naming any node). See the guide's section "Deployments".
 *
 * @since 0.1.0
 */

import { EventBus, StreamBackend } from "@maf/events"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Appender from "./internal/appender.js"
import { isNoSuchKey } from "./internal/client.js"
import * as Connection from "./internal/connection.js"
import { connectionConfig, urlConfig as connectionUrlConfig } from "./internal/connectionConfig.js"
import { toBackendError } from "./internal/errors.js"
import * as StreamCursor from "./internal/streamCursor.js"
import { emptyInfo, parseInfo } from "./internal/streamInfo.js"
import { defaultUrl as topologyDefaultUrl } from "./internal/topology.js"

/**
 * How batches are appended: `"script"` runs one server-side script per batch, `"pipeline"` sends
 * pipelined `XADD`s, `"auto"` uses the script and falls back to pipelines by itself where the server
 * refuses scripts (an ACL user without `EVALSHA`, scripting renamed away).
 *
 * @since 0.1.0
 * @category models
 */
export type AppendMode = "auto" | "script" | "pipeline"

/**
 * Options of the Redis connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionOptions {
  /** The server's URL; it may hold a password, so keep it `Redacted`. Default `redis://localhost:6379/0`. */
  readonly url?: Redacted.Redacted<string> | string | undefined
  /** Default `"auto"`. */
  readonly appendMode?: AppendMode | undefined
  /** The bound on establishing a connection. Default 2 s. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** The longest wait between reconnection attempts. Default 1 s. */
  readonly maxReconnectDelay?: Duration.DurationInput | undefined
  /** `CLIENT SETNAME` of the connections (`CLIENT LIST` shows it). Default: none. */
  readonly clientName?: string | undefined
  /** A Redis Cluster: the URL names any of its nodes, `clusterNodes` more of them. Default `false`. */
  readonly cluster?: boolean | undefined
  /** More start-up nodes of a Cluster (`host:port`), tried when the URL's node does not answer. */
  readonly clusterNodes?: ReadonlyArray<string> | undefined
  /**
   * TLS settings, for every topology (a `rediss://` URL alone turns TLS on with Node's trusted CAs).
   * Given, TLS is used whatever the URL's scheme.
   */
  readonly tls?: TlsOptions | undefined
  /**
   * Durability on failover: `WAIT replicas timeout` after each append, on the same connection, so
   * that a `Written` result says how many replicas acknowledged the event (`replicas`; fewer than
   * asked: the wait fell short). Batches are then pipelined `XADD`s (no script). Keep `timeout`
   * below the bus's `publishTimeout`. Default: none (asynchronous replication: a failover can lose
   * the last writes the master acknowledged).
   */
  readonly waitForReplicas?:
    | { readonly replicas: number; readonly timeout: Duration.DurationInput }
    | undefined
}

/**
 * TLS settings: PEM contents (read files with `Config`: see `layerConfig`), as Node's `tls` takes them.
 *
 * @since 0.3.0
 * @category models
 */
export interface TlsOptions {
  /** The CA certificates to trust instead of Node's defaults. */
  readonly ca?: string | Buffer | undefined
  /** The client's certificate, for mutual TLS. */
  readonly cert?: string | Buffer | undefined
  /** The client's private key, for mutual TLS. */
  readonly key?: Redacted.Redacted<string> | string | Buffer | undefined
  /** The name the server's certificate must hold, when not the URL's host. */
  readonly servername?: string | undefined
}

/**
 * The default URL, as the reference's.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultUrl: "redis://localhost:6379/0" = topologyDefaultUrl

/**
 * The URL from `REDIS_URL`, else {@link defaultUrl}, as a `Redacted`.
 *
 * @since 0.1.0
 * @category config
 */
export const urlConfig: Config.Config<Redacted.Redacted<string>> = connectionUrlConfig

/** Refuses options that cannot work (a defect: they are the program's, not the environment's). */
const validate = (options: ConnectionOptions): Effect.Effect<void> => {
  const wait = options.waitForReplicas
  if (wait === undefined) return Effect.void
  const millis = Duration.toMillis(Duration.decode(wait.timeout))
  if (!(Number.isInteger(wait.replicas) && wait.replicas >= 1))
    return Effect.dieMessage(
      `waitForReplicas.replicas must be a whole number of 1 or more, got ${wait.replicas}`
    )
  // (`WAIT n 0` blocks for ever.)
  if (!(millis > 0 && Number.isFinite(millis)))
    return Effect.dieMessage(`waitForReplicas.timeout must be a positive, finite duration, got ${millis} ms`)
  return Effect.void
}

/**
 * A Redis backend; its connection is made in the background and closed with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: ConnectionOptions = {}
): Effect.Effect<StreamBackend.StreamBackendService, never, Scope.Scope> =>
  Effect.map(Effect.zipRight(validate(options), Connection.make(options)), (connection) => {
    const info = (
      stream: string
    ): Effect.Effect<StreamBackend.StreamInfo, StreamBackend.StreamBackendError> =>
      connection
        .run(
          () => connection.client.xinfo("STREAM", stream),
          (error) => error
        )
        .pipe(
          Effect.map(parseInfo),
          Effect.catchAll((error) =>
            isNoSuchKey(error)
              ? Effect.succeed(emptyInfo)
              : Effect.fail(toBackendError(connection.explain(error)))
          )
        )
    return {
      append: Appender.make(
        connection,
        options.appendMode ?? "auto",
        options.waitForReplicas === undefined
          ? undefined
          : {
              replicas: options.waitForReplicas.replicas,
              timeoutMillis: Duration.toMillis(Duration.decode(options.waitForReplicas.timeout))
            }
      ),
      boundsAppends: true,
      server: {
        system: "redis",
        address: connection.topology.address.host,
        port: connection.topology.address.port
      },
      info,
      openCursor: StreamCursor.open(connection)
    }
  })

/**
 * The Redis backend as the `StreamBackend` of the context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ConnectionOptions = {}): Layer.Layer<StreamBackend.StreamBackend> =>
  Layer.scoped(StreamBackend.StreamBackend, make(options))

/**
 * The Redis backend with options from `Config`; the URL defaults to {@link urlConfig}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<ConnectionOptions> = {}
): Layer.Layer<StreamBackend.StreamBackend, ConfigError.ConfigError> =>
  Layer.scoped(
    StreamBackend.StreamBackend,
    Effect.flatMap(Effect.flatMap(EventBus.unwrapOptions(options), connectionConfig), make)
  )
