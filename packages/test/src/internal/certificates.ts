/**
 * Throwaway TLS certificates made with `openssl` (EC P-256 keys): a CA, a server certificate it
 * signs for `127.0.0.1` (Node checks the IP in `subjectAltName`; also good as a client certificate,
 * which cluster nodes and replicas present to each other), a client certificate it signs for mutual
 * TLS, and a second, unrelated CA for "wrong CA" tests. Written as PEM files into a directory; the
 * `redis-server` arguments and the client options that use them.
 *
 * @internal
 */
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import type * as Tls from "node:tls"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as RedisTestTls from "../RedisTestTls.js"
import { runProgram } from "./program.js"
import { errorMessage, RedisTestServerError, tempDir, writeFile } from "./redisNode.js"

const DAYS = "2"
const CURVE = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

/** Makes the certificates in `dir` with the `openssl` executable. */
export const makeCertificates = (
  dir: string,
  openssl = "openssl"
): Effect.Effect<RedisTestTls.Certificates, RedisTestServerError, CommandExecutor.CommandExecutor> =>
  Effect.gen(function* () {
    const file = (name: string) => Path.join(dir, name)
    const run = (...args: ReadonlyArray<string>) => runProgram(openssl, args, { cwd: dir, reason: "Spawn" })

    const authority = (name: string, subject: string) =>
      run(
        "req",
        "-x509",
        ...CURVE,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.crt`,
        "-subj",
        subject,
        "-days",
        DAYS
      )

    const signed = (name: string, subject: string, extensions: string) =>
      Effect.gen(function* () {
        yield* writeFile(file(`${name}.ext`), extensions)
        yield* run("req", "-new", ...CURVE, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject)
        yield* run(
          "x509",
          "-req",
          "-in",
          `${name}.csr`,
          "-CA",
          "ca.crt",
          "-CAkey",
          "ca.key",
          "-set_serial",
          String(Date.now()),
          "-out",
          `${name}.crt`,
          "-days",
          DAYS,
          "-sha256",
          "-extfile",
          `${name}.ext`
        )
      })

    yield* Effect.all(
      [
        Effect.zipRight(
          authority("ca", "/CN=maf-events test CA"),
          Effect.all(
            [
              signed(
                "server",
                "/CN=127.0.0.1",
                "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
              ),
              signed(
                "client",
                "/CN=maf-events test client",
                "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n"
              )
            ],
            { concurrency: "unbounded" }
          )
        ),
        authority("wrong-ca", "/CN=maf-events unrelated CA")
      ],
      { concurrency: "unbounded" }
    )

    const pem = (name: string) =>
      Effect.tryPromise({
        try: () => Fs.readFile(file(name), "utf8"),
        catch: (cause) =>
          new RedisTestServerError({
            reason: "Spawn",
            message: `cannot read ${file(name)}: ${errorMessage(cause)}`,
            cause
          })
      }).pipe(Effect.map((text) => ({ path: file(name), pem: text })))

    return yield* Effect.all(
      {
        ca: pem("ca.crt"),
        cert: pem("server.crt"),
        key: pem("server.key"),
        clientCert: pem("client.crt"),
        clientKey: pem("client.key"),
        wrongCa: pem("wrong-ca.crt")
      },
      { concurrency: "unbounded" }
    )
  })

/** Who must show a certificate: `redis-server`'s `tls-auth-clients`. */
export type AuthClients = "yes" | "no" | "optional"

/** The `redis-server` arguments of a TLS-only node on `port` (`--port 0`, unless a plain port is given). */
export const tlsServerArgs = (
  certificates: RedisTestTls.Certificates,
  authClients: AuthClients,
  port: number,
  plainPort = 0
): ReadonlyArray<string> => [
  "--port",
  String(plainPort),
  "--tls-port",
  String(port),
  "--tls-cert-file",
  certificates.cert.path,
  "--tls-key-file",
  certificates.key.path,
  "--tls-ca-cert-file",
  certificates.ca.path,
  "--tls-auth-clients",
  authClients
]

/** A client's TLS options: trust the CA, show the client certificate. */
export const tlsClientOptions = (certificates: RedisTestTls.Certificates): Tls.ConnectionOptions => ({
  ca: certificates.ca.pem,
  cert: certificates.clientCert.pem,
  key: certificates.clientKey.pem
})

/** Makes the certificates in a temporary directory of their own, removed with the scope. */
export const makeCertificatesDir = (openssl?: string) =>
  Effect.flatMap(tempDir("maf-tls-"), (dir) => makeCertificates(dir, openssl))

/**
 * The TLS of a deployment's nodes (`tls` as the kits take it: `true`, or `{ authClients }`): the
 * certificates made, and each node's listening arguments (TLS only, `extraArgs` after) and helper
 * connections' TLS; nothing without `tls`.
 */
export const deploymentTls = (
  tls: boolean | { readonly authClients?: AuthClients | undefined } | undefined,
  openssl: string | undefined,
  extraArgs: ReadonlyArray<string>
) =>
  Effect.gen(function* () {
    if (tls === undefined || tls === false) return { certificates: Option.none(), node: {} } as const
    const authClients = tls === true ? "no" : (tls.authClients ?? "no")
    const files = yield* makeCertificatesDir(openssl)
    return {
      certificates: Option.some(files),
      node: {
        listen: (port: number) => [...tlsServerArgs(files, authClients, port), ...extraArgs],
        tls: tlsClientOptions(files)
      }
    } as const
  })
