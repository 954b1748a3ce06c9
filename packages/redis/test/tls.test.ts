/**
 * TLS, for real (`RedisTestTls`: a TLS-only redis-server with throwaway certificates): the bus, a
 * reader and a group member work with the right CA and with mutual TLS; a wrong CA, a missing client
 * certificate and a plain connection to the TLS port fail within the connect bound with a one-line
 * reason that says what is wrong.
 */
import { describe, expect, layer } from "@effect/vitest"
import { EventBus, EventConsumer, EventReader, PublishResult } from "@maf/events"
import {
  RedisEventBus,
  RedisEventConsumer,
  RedisEventReader,
  type RedisStreamBackend
} from "@maf/events-redis"
import { RedisTestTls } from "@maf/events-test"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

type Server = RedisTestTls.RedisTestTls["Type"]

let streams = 0
const freshStream = () => `tls:${process.pid}:${++streams}`

/** Publishes `n` awaited events; their results. */
const publishAll = (options: RedisEventBus.Options, n: number) =>
  Effect.forEach(
    Array.from({ length: n }, (_, i) => i),
    (i) => EventBus.publish({ kind: "agent.signal", payload: { i } })
  ).pipe(Effect.provide(RedisEventBus.layer(options)))

/** What a publish answers on a connection that cannot be made, and how long it took. */
const refusedPublish = (options: RedisEventBus.Options) =>
  Effect.gen(function* () {
    const started = performance.now()
    const [result] = yield* publishAll({ ...options, publishTimeout: Duration.seconds(3) }, 1)
    return { result: result!, millis: performance.now() - started }
  })

const expectOneLineReason = (result: PublishResult.PublishResult, pattern: RegExp) => {
  expect(result._tag).toBe("NotWritten")
  const message = result._tag === "NotWritten" ? result.message : ""
  expect(message).toMatch(pattern)
  expect(message).not.toContain("\n")
}

const withCa = (server: Server): RedisStreamBackend.TlsOptions => ({ ca: server.certificates.ca.pem })

layer(RedisTestTls.layer())("TLS with the server's CA", (it) => {
  it.scoped("publish, read and consume over rediss:// with the CA given", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestTls.RedisTestTls
      const stream = freshStream()
      const connection = { url: server.url, stream, tls: withCa(server) }
      const results = yield* publishAll(connection, 5)
      expect(results.every(PublishResult.isWritten)).toBe(true)

      const read = yield* EventReader.stream({ from: "0", stream }).pipe(
        Stream.take(5),
        Stream.runCollect,
        Effect.provide(RedisEventReader.layer(connection))
      )
      expect(Chunk.toReadonlyArray(read).map((r) => r._tag)).toEqual(Array(5).fill("KnownEvent"))

      const handled = yield* Deferred.make<void>()
      let count = 0
      const member = yield* Effect.fork(
        EventConsumer.consume({
          stream,
          group: "g",
          consumer: "m1",
          from: "0",
          block: Duration.millis(50),
          handler: () =>
            Effect.suspend(() => (++count === 5 ? Deferred.succeed(handled, undefined) : Effect.void))
        }).pipe(Effect.provide(RedisEventConsumer.layer(connection)))
      )
      yield* Deferred.await(handled)
      yield* Fiber.interrupt(member)
      expect(count).toBe(5)
    })
  )

  it.scoped("the CA given as tls options alone turns TLS on, whatever the URL's scheme", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestTls.RedisTestTls
      const url = server.url.replace(/^rediss:/, "redis:")
      const results = yield* publishAll({ url, stream: freshStream(), tls: withCa(server) }, 1)
      expect(PublishResult.isWritten(results[0]!)).toBe(true)
    })
  )

  it.scoped("a wrong CA: not written, within the connect bound, the reason names the certificate", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestTls.RedisTestTls
      const { result, millis } = yield* refusedPublish({
        url: server.url,
        stream: freshStream(),
        tls: { ca: server.certificates.wrongCa.pem },
        connectTimeout: Duration.seconds(1)
      })
      expectOneLineReason(result, /certificate/i)
      expect(millis).toBeLessThan(3_500)
    })
  )

  it.scoped("no CA given (Node's trusted CAs): the self-made certificate is refused, saying so", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestTls.RedisTestTls
      const { result } = yield* refusedPublish({ url: server.url, stream: freshStream() })
      expectOneLineReason(result, /certificate/i)
    })
  )

  it.scoped(
    "a plain connection to the TLS port: not written, the reason says the connection was closed",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestTls.RedisTestTls
        const url = server.url.replace(/^rediss:/, "redis:")
        const { result, millis } = yield* refusedPublish({ url, stream: freshStream() })
        expectOneLineReason(result, /speaks TLS, use rediss:\/\//)
        expect(millis).toBeLessThan(3_500)
      })
  )
})

