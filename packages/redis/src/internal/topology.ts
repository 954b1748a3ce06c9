/**
 * The one place that builds ioredis clients: for one server (`redis://`, `rediss://`), for a master
 * watched by Sentinel (`redis+sentinel://`), and for a Cluster (`cluster: true`), each with the TLS
 * settings of the options, for the three uses a backend has of a client (its commands, a cursor of
 * its own, a probe).
 *
 * @internal
 */

import type * as Tls from "node:tls"
import * as Duration from "effect/Duration"
import * as Redacted from "effect/Redacted"
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis"
import type { ConnectionOptions } from "../RedisStreamBackend.js"
import type * as RedisUrl from "../RedisUrl.js"
import { handshakeFailure } from "./handshake.js"
import * as Url from "./redisUrl.js"

/** A client of any topology. */
export type Client = Redis | Cluster

/**
 * What a client is for: `commands` (the backend's shared client: reconnects by itself), `cursor`
 * (a blocking reader's own: never reconnects, its reader re-opens it by its own policy), `probe`
 * (one `PING` within `connectTimeout`, never reconnects).
 */
export type Purpose = "commands" | "cursor" | "probe"

/** The default URL (`RedisStreamBackend.defaultUrl` re-exports it). */
export const defaultUrl = "redis://localhost:6379/0"

/**
 * A deployment: how its clients are made, and where it is for people and span attributes (the
 * first node named; never the credentials).
 */
export interface Topology {
  readonly kind: "single" | "sentinel" | "cluster"
  /** Whether its connections speak TLS. */
  readonly tls: boolean
  readonly address: { readonly host: string; readonly port: number }
  readonly client: (purpose: Purpose, overrides?: { readonly connectTimeoutMillis?: number }) => Client
  /**
   * Sentinel over TLS: why the handshake with the first sentinel fails, if it does, as a reason
   * (`sentinel host:port: …`), within `millis`. ioredis says only "Connection is closed" of it.
   */
  readonly sentinelHandshake?: ((millis: number) => Promise<string | undefined>) | undefined
}

/** The URL of `options`, revealed for the client. */
export const urlOf = (options: ConnectionOptions): string => {
  const url = options.url ?? defaultUrl
  return typeof url === "string" ? url : Redacted.value(url)
}

/** The client settings of every connection (see the table in `RedisStreamBackend`). */
const connectionSettings = (options: ConnectionOptions, purpose: Purpose): RedisOptions => {
  const maxDelay = Duration.toMillis(options.maxReconnectDelay ?? Duration.seconds(1))
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    disableClientInfo: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: Duration.toMillis(options.connectTimeout ?? Duration.seconds(2)),
    retryStrategy:
      purpose === "commands" ? (times) => Math.min(25 * 2 ** Math.min(times, 10), maxDelay) : () => null
  }
}

/**
 * Names each connection of `client` (`CLIENT SETNAME`) once it is ready, unless `name` is undefined.
 * Not ioredis' `connectionName`: without a ready check, ioredis declares the connection ready when
 * its `CLIENT SETNAME` is answered or fails, without asking whether that connection is still the
 * current one — a connection closed in that moment (a server killed, a reset) leaves the client
 * "ready" on a closed socket, its reconnection refused as "already connected", for good.
 */
const named = <C extends Redis>(client: C, name: string | undefined): C => {
  if (name !== undefined)
    client.on("ready", () => {
      // A user whose ACL refuses CLIENT SETNAME works unnamed.
      client.client("SETNAME", name).catch(() => {})
    })
  return client
}

/** The TLS settings of `options` for Node (`undefined`: plain TCP, unless the URL says `rediss://`). */
export const tlsSettings = (options: ConnectionOptions): Tls.ConnectionOptions | undefined => {
  const tls = options.tls
  if (tls === undefined) return undefined
  const key =
    tls.key === undefined ? undefined : Redacted.isRedacted(tls.key) ? Redacted.value(tls.key) : tls.key
  return {
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {})
  }
}

/** `host:port` as a node (additional Cluster nodes). */
const hostPort = (node: string) => {
  const at = node.lastIndexOf(":")
  return at < 0 ? { host: node, port: 6379 } : { host: node.slice(0, at), port: Number(node.slice(at + 1)) }
}

const single = (
  options: ConnectionOptions,
  url: string,
  node: { readonly host: string; readonly port: number }
): Topology => {
  const tls = tlsSettings(options)
  return {
    kind: "single",
    tls: tls !== undefined || url.toLowerCase().startsWith("rediss:"),
    address: { host: node.host, port: node.port },
    client: (purpose, overrides) =>
      named(
        new Redis(url, {
          ...connectionSettings(options, purpose),
          ...(overrides?.connectTimeoutMillis !== undefined
            ? { connectTimeout: overrides.connectTimeoutMillis }
            : {}),
          ...(tls !== undefined ? { tls } : {})
        }),
        options.clientName
      )
  }
}

/** `reconnectOnError` of a Sentinel connection: a `READONLY` reply makes the connection anew. */
const readOnlyReconnects = (error: Error): 1 | false => (/^READONLY\b/.test(error.message) ? 1 : false)

