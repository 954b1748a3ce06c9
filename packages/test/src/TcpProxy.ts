/**
 * A TCP proxy for partition tests: it listens on `127.0.0.1` (a free port by default), opens a
 * connection to the target for every client connection and copies bytes both ways — until it is
 * told to misbehave:
 *
 * - `stall` cuts the network without telling anyone: every connection stays open, but no byte
 *   crosses in either direction (it is read and dropped); new connections are accepted and just as
 *   silent. No FIN, no RST: a client sees a peer that does not answer.
 * - `restore` heals it: bytes cross again. What was sent during the stall is lost for good (the
 *   "lost packets" model), so a connection that carried traffic during the stall is out of step
 *   afterwards (a Redis client waits for replies that never come, or takes the next reply for an
 *   earlier command); fresh connections work normally.
 * - `drop` resets every current connection (RST on both sides), as a crashed middlebox would.
 *
 * Closing the scope closes the listening socket and every connection.
 *
 * @example
 * ```ts
 * import { layer } from "@effect/vitest"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import { RedisTestServer, TcpProxy } from "@maf/events-test"
 *
 * const Env = TcpProxy.layerToTestServer().pipe(Layer.provideMerge(RedisTestServer.layer()))
 *
 * layer(Env, { excludeTestServices: true })("partition", (it) => {
 *   it.effect("survives a stall", () =>
 *     Effect.gen(function*() {
 *       const proxy = yield* TcpProxy.TcpProxy
 *       // connect the code under test to proxy.url, then:
 *       yield* proxy.stall
 *       // ... it must neither hang nor break ...
 *       yield* proxy.restore
 *     }))
 * })
 * ```
 *
 * @since 0.1.0
 */

import * as Net from "node:net"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as RedisTestServer from "./RedisTestServer.js"

/**
 * The proxy could not be set up (the listening port is taken, for instance).
 *
 * @since 0.1.0
 * @category errors
 */
export class TcpProxyError extends Data.TaggedError("TcpProxyError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * Where the proxy forwards to.
 *
 * @since 0.1.0
 * @category models
 */
export interface Target {
  readonly host: string
  readonly port: number
}

/**
 * Options of {@link layerTo} and {@link layerToTestServer}: everything but the target.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListenOptions {
  /** A fixed port to listen on; by default a free port of `127.0.0.1` is picked. */
  readonly listenPort?: number | undefined
}

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends ListenOptions {
  /** Where every accepted connection is forwarded to. */
  readonly target: Target
}

/**
 * A TCP proxy in front of a target, owned by the scope that built it.
 *
 * @since 0.1.0
 * @category tags
 */
export class TcpProxy extends Context.Tag("@maf/events-test/TcpProxy")<
  TcpProxy,
  {
    /** Always `"127.0.0.1"`. */
    readonly host: string
    /** The port the proxy listens on. */
    readonly port: number
    /** `redis://127.0.0.1:<port>/0`, for pointing a Redis client at the proxy. */
    readonly url: string
    /** Where connections are forwarded to. */
    readonly target: Target
    /**
     * Stop forwarding in both directions, keeping every connection open: bytes that arrive from
     * either side are read and dropped, and closes (FIN, RST) from either side are held back until
     * `restore`. New connections are accepted (and connected to the target) but just as silent.
     * Bytes handed to a socket before the stall may still go out. Does nothing when stalled already.
     */
    readonly stall: Effect.Effect<void>
    /**
     * Forward again. Bytes that arrived during the stall are not delivered: they are lost, so a
     * connection that carried traffic during the stall has a hole in its byte stream (for Redis:
     * replies missing or matched to the wrong commands) and is best considered broken; new
     * connections work. Closes held back during the stall are passed on now, as a healed network
     * would deliver them. Does nothing when not stalled.
     */
    readonly restore: Effect.Effect<void>
    /**
     * Reset every current connection: RST to the client and to the target (`resetAndDestroy`),
     * whether stalled or not. Returns once the sockets are closed, with how many client
     * connections were reset. The proxy keeps listening (and keeps its stalled state).
     */
    readonly drop: Effect.Effect<number>
    /** How many client connections are open. */
    readonly connections: Effect.Effect<number>
  }
