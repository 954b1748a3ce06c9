/**
 * RedisClient, for real: a client connected to a redis-server (named, its password taken from the
 * URL), closed with its scope; a connection that cannot be made is a `RedisClientError` within the
 * connect bound, its reason the connection's own in one line, never the password (refused, a wrong
 * password, a plain connection to a TLS port, a certificate not trusted). Sentinel and Cluster
 * clients are exercised by the commands built on it (`packages/cli/test/topologies.commands.test.ts`)
 * and through Sentinel with TLS (`tls.sentinel.test.ts`).
 */
import { describe, expect, layer } from "@effect/vitest"
import { RedisClient } from "@maf/events-redis"
import { RedisTestServer, RedisTestTls } from "@maf/events-test"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"

const secret = "s3cret-client-pass"

/** A failed `make`, and how long it took. */
const refused = (options: Parameters<typeof RedisClient.make>[0]) =>
  Effect.gen(function* () {
    const started = performance.now()
    const error = yield* Effect.flip(Effect.scoped(RedisClient.make(options)))
    return { error, millis: performance.now() - started }
  })

describe("RedisClient", () => {
  layer(RedisTestServer.layer({ args: ["--requirepass", secret], password: secret }), {
    excludeTestServices: true
  })("on a redis-server with a password", (it) => {
    it.effect("a client connected and named; closed with its scope", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const url = Redacted.make(`redis://:${secret}@${server.host}:${server.port}`)
        const clients = Effect.map(server.command("CLIENT", "LIST"), String)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const client = yield* RedisClient.make({ url, clientName: "maf-client-test" })
            expect(yield* Effect.promise(() => client.ping())).toBe("PONG")
            expect(yield* clients).toContain("name=maf-client-test")
          })
        )
        yield* clients.pipe(
          Effect.filterOrFail((list) => !list.includes("name=maf-client-test")),
          Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("2 seconds")))
        )
      })
    )

    it.effect("a wrong password: the server's refusal, in one line, without the password", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const wrong = "not-the-password-123"
        const { error } = yield* refused({
          url: Redacted.make(`redis://:${wrong}@${server.host}:${server.port}`)
        })
        expect(error._tag).toBe("RedisClientError")
        expect(error.address).toBe(`${server.host}:${server.port}`)
        expect(error.message).toMatch(/^cannot connect to 127\.0\.0\.1:\d+: WRONGPASS/)
        expect(error.message).not.toContain(wrong)
        expect(error.message).not.toContain("\n")
      })
    )

    it.effect("a server that is not there: refused at once, saying so", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const { error, millis } = yield* refused({ url: `redis://:${secret}@${server.host}:1` })
        expect(error.message).toBe(
          `cannot connect to ${server.host}:1: connect ECONNREFUSED ${server.host}:1`
        )
        expect(millis).toBeLessThan(1_000)
      })
    )
  })

  layer(RedisTestTls.layer(), { excludeTestServices: true })("on a redis-server speaking TLS", (it) => {
    it.effect(
      "with its CA: connected; a plain connection and a wrong CA fail in one line within the bound",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestTls.RedisTestTls
          const { ca, wrongCa } = server.certificates
          const client = yield* Effect.scoped(
            Effect.flatMap(RedisClient.make({ url: server.url, tls: { ca: ca.pem } }), (c) =>
              Effect.promise(() => c.ping())
            )
          )
          expect(client).toBe("PONG")

          const plain = yield* refused({
            url: server.url.replace(/^rediss:/, "redis:"),
            connectTimeout: Duration.seconds(1)
          })
          expect(plain.error.message).toMatch(
            /if the server's port speaks TLS, use rediss:\/\/ or the tls option$/
          )
          expect(plain.millis).toBeLessThan(2_000)

          const untrusted = yield* refused({
            url: server.url,
            tls: { ca: wrongCa.pem },
            connectTimeout: Duration.seconds(1)
          })
          expect(untrusted.error.message).toMatch(/certificate/i)
          expect(untrusted.error.message).not.toContain("\n")
          expect(untrusted.millis).toBeLessThan(2_000)
        })
    )
  })
})
