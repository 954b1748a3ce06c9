import * as Net from "node:net"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import * as RedisTestServer from "../src/RedisTestServer.js"
import * as TcpProxy from "../src/TcpProxy.js"
import { connectionRefused } from "./helpers/teardown.js"

/** An ioredis client that never reconnects and never retries; disconnected with the scope. */
interface Client {
  readonly redis: Redis
  /** Completed with the client's `close` event. */
  readonly closed: Deferred.Deferred<void>
  /** The errors the client emitted. */
  readonly errors: Array<NodeJS.ErrnoException>
}

const connectClient = (url: string, name?: string): Effect.Effect<Client, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const closed = yield* Deferred.make<void>()
      const errors: Array<NodeJS.ErrnoException> = []
      const redis = new Redis(url, {
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        ...(name === undefined ? {} : { connectionName: name })
      })
      redis.on("error", (error: NodeJS.ErrnoException) => errors.push(error))
      redis.once("close", () => Deferred.unsafeDone(closed, Effect.void))
      yield* Effect.promise(() => redis.connect())
      return { redis, closed, errors }
    }),
    (client) => Effect.sync(() => client.redis.disconnect())
  )

/** A raw TCP connection (resolved once connected) that records what it receives. */
interface Raw {
  readonly socket: Net.Socket
  readonly received: Array<string>
  /** Completed with the socket's `close` event, with the error it saw, if any. */
  readonly closed: Deferred.Deferred<NodeJS.ErrnoException | undefined>
}

const connectRaw = (port: number): Effect.Effect<Raw, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.flatMap(Deferred.make<NodeJS.ErrnoException | undefined>(), (closed) =>
      Effect.async<Raw>((resume) => {
        const socket = Net.connect({ host: "127.0.0.1", port })
        const received: Array<string> = []
        let error: NodeJS.ErrnoException | undefined
        socket.on("data", (chunk: Buffer) => received.push(chunk.toString("latin1")))
        socket.on("error", (cause: NodeJS.ErrnoException) => {
          error = cause
        })
        socket.once("close", () => Deferred.unsafeDone(closed, Effect.succeed(error)))
        socket.once("connect", () => resume(Effect.succeed({ socket, received, closed })))
        return Effect.sync(() => socket.destroy())
      })
    ),
    (raw) => Effect.sync(() => raw.socket.destroy())
  )

/** The outcome of a promise within `millis`, or none. */
const within = <A>(millis: number, promise: Promise<A>): Effect.Effect<Option.Option<A>> =>
  Effect.promise(() => promise).pipe(Effect.timeout(millis), Effect.option)