>() {
  /**
   * @since 0.1.0
   * @category constructors
   */
  static readonly make = (options: Options) => make(options)

  /**
   * @since 0.1.0
   * @category layers
   */
  static readonly layer = (options: Options) => layer(options)

  /**
   * @since 0.1.0
   * @category layers
   */
  static readonly layerTo = <E, R>(target: Effect.Effect<Target, E, R>, options?: ListenOptions) =>
    layerTo(target, options)
}

// ---------------------------------------------------------------------------------------------------
// internal
// ---------------------------------------------------------------------------------------------------

const HOST = "127.0.0.1"

const noop = (): void => {}

/** One client connection and its connection to the target. */
interface Link {
  readonly client: Net.Socket
  readonly upstream: Net.Socket
  clientOpen: boolean
  upstreamOpen: boolean
  /** Closes seen during a stall, passed on at `restore`. */
  held: Array<() => void>
}

/** RST where there is a connection to reset; a plain destroy while still connecting. */
const reset = (socket: Net.Socket): void => {
  if (socket.destroyed) return
  if (socket.connecting || socket.pending) socket.destroy()
  else socket.resetAndDestroy()
}

/** Destroys the sockets and waits for their `close` events. */
const destroyAll = (
  sockets: Iterable<Net.Socket>,
  destroy: (socket: Net.Socket) => void
): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    let pending = 1
    const done = () => {
      pending -= 1
      if (pending === 0) resume(Effect.void)
    }
    for (const socket of Array.from(sockets)) {
      if (socket.closed) continue
      pending += 1
      socket.once("close", done)
      destroy(socket)
    }
    done()
  })

const listen = (server: Net.Server, port: number): Effect.Effect<number, TcpProxyError> =>
  Effect.async<number, TcpProxyError>((resume) => {
    const onError = (cause: Error) =>
      resume(
        Effect.fail(
          new TcpProxyError({ message: `cannot listen on ${HOST}:${port}: ${cause.message}`, cause })
        )
      )
    server.once("error", onError)
    server.listen(port, HOST, () => {
      server.off("error", onError)
      server.on("error", noop)
      const address = server.address()
      resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : port))
    })
  })

