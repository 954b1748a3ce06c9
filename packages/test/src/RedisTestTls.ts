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
 * import { RedisTestTls } from "@maf/events-test"
 *
 * layer(RedisTestTls.layer({ authClients: "yes" }))("mutual TLS", (it) => {
 *   it.effect("gives a client what it needs", () =>
 *     Effect.gen(function*() {
 *       const server = yield* RedisTestTls.RedisTestTls
 *       const { ca, clientCert, clientKey } = server.certificates
 *       // ioredis: new Redis(server.url, { tls: { ca: ca.pem, cert: clientCert.pem, key: clientKey.pem } })
 *       yield* server.command("PING") // the kit's own connection presents the client certificate
 *     }))
 * })
 * ```
 *
 * @since 0.3.0
 */

import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/redisTls.js"
import type * as RedisTestServer from "./RedisTestServer.js"
import type { RedisTestServerError } from "./RedisTestServer.js"

/**
 * Options of {@link make} and {@link layer}: those of `RedisTestServer` (`port` is the TLS port),
 * and how TLS is offered.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options extends RedisTestServer.Options {
  /**
   * `tls-auth-clients`: `"no"` (default) asks no client certificate, `"yes"` requires one signed by
   * the CA (mutual TLS), `"optional"` checks one when given.
   */
  readonly authClients?: "yes" | "no" | "optional" | undefined
  /** Also listen for plain TCP on a port of its own (`plainPort`); default false: TLS only. */
  readonly plainPort?: boolean | undefined
  /** The certificate maker; default `"openssl"`. */
  readonly opensslExecutable?: string | undefined
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
 * A real `redis-server` listening for TLS: what `RedisTestServer` offers, the certificates and the
 * plain port if any. The service of {@link RedisTestTls}.
 *
 * @since 0.3.0
 * @category models
 */
export interface TlsServer extends RedisTestServer.Server {
  /** The plain TCP port when asked for with the `plainPort` option. */
  readonly plainPort: Option.Option<number>
  /** The certificates, as files and PEM text. */
  readonly certificates: Certificates
}

/**
 * A real `redis-server` listening for TLS, owned by the scope that built it.
 *
 * @since 0.3.0
 * @category tags
 */
export class RedisTestTls extends Context.Tag("@maf/events-test/RedisTestTls")<RedisTestTls, TlsServer>() {}

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
): Effect.Effect<TlsServer, RedisTestServerError, Scope.Scope | CommandExecutor.CommandExecutor> =>
  internal.make(options)

/**
 * A layer with a fresh {@link RedisTestTls} server, stopped when the layer is released. It provides
 * Node's `CommandExecutor` itself.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<RedisTestTls, RedisTestServerError> =>
  Layer.scoped(RedisTestTls, make(options)).pipe(Layer.provide(NodeContext.layer))
