/**
 * Throwaway TLS certificates made with `openssl` (EC P-256 keys): a CA, a server certificate it
 * signs for `127.0.0.1` (Node checks the IP in `subjectAltName`), a client certificate it signs for
 * mutual TLS, and a second, unrelated CA for "wrong CA" tests. Written as PEM files into a directory.
 *
 * @internal
 */
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as Effect from "effect/Effect"
import type * as RedisTestTls from "../RedisTestTls.js"
import { runProgram } from "./program.js"
import { errorMessage, RedisTestServerError, writeFile } from "./redisNode.js"

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
                "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
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
