/**
 * A real `redis-server` that speaks TLS only, for tests: a throwaway CA, a server certificate for
 * `127.0.0.1` and a client certificate (EC keys, made with `openssl`), a second unrelated CA for
 * "wrong CA" tests, and the server started with `--tls-port` (its plain port closed unless asked
 * for), mutual TLS as an option. The certificates are exposed as files and as PEM text; everything
 * is removed when the scope closes. The faults are those of `RedisTestServer`.
 *
 * A service of its own rather than an option of `RedisTestServer`: it adds the certificates, a
 * `rediss://` URL and an optional plain port, and a test may want a plain server and a TLS one side
 * by side.
 *
 * @example
 * ```ts
 * import { layer } from "@effect/vitest"
 * import * as Effect from "effect/Effect"
 * import { Redis } from "ioredis"
 * import { RedisTestTls } from "@maf/events-test"
 *
 * layer(RedisTestTls.layer({ authClients: "yes" }))("mutual TLS", (it) => {
 *   it.effect("a client with a certificate gets in", () =>
 *     Effect.gen(function*() {
 *       const server = yield* RedisTestTls.RedisTestTls
 *       const { ca, clientCert, clientKey } = server.certificates
 *       const client = new Redis(server.url, { tls: { ca: ca.pem, cert: clientCert.pem, key: clientKey.pem } })
 *       yield* Effect.promise(() => client.ping())
 *       client.disconnect()
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
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/redisTls.js"
import type { RedisTestServerError } from "./RedisTestServer.js"

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /**
   * `tls-auth-clients`: `"no"` (default) asks no client certificate, `"yes"` requires one signed by
   * the CA (mutual TLS), `"optional"` checks one when given.
   */
  readonly authClients?: "yes" | "no" | "optional" | undefined
  /** Also listen for plain TCP on a port of its own (`plainPort`); default false: TLS only. */
  readonly plainPort?: boolean | undefined
  /** Extra `redis-server` arguments, appended after the defaults (so they override them). */
  readonly args?: ReadonlyArray<string> | undefined
  /** The server executable; default `"redis-server"`. */
  readonly executable?: string | undefined
  /** The certificate maker; default `"openssl"`. */
  readonly opensslExecutable?: string | undefined
  /** How long a start may take until the server answers `PING`; default 10 seconds. */
  readonly startTimeout?: Duration.DurationInput | undefined
  /** How long `stop` waits for the process to exit after `SHUTDOWN SAVE`; default 10 seconds. */
  readonly stopTimeout?: Duration.DurationInput | undefined
  /** Bound on each helper command (connect and reply); default 10 seconds. */
  readonly commandTimeout?: Duration.DurationInput | undefined
  /** ACL user of the helper connections. */
  readonly username?: string | undefined
  /** Password of the helper connections. */
  readonly password?: string | Redacted.Redacted<string> | undefined
}

/**
 * A PEM file: where it is and what it holds.
 *
 * @since 0.3.0
 * @category models
 */
export interface PemFile {
  readonly path: string
  readonly pem: string
}

/**
 * The throwaway certificates of a {@link RedisTestTls} server (EC P-256 keys, valid two days).
 *
 * @since 0.3.0
 * @category models
 */
export interface Certificates {
  /** The CA that signed the server's and the client's certificates: what a client trusts. */
  readonly ca: PemFile
  /** The server's certificate (`subjectAltName` `IP:127.0.0.1`, `DNS:localhost`). */
  readonly cert: PemFile
  /** The server's private key. */
  readonly key: PemFile
  /** A client certificate signed by the CA, for mutual TLS. */
  readonly clientCert: PemFile
  /** The client certificate's private key. */
  readonly clientKey: PemFile
  /** The certificate of another CA, which signed nothing the server has: trusting it must fail. */
  readonly wrongCa: PemFile
}

/**
 * A real `redis-server` listening for TLS, owned by the scope that built it.
 *
 * @since 0.3.0
 * @category tags
 */
export class RedisTestTls extends Context.Tag("@maf/events-test/RedisTestTls")<
  RedisTestTls,
  {
    /** Always `"127.0.0.1"`. */
    readonly host: string
    /** The TLS port; it stays the same across `stop` / `start`. */
    readonly port: number
    /** `rediss://127.0.0.1:<port>/0` (without credentials). */
    readonly url: string
    /** The plain TCP port when asked for with the `plainPort` option. */
    readonly plainPort: Option.Option<number>
    /** The certificates, as files and PEM text. */
    readonly certificates: Certificates
    /** The server's temporary working directory; removed when the scope closes. */
    readonly dir: string
    /** `SHUTDOWN SAVE` and wait for the process to exit; nothing when stopped already. */
    readonly stop: Effect.Effect<void, RedisTestServerError>
    /** Start again on the same ports, directory and certificates; nothing when running. */
    readonly start: Effect.Effect<void, RedisTestServerError>
    /** `stop`, then `start`. */
    readonly restart: Effect.Effect<void, RedisTestServerError>
    /** Close every normal client connection except the helper's own; succeeds with how many. */
    readonly killClients: Effect.Effect<number, RedisTestServerError>
    /** Make the server unresponsive for `duration` (`DEBUG SLEEP`), as `RedisTestServer.hang`. */
    readonly hang: (duration: Duration.DurationInput) => Effect.Effect<void, RedisTestServerError>
    /** Send a raw command on a fresh helper connection (TLS, with the client certificate). */
    readonly command: (
      ...args: ReadonlyArray<string | number>
    ) => Effect.Effect<unknown, RedisTestServerError>
  }
>() {
  /**
   * @since 0.3.0
   * @category constructors
   */
  static readonly make = (options?: Options) => make(options)

  /**
   * @since 0.3.0
   * @category layers
   */
  static readonly layer = (options?: Options) => layer(options)
}

/**
 * Builds a {@link RedisTestTls}: makes the certificates, picks the ports, starts `redis-server`
 * with TLS and waits until it answers `PING` over TLS. Closing the scope kills the process and
 * removes the certificates and the directory. Needs a `CommandExecutor`; {@link layer} provides it.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  Context.Tag.Service<RedisTestTls>,
  RedisTestServerError,
  Scope.Scope | CommandExecutor.CommandExecutor
> => internal.make(options)

/**
 * A layer with a fresh {@link RedisTestTls} server, stopped when the layer is released. It provides
 * Node's `CommandExecutor` itself.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<RedisTestTls, RedisTestServerError> =>
  Layer.scoped(RedisTestTls, make(options)).pipe(Layer.provide(NodeContext.layer))
