/**
 * A connected ioredis client of any deployment the backends support — one server (`redis://`,
 * `rediss://`), a master watched by Sentinel (`redis+sentinel://`), a Cluster (`cluster: true`),
 * each with TLS — made from the same {@link RedisStreamBackend.ConnectionOptions}, for programs
 * and tools that send commands of their own beside the bus.
 *
 * The client is the backends' own (see the settings table of `RedisStreamBackend`): it reconnects
 * by itself and follows a Sentinel failover; while it is disconnected a command fails at once, and
 * none is sent twice.
 *
 * @since 0.3.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Cluster, Redis } from "ioredis"
import { acquireClient, explainer, oneLine } from "./internal/client.js"
import * as Url from "./internal/redisUrl.js"
import { topologyOf, urlOf } from "./internal/topology.js"
import type * as RedisStreamBackend from "./RedisStreamBackend.js"

/**
 * An ioredis client: `Redis` for one server or a Sentinel master, `Cluster` for a Cluster.
 *
 * @since 0.3.0
 * @category models
 */
export type Client = Redis | Cluster

/**
 * A client could not connect: where to (`address`, no credentials) and why (`reason`, one line);
 * the message says both.
 *
 * @since 0.3.0
 * @category errors
 */
export class RedisClientError extends Data.TaggedError("RedisClientError")<{
  readonly address: string
  readonly reason: string
}> {
  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `cannot connect to ${this.address}: ${this.reason}`
  }
}

/** Where `options` point, for messages (never the credentials). */
const describe = (options: RedisStreamBackend.ConnectionOptions): string => {
  const parsed = Url.parse(urlOf(options))
  const where = Url.isRedisUrlError(parsed) ? "an invalid URL" : Url.describe(parsed)
  return options.cluster === true ? `the Cluster at ${where}` : where
}

/** A plain connection to a TLS port is closed (or reset) by the server without a word. */
const tlsHint = "if the server's port speaks TLS, use rediss:// or the tls option"

/** `reason`, with the hint of a TLS port when a plain connection was closed or reset. */
const withTlsHint = (reason: string, tls: boolean): string =>
  tls
    ? reason
    : /^Connection is closed/.test(reason)
      ? `closed by the server; ${tlsHint}`
      : /ECONNRESET/.test(reason)
        ? `${reason}; ${tlsHint}`
        : reason

/**
 * A client connected to the deployment `options` describe, closed with the scope (`QUIT`, then the
 * socket). The connection is waited for within `connectTimeout` (default 2 s); a failure is a
 * {@link RedisClientError} naming the server and the connection's own reason (refused, a
 * certificate refused, a wrong password, no sentinel answering), without credentials.
 *
 * @since 0.3.0
 * @category constructors
 * @example
 * import { RedisClient } from "@maf/events-redis"
 * import * as Effect from "effect/Effect"
 * import * as Redacted from "effect/Redacted"
 *
 * const length = Effect.scoped(
 *   Effect.flatMap(
 *     RedisClient.make({ url: Redacted.make("redis+sentinel://10.0.0.1:26379/mymaster") }),
 *     (client) => Effect.promise(() => client.xlen("maf:events"))
 *   )
 * )
 */
export const make = (
  options: RedisStreamBackend.ConnectionOptions
): Effect.Effect<Client, RedisClientError, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const topology = topologyOf(options)
      // Closed with the scope (`QUIT`, then the socket), its failures left to its commands.
      const client = yield* acquireClient(() => topology.client("commands"))
      const { lastError } = explainer(client, topology.sentinelHandshake)
      const url = urlOf(options)
      const millis = Duration.toMillis(options.connectTimeout ?? Duration.seconds(2))
      const failed = (error: unknown) => {
        const reason = lastError() ?? (error instanceof Error ? oneLine(error) : String(error))
        return new RedisClientError({
          address: describe(options),
          reason: Url.scrub(withTlsHint(reason, topology.tls), url)
        })
      }
      // `ready` comes before the server answered the credentials (no ready check): a `PING` tells
      // (refused for lack of permission, `NOPERM`, it still says the connection is made).
      const connected = async () => {
        await client.connect()
        await client.ping().catch((error: unknown) => {
          if (!(error instanceof Error && error.name === "ReplyError" && /^NOPERM/.test(error.message)))
            throw error
        })
      }
      yield* restore(
        Effect.tryPromise({ try: connected, catch: failed }).pipe(
          Effect.timeoutFail({
            duration: Duration.millis(millis),
            onTimeout: () => failed(`no connection within ${millis} ms`)
          }),
          // Failed before the connection's own asking of the sentinel's handshake came back.
          Effect.catchAll((error) => {
            const handshake = topology.sentinelHandshake
            return handshake !== undefined && /Connection is closed/.test(error.reason)
              ? Effect.flatMap(
                  Effect.promise(() => handshake(millis)),
                  (why) =>
                    Effect.fail(
                      why === undefined
                        ? error
                        : new RedisClientError({ address: error.address, reason: why })
                    )
                )
              : Effect.fail(error)
          })
        )
      ).pipe(
        // Not connected: it stops trying at once, not only when the scope closes.
        Effect.onError(() => Effect.sync(() => client.disconnect(false)))
      )
      return client
    })
  )

/**
 * The reason of a connection's error in one line (OpenSSL's messages run over lines; a Cluster's
 * "Failed to refresh slots cache." followed by why), with `url`'s credentials scrubbed.
 *
 * @since 0.3.0
 * @category getters
 */
export const reason = (error: unknown, url?: Redacted.Redacted<string> | string | undefined): string =>
  Url.scrub(error instanceof Error ? oneLine(error) : String(error), url)
