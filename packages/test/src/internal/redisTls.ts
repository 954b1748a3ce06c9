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
import { makeCertificates } from "./certificates.js"
import { freePort, makeNode, type Started, serverFaults, tempDir } from "./redisNode.js"

export const make = (options: RedisTestTls.Options): Started<RedisTestTls.TlsServer> =>
  Effect.gen(function* () {
    const certificates = yield* Effect.flatMap(tempDir("maf-tls-"), (dir) =>
      makeCertificates(dir, options.opensslExecutable)
    )
    const plainPort = options.plainPort === true ? Option.some(yield* freePort()) : Option.none<number>()
    const node = yield* makeNode({
      ...options,
      listen: (port) => [
        "--port",
        String(Option.getOrElse(plainPort, () => 0)),
        "--tls-port",
        String(port),
        "--tls-cert-file",
        certificates.cert.path,
        "--tls-key-file",
        certificates.key.path,
        "--tls-ca-cert-file",
        certificates.ca.path,
        "--tls-auth-clients",
        options.authClients ?? "no"
      ],
      tls: {
        ca: certificates.ca.pem,
        cert: certificates.clientCert.pem,
        key: certificates.clientKey.pem
      }
    })
    return {
      ...serverFaults(node),
      url: `rediss://${node.host}:${node.port}/0`,
      plainPort,
      certificates
    }
  })
