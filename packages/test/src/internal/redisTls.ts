/**
 * The TLS server kit's workings: the certificates in a directory of their own, then one
 * {@link RedisNode} listening with `--tls-port` (and `--port 0` unless a plain port is asked for),
 * whose helper connections speak TLS with the client certificate.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as RedisTestTls from "../RedisTestTls.js"
import { makeCertificatesDir, tlsClientOptions, tlsServerArgs } from "./certificates.js"
import { freePort, makeNode, type Started, serverFaults } from "./redisNode.js"

export const make = (options: RedisTestTls.Options): Started<RedisTestTls.TlsServer> =>
  Effect.gen(function* () {
    const certificates = yield* makeCertificatesDir(options.opensslExecutable)
    const plainPort = options.plainPort === true ? Option.some(yield* freePort()) : Option.none<number>()
    const node = yield* makeNode({
      ...options,
      listen: (port) =>
        tlsServerArgs(
          certificates,
          options.authClients ?? "no",
          port,
          Option.getOrElse(plainPort, () => 0)
        ),
      tls: tlsClientOptions(certificates)
    })
    return {
      ...serverFaults(node),
      url: `rediss://${node.host}:${node.port}/0`,
      plainPort,
      certificates
    }
  })