/** Retries a check until it passes (about two seconds at most). */
const eventually = <A, E, R>(check: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(check, { schedule: Schedule.spaced("20 millis"), times: 100 })

/** Waits until the proxy counts `count` client connections (it sees accepts and closes a moment late). */
const connectionsAre = (count: number) =>
  eventually(
    Effect.flatMap(TcpProxy.TcpProxy, (proxy) =>
      Effect.filterOrFail(proxy.connections, (current) => current === count)
    )
  )

/** Fails until the server has no client connection of that name. */
const noClientNamed = (name: string) =>
  Effect.gen(function* () {
    const server = yield* RedisTestServer.RedisTestServer
    const list = String(yield* server.command("CLIENT", "LIST"))
    if (list.includes(`name=${name} `)) return yield* Effect.fail(`${name} still connected`)
  })

/** A port nothing listens on. */
const unusedPort: Effect.Effect<number> = Effect.async((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const Env = TcpProxy.layerToTestServer().pipe(Layer.provideMerge(RedisTestServer.layer()))

layer(Env, { excludeTestServices: true })("TcpProxy", (it) => {
  it.effect("forwards to the target", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const proxy = yield* TcpProxy.TcpProxy
      expect(proxy.host).toBe("127.0.0.1")
      expect(proxy.port).not.toBe(server.port)
      expect(proxy.url).toBe(`redis://127.0.0.1:${proxy.port}/0`)
      expect(proxy.target).toEqual({ host: server.host, port: server.port })
      const client = yield* connectClient(proxy.url)
      expect(yield* Effect.promise(() => client.redis.ping())).toBe("PONG")
      yield* Effect.promise(() => client.redis.set("proxy:key", "through"))
      expect(yield* server.command("GET", "proxy:key")).toBe("through")
      expect(yield* proxy.connections).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.scoped)
  )

  it.effect("stall keeps connections open and silent; restore forwards again, stalled bytes are lost", () =>
    Effect.gen(function* () {
      const proxy = yield* TcpProxy.TcpProxy
      const client = yield* connectClient(proxy.url)
      expect(yield* Effect.promise(() => client.redis.ping())).toBe("PONG")
      yield* connectionsAre(1)

      yield* proxy.stall
      yield* proxy.stall // stalling twice is fine
      // A new connection is accepted, but what it sends gets no answer either.
      const raw = yield* connectRaw(proxy.port)
      raw.socket.write("PING\r\n")
      const lost = client.redis.ping()
      expect(yield* within(500, lost)).toEqual(Option.none())
      expect(raw.received).toEqual([])
      expect(yield* Deferred.isDone(client.closed)).toBe(false)
      expect(yield* Deferred.isDone(raw.closed)).toBe(false)
      expect(client.redis.status).toBe("ready")
      expect(client.errors).toEqual([])
      yield* connectionsAre(2)

      yield* proxy.restore
      yield* proxy.restore // restoring twice is fine
      // New connections work.
      const fresh = yield* connectClient(proxy.url)
      expect(yield* Effect.promise(() => fresh.redis.ping())).toBe("PONG")
      // The connection made during the stall forwards what is sent from now on.
      raw.socket.write("PING\r\n")
      yield* eventually(
        Effect.suspend(() => (raw.received.join("") === "+PONG\r\n" ? Effect.void : Effect.fail("no PONG")))
      )
      // The old client is still open, but its PING was lost: it is one reply short for good, and
      // takes the reply to its next command for that PING.
      const next = client.redis.echo("after")
      expect(yield* within(2_000, lost)).toEqual(Option.some("after"))
      expect(yield* within(200, next)).toEqual(Option.none())
      expect(yield* Deferred.isDone(client.closed)).toBe(false)
    }).pipe(Effect.scoped)
  )

  it.effect("a close of the target is passed on at once, or at restore when stalled", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const proxy = yield* TcpProxy.TcpProxy
      const direct = yield* connectClient(proxy.url)
      expect(yield* Effect.promise(() => direct.redis.ping())).toBe("PONG")
      expect(yield* server.killClients).toBeGreaterThanOrEqual(1)
      yield* Deferred.await(direct.closed)

      const held = yield* connectClient(proxy.url)
      expect(yield* Effect.promise(() => held.redis.ping())).toBe("PONG")
      yield* proxy.stall
      expect(yield* server.killClients).toBeGreaterThanOrEqual(1)
      expect(yield* Deferred.await(held.closed).pipe(Effect.timeout("300 millis"), Effect.option)).toEqual(
        Option.none()
      )
      yield* proxy.restore
      yield* Deferred.await(held.closed)
    }).pipe(Effect.scoped)
  )

  it.effect("drop resets every connection on both sides and keeps listening", () =>
    Effect.gen(function* () {
      const proxy = yield* TcpProxy.TcpProxy
      const client = yield* connectClient(proxy.url, "proxied-drop")
      expect(yield* Effect.promise(() => client.redis.ping())).toBe("PONG")
      expect(yield* proxy.drop).toBeGreaterThanOrEqual(1)
      expect(yield* proxy.connections).toBe(0)
      yield* Deferred.await(client.closed)
      expect(client.errors.map((error) => error.code)).toContain("ECONNRESET")
      const failed = yield* Effect.promise(() => client.redis.ping().then(String, String))
      expect(failed).toMatch(/closed/i)
      // The server saw its side go too.
      yield* eventually(noClientNamed("proxied-drop"))

      // Also while stalled; the proxy stays stalled.
      const raw = yield* connectRaw(proxy.port)
      yield* connectionsAre(1)
      yield* proxy.stall
      expect(yield* proxy.drop).toBe(1)
      expect((yield* Deferred.await(raw.closed))?.code).toBe("ECONNRESET")
      yield* proxy.restore

      const fresh = yield* connectClient(proxy.url)
      expect(yield* Effect.promise(() => fresh.redis.ping())).toBe("PONG")
    }).pipe(Effect.scoped)
  )

  it.effect("closing the scope stops listening and closes every connection", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      // The proxy gets a scope of its own, closed while its clients are still open.
      const proxyScope = yield* Scope.make()
      const proxy = yield* TcpProxy.make({ target: { host: server.host, port: server.port } }).pipe(
        Scope.extend(proxyScope)
      )
      const client = yield* connectClient(proxy.url, "proxied-scope")
      expect(yield* Effect.promise(() => client.redis.ping())).toBe("PONG")
      const raw = yield* connectRaw(proxy.port)
      yield* proxy.stall
      const stalled = yield* connectRaw(proxy.port)
      yield* connectionsAre(3).pipe(Effect.provideService(TcpProxy.TcpProxy, proxy))

      yield* Scope.close(proxyScope, Exit.void)
      yield* Deferred.await(client.closed)
      yield* Deferred.await(raw.closed)
      yield* Deferred.await(stalled.closed)
      expect(yield* connectionRefused(proxy.port)).toBe(true)
      yield* eventually(noClientNamed("proxied-scope"))
      // No socket or server of the proxy is left in the process.
      const handles = (process as unknown as { _getActiveHandles(): Array<unknown> })._getActiveHandles()
      const ofProxy = handles.filter((handle) =>
        handle instanceof Net.Socket
          ? handle.localPort === proxy.port || handle.remotePort === proxy.port
          : handle instanceof Net.Server && (handle.address() as Net.AddressInfo | null)?.port === proxy.port
      )
      expect(ofProxy).toEqual([])
    }).pipe(Effect.scoped)
  )

  it.effect("a taken listen port fails with TcpProxyError", () =>
    Effect.gen(function* () {
      const proxy = yield* TcpProxy.TcpProxy
      const error = yield* TcpProxy.make({ target: proxy.target, listenPort: proxy.port }).pipe(
        Effect.scoped,
        Effect.flip
      )
      expect(error._tag).toBe("TcpProxyError")
      expect(error.message).toMatch(/EADDRINUSE/)
    })
  )
})

describe("TcpProxy without a target", () => {
  it.effect("a connection the target refuses is reset", () =>
    Effect.gen(function* () {
      const proxy = yield* TcpProxy.TcpProxy
      const raw = yield* connectRaw(proxy.port)
      expect((yield* Deferred.await(raw.closed))?.code).toBe("ECONNRESET")
      yield* connectionsAre(0)
    }).pipe(
      Effect.scoped,
      Effect.provide(TcpProxy.layerTo(Effect.map(unusedPort, (port) => ({ host: "127.0.0.1", port }))))
    )
  )
})