const sentinel = (options: ConnectionOptions, parsed: RedisUrl.Sentinel): Topology => {
  const tls = tlsSettings(options)
  const first = parsed.sentinels[0]!
  return {
    kind: "sentinel",
    tls: tls !== undefined,
    address: { host: first.host, port: first.port },
    sentinelHandshake:
      tls === undefined
        ? undefined
        : (millis) =>
            handshakeFailure(first, tls, millis).then((why) =>
              why === undefined ? undefined : `sentinel ${first.host}:${first.port}: ${why}`
            ),
    client: (purpose, overrides) =>
      named(
        new Redis({
          ...connectionSettings(options, purpose),
          ...(overrides?.connectTimeoutMillis !== undefined
            ? { connectTimeout: overrides.connectTimeoutMillis }
            : {}),
          sentinels: parsed.sentinels.map(({ host, port }) => ({ host, port })),
          name: parsed.name,
          db: parsed.db,
          role: "master",
          // Sentinel's `+switch-master` is followed at once, not only when the old master fails.
          failoverDetector: purpose === "commands",
          sentinelRetryStrategy: purpose === "commands" ? (times) => Math.min(100 * times, 1000) : () => null,
          // A connection to a node that is a replica now (a sentinel still named the old master, or
          // the switch came before the failover detector subscribed) answers writes `READONLY`, and
          // nothing else would ever move it: it is made anew, the sentinels asked again. The command
          // is not sent again (its caller decides: `READONLY` is "not run").
          ...(purpose === "commands" ? { reconnectOnError: readOnlyReconnects } : {}),
          ...(parsed.username !== undefined ? { username: parsed.username } : {}),
          ...(parsed.password !== undefined ? { password: Redacted.value(parsed.password) } : {}),
          ...(tls !== undefined ? { tls, enableTLSForSentinelMode: true, sentinelTLS: tls } : {})
        }),
        options.clientName
      )
  }
}

const cluster = (options: ConnectionOptions, first: RedisUrl.Single): Topology => {
  const tls = tlsSettings(options) ?? (first.tls ? {} : undefined)
  // Every node met so far, by address: the start-up nodes of every client made after, and of the
  // shared client's own reconnections (ioredis reads `startupNodes` again at each connect), so that
  // a client made after the URL's node died still finds the cluster.
  const known = new Map<string, { readonly host: string; readonly port: number }>()
  const meet = (node: { readonly host: string; readonly port: number }) =>
    known.set(`${node.host}:${node.port}`, node)
  meet({ host: first.host, port: first.port })
  for (const node of options.clusterNodes ?? []) meet(hostPort(node))
  return {
    kind: "cluster",
    tls: tls !== undefined,
    address: { host: first.host, port: first.port },
    client: (purpose, overrides) => {
      const settings = connectionSettings(options, purpose)
      const clusterOptions: ClusterOptions = {
        lazyConnect: true,
        // A node's connection being made holds its commands (ioredis' node connections queue them);
        // with the Cluster itself not ready, `Connection.run` refuses commands at once.
        enableOfflineQueue: true,
        // No `CLUSTER INFO` at connect: a user limited to its streams and `CLUSTER SLOTS` can publish.
        enableReadyCheck: false,
        // A command that failed because its node's connection closed may have been run: not sent
        // again by ioredis (the publisher decides); redirections (`MOVED`, `ASK`), `TRYAGAIN` and
        // `CLUSTERDOWN` were not run and are followed.
        retryDelayOnFailover: 0,
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        slotsRefreshTimeout: settings.connectTimeout ?? 2_000,
        clusterRetryStrategy:
          purpose === "commands" ? (times) => Math.min(25 * 2 ** Math.min(times, 10), 1_000) : () => null,
        redisOptions: {
          ...settings,
          ...(overrides?.connectTimeoutMillis !== undefined
            ? { connectTimeout: overrides.connectTimeoutMillis }
            : {}),
          ...(first.username !== undefined ? { username: first.username } : {}),
          ...(first.password !== undefined ? { password: Redacted.value(first.password) } : {}),
          ...(tls !== undefined ? { tls } : {})
        }
      }
      const client = new Cluster([...known.values()], clusterOptions)
      client.on("+node", (node: Redis) => {
        named(node, options.clientName)
        const { host, port } = node.options
        if (host === undefined || port === undefined || known.has(`${host}:${port}`)) return
        meet({ host, port })
        ;(client as unknown as { startupNodes: Array<{ host: string; port: number }> }).startupNodes = [
          ...known.values()
        ]
      })
      return client
    }
  }
}

/**
 * The deployment `options` describe (the URL's form; `cluster: true` for a Cluster). A URL that
 * does not parse is given to ioredis as it is: its connection fails, and the commands say why.
 */
export const topologyOf = (options: ConnectionOptions): Topology => {
  const url = urlOf(options)
  const parsed = Url.parse(url)
  if (Url.isRedisUrlError(parsed)) return single(options, url, { host: "", port: 0 })
  if (parsed._tag === "Sentinel") return sentinel(options, parsed)
  return options.cluster === true ? cluster(options, parsed) : single(options, url, parsed)
}