/**
 * Builds a {@link TcpProxy} listening on `127.0.0.1` (on `listenPort`, else a free port) and
 * forwarding to `target`. The target is connected per client connection, so it need not be up when
 * the proxy starts: a connection the target refuses is reset. Closing the scope stops listening,
 * destroys every connection and waits until all sockets are closed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<Context.Tag.Service<TcpProxy>, TcpProxyError, Scope.Scope> =>
  Effect.gen(function* () {
    const target: Target = { host: options.target.host, port: options.target.port }
    const links = new Set<Link>()
    let stalled = false
    let closing = false

    /** Copies `from` to `to`, with back-pressure; drops the bytes while stalled. */
    const forward = (from: Net.Socket, to: Net.Socket): void => {
      from.on("data", (chunk: Buffer) => {
        if (stalled || !to.writable) return
        if (!to.write(chunk)) {
          from.pause()
          to.once("drain", () => from.resume())
        }
      })
    }

    /** Passes a FIN (`end`) or a close (`close`) of `from` on to `to`, or holds it while stalled. */
    const pass = (link: Link, to: Net.Socket, action: (to: Net.Socket) => void): void => {
      if (closing || to.destroyed) return
      if (stalled) link.held.push(() => action(to))
      else action(to)
    }

    const onConnection = (client: Net.Socket): void => {
      if (closing) {
        client.destroy()
        return
      }
      const upstream = Net.connect({
        host: target.host,
        port: target.port,
        allowHalfOpen: true,
        noDelay: true
      })
      client.setNoDelay(true)
      const link: Link = { client, upstream, clientOpen: true, upstreamOpen: true, held: [] }
      links.add(link)
      for (const [from, to] of [
        [client, upstream],
        [upstream, client]
      ] as const) {
        from.on("error", noop)
        forward(from, to)
        // A half-close is passed on as a half-close.
        from.on("end", () => pass(link, to, (socket) => socket.end()))
        from.once("close", (hadError: boolean) => {
          if (from === client) link.clientOpen = false
          else link.upstreamOpen = false
          if (!link.clientOpen && !link.upstreamOpen) links.delete(link)
          // Nothing is read for a side that is gone: let the other side's bytes drain away.
          to.resume()
          // An error (reset, refused, timed out) becomes a reset; a normal close an end.
          pass(link, to, hadError ? reset : (socket) => socket.end())
        })
      }
    }

    const server = Net.createServer({ allowHalfOpen: true, noDelay: true }, onConnection)
    const port = yield* Effect.acquireRelease(listen(server, options.listenPort ?? 0), () =>
      Effect.suspend(() => {
        closing = true
        const closed = Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
        })
        const sockets = Array.from(links).flatMap((link) => [link.client, link.upstream])
        return Effect.zipRight(
          destroyAll(sockets, (socket) => socket.destroy()),
          closed
        )
      })
    )

    const stall = Effect.sync(() => {
      if (stalled) return
      stalled = true
      // Sockets paused for back-pressure are read (and dropped) from now on.
      for (const link of links) {
        link.client.resume()
        link.upstream.resume()
      }
    })

    const restore = Effect.sync(() => {
      if (!stalled) return
      stalled = false
      for (const link of links) {
        const held = link.held
        link.held = []
        for (const action of held) action()
      }
    })

    const drop = Effect.suspend(() => {
      const current = Array.from(links)
      const count = current.filter((link) => link.clientOpen).length
      for (const link of current) link.held = []
      return destroyAll(
        current.flatMap((link) => [link.client, link.upstream]),
        reset
      ).pipe(Effect.as(count))
    })

    const connections = Effect.sync(() => {
      let count = 0
      for (const link of links) if (link.clientOpen) count += 1
      return count
    })

    return {
      host: HOST,
      port,
      url: `redis://${HOST}:${port}/0`,
      target,
      stall,
      restore,
      drop,
      connections
    }
  })

/**
 * A layer with a {@link TcpProxy} to a fixed target, closed when the layer is released.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<TcpProxy, TcpProxyError> =>
  Layer.scoped(TcpProxy, make(options))

/**
 * A layer with a {@link TcpProxy} whose target comes from an effect, run when the layer is built —
 * typically read from another service of the test's environment:
 *
 * ```ts
 * TcpProxy.layerTo(Effect.map(Database, (db) => ({ host: db.host, port: db.port })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTo = <E, R>(
  target: Effect.Effect<Target, E, R>,
  options?: ListenOptions
): Layer.Layer<TcpProxy, TcpProxyError | E, R> =>
  Layer.scoped(
    TcpProxy,
    Effect.flatMap(target, (target) => make({ ...options, target }))
  )

/**
 * A layer with a {@link TcpProxy} in front of the {@link RedisTestServer.RedisTestServer} of the
 * environment (its port survives restarts, so the proxy keeps working across them). Provide the
 * server with `Layer.provideMerge` to keep both in the test's environment:
 *
 * ```ts
 * TcpProxy.layerToTestServer().pipe(Layer.provideMerge(RedisTestServer.layer()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerToTestServer = (
  options?: ListenOptions
): Layer.Layer<TcpProxy, TcpProxyError, RedisTestServer.RedisTestServer> =>
  layerTo(
    Effect.map(RedisTestServer.RedisTestServer, (server) => ({ host: server.host, port: server.port })),
    options
  )
