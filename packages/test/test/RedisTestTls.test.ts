/**
 * The TLS kit on real `redis-server` processes: the certificates it makes are what a TLS client
 * needs (the right CA connects, another CA is refused, a plain client gets nowhere), the server has
 * no plain port unless asked, mutual TLS refuses a client without a certificate, and the faults of
 * `RedisTestServer` work over TLS.
 */
import * as Fs from "node:fs/promises"
import type * as Tls from "node:tls"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import * as RedisTestTls from "../src/RedisTestTls.js"
import { connectionRefused, inPrivateTmpdir } from "./helpers/teardown.js"

/** A client that never reconnects nor queues, disconnected with the scope; `errors` are those it emitted. */
const client = (
  url: string,
  tls?: Tls.ConnectionOptions
): Effect.Effect<{ readonly redis: Redis; readonly errors: Array<unknown> }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const errors: Array<unknown> = []
      const redis = new Redis(url, {
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        connectTimeout: 5_000,
        ...(tls === undefined ? {} : { tls })
      })
      redis.on("error", (error) => errors.push(error))
      return { redis, errors }
    }),
    ({ redis }) => Effect.sync(() => redis.disconnect())
  )

/** Connects and PINGs: the reply, or the first error the client saw. */
const ping = (url: string, tls?: Tls.ConnectionOptions) =>
  Effect.flatMap(client(url, tls), ({ errors, redis }) =>
    Effect.tryPromise({
      try: () => redis.connect().then(() => redis.ping()),
      catch: (error) => String(errors[0] ?? error)
    }).pipe(Effect.either)
  )

layer(RedisTestTls.layer())("RedisTestTls", (it) => {
  it.effect("makes a CA, a server certificate for 127.0.0.1, a client certificate and an unrelated CA", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestTls.RedisTestTls
      const { ca, cert, clientCert, clientKey, key, wrongCa } = server.certificates
      for (const file of [ca, cert, clientCert, wrongCa]) {
        expect(file.pem).toMatch(/^-----BEGIN CERTIFICATE-----/)
        expect(yield* Effect.promise(() => Fs.readFile(file.path, "utf8"))).toBe(file.pem)
      }
      for (const file of [key, clientKey]) expect(file.pem).toMatch(/^-----BEGIN PRIVATE KEY-----/)
      const { X509Certificate } = yield* Effect.promise(() => import("node:crypto"))
      const serverCert = new X509Certificate(cert.pem)
      expect(serverCert.subjectAltName).toMatch(/IP Address:127\.0\.0\.1/)
      expect(serverCert.publicKey.asymmetricKeyType).toBe("ec")
      expect(serverCert.verify(new X509Certificate(ca.pem).publicKey)).toBe(true)
      expect(serverCert.verify(new X509Certificate(wrongCa.pem).publicKey)).toBe(false)
      expect(new X509Certificate(clientCert.pem).verify(new X509Certificate(ca.pem).publicKey)).toBe(true)
    })
  )

  it.effect("a client trusting the CA connects over TLS and PINGs", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestTls.RedisTestTls
      expect(server.url).toBe(`rediss://127.0.0.1:${server.port}/0`)
      expect(Either.getOrNull(yield* ping(server.url, { ca: server.certificates.ca.pem }))).toBe("PONG")
    }).pipe(Effect.scoped)
  )

  it.effect("a client trusting another CA is refused by its own certificate check", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestTls.RedisTestTls
      const result = yield* ping(server.url, { ca: server.certificates.wrongCa.pem })
      expect(result._tag).toBe("Left")
      expect(Either.getLeft(result).pipe(Option.getOrElse(() => ""))).toMatch(
        /self[- ]signed certificate in certificate chain|unable to verify/i
      )
    }).pipe(Effect.scoped)
  )

  it.effect("a plain client on the TLS port gets no answer, and there is no plain port", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestTls.RedisTestTls
      const result = yield* ping(`redis://127.0.0.1:${server.port}/0`)
      expect(result._tag).toBe("Left")
      expect(Either.getLeft(result).pipe(Option.getOrElse(() => ""))).toMatch(/closed|reset|ECONNRESET/i)
      expect(server.plainPort).toEqual(Option.none())
      expect(yield* server.command("CONFIG", "GET", "port")).toEqual(["port", "0"])
    }).pipe(Effect.scoped)
  )

  it.effect("the faults of RedisTestServer work over TLS", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestTls.RedisTestTls
      yield* server.command("SET", "tls:key", "kept")
      yield* server.restart
      expect(yield* server.command("GET", "tls:key")).toBe("kept")
      const { redis } = yield* client(server.url, { ca: server.certificates.ca.pem })
      yield* Effect.promise(() => redis.connect())
      expect(yield* server.killClients).toBeGreaterThanOrEqual(1)
      const before = Date.now()
      yield* server.hang(300)
      expect(yield* server.command("PING")).toBe("PONG")
      expect(Date.now() - before).toBeGreaterThanOrEqual(250)
    }).pipe(Effect.scoped)
  )
})

layer(RedisTestTls.layer({ authClients: "yes" }))("RedisTestTls with mutual TLS", (it) => {
  it.effect("a client without a certificate is refused, one with the CA's client certificate gets in", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestTls.RedisTestTls
      const { ca, clientCert, clientKey } = server.certificates
      const anonymous = yield* ping(server.url, { ca: ca.pem })
      expect(Either.getLeft(anonymous).pipe(Option.getOrElse(() => ""))).toMatch(
        /certificate required|ECONNRESET|closed/
      )
      const identified = yield* ping(server.url, { ca: ca.pem, cert: clientCert.pem, key: clientKey.pem })
      expect(Either.getOrNull(identified)).toBe("PONG")
    }).pipe(Effect.scoped)
  )
})

describe("RedisTestTls with a plain port", () => {
  it.effect("listens for TLS and plain TCP on ports of their own", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestTls.RedisTestTls
      expect(Option.isSome(server.plainPort)).toBe(true)
      const plainPort = Option.getOrElse(server.plainPort, () => 0)
      expect(plainPort).not.toBe(server.port)
      expect(Either.getOrNull(yield* ping(`redis://127.0.0.1:${plainPort}/0`))).toBe("PONG")
      expect(Either.getOrNull(yield* ping(server.url, { ca: server.certificates.ca.pem }))).toBe("PONG")
    }).pipe(Effect.scoped, Effect.provide(RedisTestTls.layer({ plainPort: true })))
  )
})

describe("RedisTestTls lifecycle", () => {
  it.effect("closing the scope stops the server and removes the certificates and the directory", () =>
    Effect.gen(function* () {
      const { left, result: port } = yield* inPrivateTmpdir(
        Effect.gen(function* () {
          const server = yield* RedisTestTls.RedisTestTls
          return server.port
        }).pipe(Effect.provide(RedisTestTls.layer()))
      )
      expect(left).toEqual([])
      expect(yield* connectionRefused(port)).toBe(true)
    })
  )
})
