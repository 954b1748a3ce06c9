import * as Fs from "node:fs/promises"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import * as RedisTestServer from "../src/RedisTestServer.js"
import { connectionRefused } from "./helpers/teardown.js"

/** A plain client that never reconnects, disconnected with the scope. */
const connectClient = (url: string, password?: string): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Redis(url, {
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        ...(password === undefined ? {} : { password })
      })
      client.on("error", () => {})
      await client.connect()
      return client
    }),
    (client) => Effect.sync(() => client.disconnect())
  )

/** The rejection of a promise, as an error value. */
const rejection = <A>(promise: () => Promise<A>): Effect.Effect<unknown, A> =>
  Effect.tryPromise({ try: promise, catch: (error) => error }).pipe(Effect.flip)

layer(RedisTestServer.layer())("RedisTestServer", (it) => {
  it.effect("answers PING on 127.0.0.1 and its url", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      expect(server.host).toBe("127.0.0.1")
      expect(server.port).toBeGreaterThan(0)
      expect(server.url).toBe(`redis://127.0.0.1:${server.port}/0`)
      expect(yield* server.command("PING")).toBe("PONG")
      const client = yield* connectClient(server.url)
      expect(yield* Effect.promise(() => client.ping())).toBe("PONG")
    }).pipe(Effect.scoped)
  )

  it.effect("command returns raw replies", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const id = yield* server.command("XADD", "raw:stream", "*", "data", "{}")
      expect(typeof id).toBe("string")
      expect(yield* server.command("XRANGE", "raw:stream", "-", "+")).toEqual([[id, ["data", "{}"]]])
      const error = yield* Effect.flip(server.command("NO-SUCH-COMMAND"))
      expect(error._tag).toBe("RedisTestServerError")
      expect(error.reason).toBe("Command")
      expect(error.message).toMatch(/unknown command/i)
    })
  )

  it.effect("keeps port and data across restart", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const port = server.port
      yield* server.command("SET", "restart:key", "kept")
      yield* server.command("XADD", "restart:stream", "*", "data", '{"n":1}')
      yield* server.command("XADD", "restart:stream", "*", "data", '{"n":2}')
      yield* server.restart
      expect(server.port).toBe(port)
      expect(yield* server.command("GET", "restart:key")).toBe("kept")
      expect(yield* server.command("XLEN", "restart:stream")).toBe(2)
      const client = yield* connectClient(server.url)
      expect(yield* Effect.promise(() => client.get("restart:key"))).toBe("kept")
    }).pipe(Effect.scoped)
  )

  it.effect("stop refuses connections until start", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      yield* server.command("SET", "stop:key", "v")
      yield* server.stop
      yield* server.stop // stopping twice is fine
      expect(yield* connectionRefused(server.port)).toBe(true)
      const error = yield* Effect.flip(server.command("PING"))
      expect(error.reason).toBe("Command")
      yield* server.start
      yield* server.start // starting twice is fine
      expect(yield* server.command("GET", "stop:key")).toBe("v")
    })
  )

  it.effect("killClients closes client connections but not the helper's", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const client = yield* connectClient(server.url)
      const closed = yield* Deferred.make<void>()
      client.once("close", () => Deferred.unsafeDone(closed, Effect.void))
      expect(yield* Effect.promise(() => client.ping())).toBe("PONG")
      const killed = yield* server.killClients
      expect(killed).toBeGreaterThanOrEqual(1)
      yield* Deferred.await(closed)
      const failed = yield* rejection(() => client.ping())
      expect(String(failed)).toMatch(/closed/i)
      expect(yield* server.command("PING")).toBe("PONG")
    }).pipe(Effect.scoped)
  )

  it.effect("hang returns at once and leaves the server unresponsive for the duration", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const client = yield* connectClient(server.url)
      expect(yield* Effect.promise(() => client.ping())).toBe("PONG")
      const duration = 1_000
      const before = Date.now()
      yield* server.hang(duration)
      const hangTook = Date.now() - before
      const pingStart = Date.now()
      expect(yield* Effect.promise(() => client.ping())).toBe("PONG")
      const pingTook = Date.now() - pingStart
      expect(hangTook).toBeLessThan(duration / 2)
      expect(pingTook).toBeGreaterThanOrEqual(0.8 * duration)
      // The server is back and the helper works.
      expect(yield* server.command("PING")).toBe("PONG")
    }).pipe(Effect.scoped)
  )
})

describe("RedisTestServer lifecycle", () => {
  it.effect("closing the scope stops the server and removes its directory", () =>
    Effect.gen(function* () {
      const { dir, port } = yield* Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        expect(yield* server.command("PING")).toBe("PONG")
        yield* Effect.promise(() => Fs.access(server.dir))
        return { dir: server.dir, port: server.port }
      }).pipe(Effect.provide(RedisTestServer.layer()))
      expect(yield* connectionRefused(port)).toBe(true)
      const gone = yield* rejection(() => Fs.access(dir))
      expect(String(gone)).toMatch(/ENOENT/)
    })
  )

  it.effect("closing the scope does not wait for a hang to end", () =>
    Effect.gen(function* () {
      const before = Date.now()
      const port = yield* Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        yield* server.hang("10 seconds")
        return server.port
      }).pipe(Effect.provide(RedisTestServer.layer()))
      expect(Date.now() - before).toBeLessThan(5_000)
      expect(yield* connectionRefused(port)).toBe(true)
    })
  )

  it.effect("a server that cannot start fails with its output", () =>
    Effect.gen(function* () {
      const error = yield* RedisTestServer.RedisTestServer.pipe(
        Effect.provide(RedisTestServer.layer({ args: ["--no-such-directive", "x"] })),
        Effect.flip
      )
      expect(error._tag).toBe("RedisTestServerError")
      expect(error.reason).toBe("Startup")
      expect(error.message).toMatch(/exited with code 1/)
      expect(error.message).toMatch(/Bad directive/)
    })
  )

  it.effect("extra args and helper credentials", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      expect(yield* server.command("PING")).toBe("PONG")
      expect(yield* server.command("CONFIG", "GET", "requirepass")).toEqual(["requirepass", "s3cret"])
      const anonymous = yield* rejection(() => {
        const client = new Redis(server.url, { lazyConnect: true, retryStrategy: () => null })
        client.on("error", () => {})
        return client.ping().finally(() => client.disconnect())
      })
      expect(String(anonymous)).toMatch(/NOAUTH/)
      const client = yield* connectClient(server.url, "s3cret")
      expect(yield* Effect.promise(() => client.ping())).toBe("PONG")
    }).pipe(
      Effect.scoped,
      Effect.provide(
        RedisTestServer.layer({ args: ["--requirepass", "s3cret"], password: Redacted.make("s3cret") })
      )
    )
  )

  it.effect("hang reports a refused DEBUG command", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const error = yield* Effect.flip(server.hang("1 second"))
      expect(error.reason).toBe("Command")
      expect(error.message).toMatch(/DEBUG/)
      expect(yield* server.command("PING")).toBe("PONG")
    }).pipe(Effect.provide(RedisTestServer.layer({ args: ["--enable-debug-command", "no"] })))
  )
})