describe("TLS from the environment (layerConfig)", () => {
  layer(RedisTestTls.layer({ authClients: "yes" }))("REDIS_TLS_CA, REDIS_TLS_CERT, REDIS_TLS_KEY", (it) => {
    it.scoped("name PEM files, read when the layer is built: the bus publishes over mutual TLS", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestTls.RedisTestTls
        const { ca, clientCert, clientKey } = server.certificates
        const environment = ConfigProvider.fromMap(
          new Map([
            ["REDIS_URL", server.url],
            ["REDIS_TLS_CA", ca.path],
            ["REDIS_TLS_CERT", clientCert.path],
            ["REDIS_TLS_KEY", clientKey.path],
            ["MAF_EVENTS_STREAM", freshStream()]
          ])
        )
        const result = yield* EventBus.publish({ kind: "agent.signal" }).pipe(
          Effect.provide(RedisEventBus.layerConfig()),
          Effect.withConfigProvider(environment)
        )
        expect(PublishResult.isWritten(result)).toBe(true)
      })
    )

    it.scoped(
      "a file that cannot be read, or a certificate without its key, fails the layer saying which",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestTls.RedisTestTls
          const build = (entries: ReadonlyArray<[string, string]>) =>
            Effect.flip(
              Effect.scoped(Layer.build(RedisEventBus.layerConfig())).pipe(
                Effect.withConfigProvider(
                  ConfigProvider.fromMap(new Map([["REDIS_URL", server.url], ...entries]))
                )
              )
            )
          const missing = yield* build([["REDIS_TLS_CA", "/nonexistent/ca.pem"]])
          expect(String(missing)).toContain("REDIS_TLS_CA /nonexistent/ca.pem: cannot be read (ENOENT)")
          const alone = yield* build([["REDIS_TLS_CERT", server.certificates.clientCert.path]])
          expect(String(alone)).toContain("REDIS_TLS_CERT and REDIS_TLS_KEY go together")
        })
    )
  })
})

describe("mutual TLS", () => {
  layer(RedisTestTls.layer({ authClients: "yes" }))("a server that requires a client certificate", (it) => {
    it.scoped("with the client certificate and key: publish and read work", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestTls.RedisTestTls
        const { ca, clientCert, clientKey } = server.certificates
        const stream = freshStream()
        const connection = {
          url: server.url,
          stream,
          tls: { ca: ca.pem, cert: clientCert.pem, key: clientKey.pem }
        }
        const results = yield* publishAll(connection, 3)
        expect(results.every(PublishResult.isWritten)).toBe(true)
        const read = yield* EventReader.stream({ from: "0", stream }).pipe(
          Stream.take(3),
          Stream.runCollect,
          Effect.provide(RedisEventReader.layer(connection))
        )
        expect(Chunk.size(read)).toBe(3)
      })
    )

    it.scoped("without a client certificate: not written, within the connect bound, one line", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestTls.RedisTestTls
        const { result, millis } = yield* refusedPublish({
          url: server.url,
          stream: freshStream(),
          tls: withCa(server),
          connectTimeout: Duration.seconds(1)
        })
        expectOneLineReason(result, /certificate required/)
        expect(millis).toBeLessThan(3_500)
      })
    )
  })
})
