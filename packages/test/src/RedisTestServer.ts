/**
 * A real `redis-server` for tests: started on a free port of `127.0.0.1` with its own temporary
 * directory, stopped (and the directory removed) when the scope closes. Besides `host`, `port` and
 * `url`, it offers the faults the bus must survive: stopping and restarting the server with its data,
 * killing client connections, and making the server hang.
 *
 * All its waiting (start-up polling, time-outs) runs on the live clock, so it works inside
 * `it.effect` / `it.layer` where the `TestClock` is installed.
 *
 * @example
 * ```ts
 * import { layer } from "@effect/vitest"
 * import * as Effect from "effect/Effect"
 * import { RedisTestServer } from "@maf/events-test"
 *
 * layer(RedisTestServer.layer())("redis", (it) => {
 *   it.effect("answers", () =>
 *     Effect.gen(function*() {
 *       const server = yield* RedisTestServer.RedisTestServer
 *       yield* server.command("SET", "k", "v")
 *       yield* server.restart
 *       const value = yield* server.command("GET", "k") // "v"
 *     }))
 * })
 * ```
 *
 * @since 0.1.0
 */

import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/redisNode.js"

/**
 * What went wrong with the test server (or with a topology of the kit).
 *
 * - `Spawn`: the temporary directory, the free port or the process could not be obtained.
 * - `Startup`: the server exited or did not answer `PING` in time (the message holds its output).
 * - `Command`: a command sent by the helper failed (connection refused, error reply, time-out).
 * - `Shutdown`: `SHUTDOWN SAVE` was refused or the process did not exit in time.
 * - `Fault`: a topology did not reach the state a fault or its start-up waits for (a failover that
 *   does not happen, a cluster that does not become `ok`) in time.
 *
 * @since 0.1.0
 * @category errors
 */
export type RedisTestServerErrorReason = "Spawn" | "Startup" | "Command" | "Shutdown" | "Fault"

/**
 * A failure of the test server or of one of its helper commands; the kit's topologies
 * (`RedisTestTls`, `RedisTestCluster`, `RedisTestSentinel`) fail with it too.
 *
 * @since 0.1.0
 * @category errors
 */
export interface RedisTestServerError extends Cause.YieldableError {
  readonly _tag: "RedisTestServerError"
  readonly reason: RedisTestServerErrorReason
  readonly message: string
  readonly cause?: unknown
}

/**
 * Makes a {@link RedisTestServerError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const RedisTestServerError: new (args: {
  readonly reason: RedisTestServerErrorReason
  readonly message: string
  readonly cause?: unknown
}) => RedisTestServerError = internal.RedisTestServerError

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Extra `redis-server` arguments, appended after the defaults (so they override them), e.g.
   * `["--rename-command", "EVAL", ""]` or `["--requirepass", "secret"]`.
   */
  readonly args?: ReadonlyArray<string> | undefined
  /** A fixed port; by default a free port of `127.0.0.1` is picked. */
  readonly port?: number | undefined
  /** The server executable; default `"redis-server"` (looked up in `PATH`). */
  readonly executable?: string | undefined
  /** How long a start may take until the server answers `PING`; default 10 seconds. */
  readonly startTimeout?: Duration.DurationInput | undefined
  /** How long `stop` waits for the process to exit after `SHUTDOWN SAVE`; default 10 seconds. */
  readonly stopTimeout?: Duration.DurationInput | undefined
  /** Bound on each helper command (connect and reply); default 10 seconds. */
  readonly commandTimeout?: Duration.DurationInput | undefined
  /** ACL user of the helper connections (when the extra args restrict the default user). */
  readonly username?: string | undefined
  /** Password of the helper connections (when the extra args set `requirepass` or ACL users). */
  readonly password?: string | Redacted.Redacted<string> | undefined
}

/**
 * Options every deployment of several processes takes (`RedisTestCluster`, `RedisTestSentinel`).
 *
 * @since 0.3.0
 * @category models
 */
export interface DeploymentOptions {
  /** Extra `redis-server` arguments of every data server, after the kit's own. */
  readonly args?: ReadonlyArray<string> | undefined
  /** The server executable; default `"redis-server"`. */
  readonly executable?: string | undefined
  /** How long the whole start may take until the deployment is ready; default 30 seconds. */
  readonly startTimeout?: Duration.DurationInput | undefined
  /** How long a fault waits for the deployment to settle again; default 30 seconds. */
  readonly faultTimeout?: Duration.DurationInput | undefined
  /** Bound on each helper command (connect and reply); default 10 seconds. */
  readonly commandTimeout?: Duration.DurationInput | undefined
}

/**
 * A real `redis-server` process: its address, its directory and its faults. The service of
 * {@link RedisTestServer}, and of `RedisTestTls` with its certificates.
 *
 * @since 0.3.0
 * @category models
 */
export interface Server {
  /** Always `"127.0.0.1"`. */
  readonly host: string
  /** The TCP port (for `RedisTestTls`, the TLS port); it stays the same across `stop` / `start`. */
  readonly port: number
  /** `redis://127.0.0.1:<port>/0` (`rediss://` for `RedisTestTls`), without credentials. */
  readonly url: string
  /** The server's temporary working directory (holds `dump.rdb`); removed when the scope closes. */
  readonly dir: string
  /**
   * `SHUTDOWN SAVE` (the data is written to `dump.rdb`) and wait for the process to exit. Does
   * nothing when the server is stopped already.
   */
  readonly stop: Effect.Effect<void, RedisTestServerError>
  /**
   * Start the server again on the same port with the same directory (so the saved data is
   * loaded) and wait until it answers `PING`. Does nothing when the server is running.
   */
  readonly start: Effect.Effect<void, RedisTestServerError>
  /** `stop`, then `start`. */
  readonly restart: Effect.Effect<void, RedisTestServerError>
  /**
   * `SIGKILL` and wait for the exit, as `SHUTDOWN NOSAVE` would lose the data: what was written
   * since the last save is gone, and `start` loads the last `dump.rdb` (none: an empty server).
   *
   * @since 0.3.0
   */
  readonly kill: Effect.Effect<void, RedisTestServerError>
  /**
   * `CLIENT KILL TYPE normal SKIPME yes`: close every normal client connection except the
   * helper's own; succeeds with how many were closed.
   */
  readonly killClients: Effect.Effect<number, RedisTestServerError>
  /**
   * Make the server unresponsive for `duration` (`DEBUG SLEEP` sent on a throwaway connection).
   * Returns once the command has been sent and the server has had a few milliseconds to take
   * it up, without waiting for the sleep to end; the server stays unresponsive for about
   * `duration` after that.
   */
  readonly hang: (duration: Duration.DurationInput) => Effect.Effect<void, RedisTestServerError>
  /**
   * Freeze the process (`SIGSTOP`) for `duration`, then let it go on (`SIGCONT`); returns at once.
   * Unlike `hang`, the kernel still accepts connections meanwhile; nothing is answered.
   *
   * @since 0.3.0
   */
  readonly pause: (duration: Duration.DurationInput) => Effect.Effect<void, RedisTestServerError>
  /**
   * Send a raw command on a fresh helper connection and return the raw reply (strings, numbers,
   * nested arrays, `null`), e.g. `command("XLEN", "maf:events")`.
   */
  readonly command: (...args: ReadonlyArray<string | number>) => Effect.Effect<unknown, RedisTestServerError>
}

/**
 * A real `redis-server` process, owned by the scope that built it.
 *
 * @since 0.1.0
 * @category tags
 */
export class RedisTestServer extends Context.Tag("@maf/events-test/RedisTestServer")<
  RedisTestServer,
  Server
>() {
  /**
   * @since 0.1.0
   * @category constructors
   */
  static readonly make = (options?: Options) => make(options)

  /**
   * @since 0.1.0
   * @category layers
   */
  static readonly layer = (options?: Options) => layer(options)
}

/**
 * Builds a {@link RedisTestServer}: picks a port, creates the temporary directory, starts
 * `redis-server` and waits until it answers `PING`. Closing the scope kills the process (`SIGKILL`),
 * closes helper connections and removes the directory. Needs a `CommandExecutor` (Node's:
 * `NodeContext.layer`); {@link layer} provides it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<Server, RedisTestServerError, Scope.Scope | CommandExecutor.CommandExecutor> =>
  Effect.map(internal.makeNode(options), (node) => ({
    ...internal.serverFaults(node),
    url: `redis://${node.host}:${node.port}/0`
  }))

/**
 * A layer with a fresh {@link RedisTestServer}, stopped when the layer is released. It provides
 * Node's `CommandExecutor` itself; nothing else is needed.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<RedisTestServer, RedisTestServerError> =>
  Layer.scoped(RedisTestServer, make(options)).pipe(Layer.provide(NodeContext.layer))
