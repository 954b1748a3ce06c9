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

import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Redis } from "ioredis"

/**
 * What went wrong with the test server.
 *
 * - `Spawn`: the temporary directory, the free port or the process could not be obtained.
 * - `Startup`: the server exited or did not answer `PING` in time (the message holds its output).
 * - `Command`: a command sent by the helper failed (connection refused, error reply, time-out).
 * - `Shutdown`: `SHUTDOWN SAVE` was refused or the process did not exit in time.
 *
 * @since 0.1.0
 * @category errors
 */
export type RedisTestServerErrorReason = "Spawn" | "Startup" | "Command" | "Shutdown"

/**
 * A failure of the test server or of one of its helper commands.
 *
 * @since 0.1.0
 * @category errors
 */
export class RedisTestServerError extends Data.TaggedError("RedisTestServerError")<{
  readonly reason: RedisTestServerErrorReason
  readonly message: string
  readonly cause?: unknown
}> {}

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
 * A real `redis-server` process, owned by the scope that built it.
 *
 * @since 0.1.0
 * @category tags
 */
export class RedisTestServer extends Context.Tag("@maf/events-test/RedisTestServer")<
  RedisTestServer,
  {
    /** Always `"127.0.0.1"`. */
    readonly host: string
    /** The TCP port; it stays the same across `stop` / `start`. */
    readonly port: number
    /** `redis://127.0.0.1:<port>/0` (without credentials). */
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
     * Send a raw command on a fresh helper connection and return the raw reply (strings, numbers,
     * nested arrays, `null`), e.g. `command("XLEN", "maf:events")`.
     */
    readonly command: (
      ...args: ReadonlyArray<string | number>
    ) => Effect.Effect<unknown, RedisTestServerError>
  }
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

// ---------------------------------------------------------------------------------------------------
// internal
// ---------------------------------------------------------------------------------------------------

const HOST = "127.0.0.1"
const OUTPUT_LIMIT = 16_384
const POLL_INTERVAL = Duration.millis(20)
/** Time given to the server to take up `DEBUG SLEEP` before `hang` returns (added to the sleep). */
const HANG_SETTLE = Duration.millis(15)
const HELPER_NAME = "maf-events-test-helper"
const HANG_NAME = "maf-events-test-hang"

/** The real clock, so that polling and time-outs work under the `TestClock` as well. */
const liveClock = Clock.make()
const live = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withClock(self, liveClock)

const errorMessage = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

interface Output {
  text: string
}

interface Instance {
  readonly process: CommandExecutor.Process
  readonly scope: Scope.CloseableScope
  readonly output: Output
  readonly collector: Fiber.RuntimeFiber<void, never>
}

const describeOutput = (output: Output): string => {
  const text = output.text.trim()
  return text === "" ? "(redis-server wrote nothing)" : `redis-server output:\n${text}`
}

const freePort: Effect.Effect<number, RedisTestServerError> = Effect.async((resume) => {
  const server = Net.createServer()
  server.unref()
  server.once("error", (cause) =>
    resume(new RedisTestServerError({ reason: "Spawn", message: `no free port: ${cause.message}`, cause }))
  )
  server.listen(0, HOST, () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() =>
      resume(
        port > 0
          ? Effect.succeed(port)
          : Effect.fail(new RedisTestServerError({ reason: "Spawn", message: "no free port" }))
      )
    )
  })
  return Effect.sync(() => {
    server.close()
  })
})

const tempDir: Effect.Effect<string, RedisTestServerError, Scope.Scope> = Effect.acquireRelease(
  Effect.tryPromise({
    try: () => Fs.mkdtemp(Path.join(Os.tmpdir(), "maf-redis-")),
    catch: (cause) =>
      new RedisTestServerError({
        reason: "Spawn",
        message: `cannot create a temporary directory: ${errorMessage(cause)}`,
        cause
      })
  }),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }).catch(() => undefined))
)

const noop = (): void => {}

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
): Effect.Effect<
  Context.Tag.Service<RedisTestServer>,
  RedisTestServerError,
  Scope.Scope | CommandExecutor.CommandExecutor
> =>
  live(
    Effect.gen(function* () {
      const executor = yield* CommandExecutor.CommandExecutor
      const ownScope = yield* Effect.scope
      const executable = options.executable ?? "redis-server"
      const extraArgs = options.args ?? []
      const startTimeout = Duration.decode(options.startTimeout ?? "10 seconds")
      const stopTimeout = Duration.decode(options.stopTimeout ?? "10 seconds")
      const commandTimeout = Duration.decode(options.commandTimeout ?? "10 seconds")
      const password =
        options.password === undefined
          ? undefined
          : Redacted.isRedacted(options.password)
            ? Redacted.value(options.password)
            : options.password

      const dir = yield* tempDir
      const state = yield* Ref.make(Option.none<Instance>())
      const lifecycle = yield* Effect.makeSemaphore(1)
      let port = 0

      // -- helper connections ---------------------------------------------------------------------

      const newClient = (name: string): Redis => {
        const client = new Redis({
          host: HOST,
          port,
          db: 0,
          ...(options.username === undefined ? {} : { username: options.username }),
          ...(password === undefined ? {} : { password }),
          connectionName: name,
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          // A helper connection is used for one command: it never reconnects.
          retryStrategy: () => null,
          connectTimeout: Duration.toMillis(commandTimeout)
        })
        client.on("error", noop)
        return client
      }

      const connected = (name: string): Effect.Effect<Redis, RedisTestServerError, Scope.Scope> =>
        Effect.acquireRelease(
          Effect.sync(() => newClient(name)),
          (client) => Effect.sync(() => client.disconnect())
        ).pipe(
          Effect.tap((client) =>
            Effect.tryPromise({
              try: () => client.connect(),
              catch: (cause) =>
                new RedisTestServerError({
                  reason: "Command",
                  message: `cannot connect to ${HOST}:${port}: ${errorMessage(cause)}`,
                  cause
                })
            })
          )
        )

      const withClient = <A>(
        what: string,
        use: (client: Redis) => Promise<A>
      ): Effect.Effect<A, RedisTestServerError> =>
        live(
          Effect.scoped(
            Effect.flatMap(connected(HELPER_NAME), (client) =>
              Effect.tryPromise({
                try: () => use(client),
                catch: (cause) =>
                  new RedisTestServerError({
                    reason: "Command",
                    message: `${what} failed: ${errorMessage(cause)}`,
                    cause
                  })
              })
            )
          ).pipe(
            Effect.timeoutFail({
              duration: commandTimeout,
              onTimeout: () =>
                new RedisTestServerError({
                  reason: "Command",
                  message: `${what} got no answer within ${Duration.format(commandTimeout)}`
                })
            })
          )
        )

      // -- the process ------------------------------------------------------------------------------

      const serverArgs = (): Array<string> => [
        "--port",
        String(port),
        "--bind",
        HOST,
        "--dir",
        dir,
        "--dbfilename",
        "dump.rdb",
        "--save",
        "",
        "--appendonly",
        "no",
        "--enable-debug-command",
        "local",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
        ...extraArgs
      ]

      /** Starts the process and records it in `state`; uninterruptible so it cannot get lost. */
      const spawn: Effect.Effect<Instance, RedisTestServerError> = Effect.uninterruptible(
        Effect.gen(function* () {
          const scope = yield* Scope.make()
          const process = yield* Command.make(executable, ...serverArgs()).pipe(
            Command.workingDirectory(dir),
            Command.start,
            Scope.extend(scope),
            Effect.provideService(CommandExecutor.CommandExecutor, executor),
            Effect.mapError(
              (cause) =>
                new RedisTestServerError({
                  reason: "Spawn",
                  message: `cannot start ${executable}: ${cause.message}`,
                  cause
                })
            ),
            Effect.onError(() => Scope.close(scope, Exit.void))
          )
          const output: Output = { text: "" }
          const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
            stream.pipe(
              Stream.decodeText(),
              Stream.runForEach((text) =>
                Effect.sync(() => {
                  output.text = (output.text + text).slice(-OUTPUT_LIMIT)
                })
              ),
              Effect.ignore
            )
          const collector = yield* Effect.all([collect(process.stdout), collect(process.stderr)], {
            concurrency: 2,
            discard: true
          }).pipe(Effect.interruptible, Effect.forkIn(scope))
          const instance: Instance = { process, scope, output, collector }
          yield* Ref.set(state, Option.some(instance))
          return instance
        })
      )

      /** Kills the process (its whole process group) and releases everything it holds. */
      const kill = (instance: Instance): Effect.Effect<void> =>
        Effect.uninterruptible(
          Effect.gen(function* () {
            yield* instance.process
              .kill("SIGKILL")
              .pipe(Effect.ignore, Effect.timeout("5 seconds"), Effect.ignore)
            yield* Scope.close(instance.scope, Exit.void)
            yield* Ref.update(state, (current) =>
              Option.isSome(current) && current.value === instance ? Option.none() : current
            )
          })
        )

      /** The output of the process, once its pipes are drained (bounded wait). */
      const outputOf = (instance: Instance): Effect.Effect<string> =>
        Fiber.await(instance.collector).pipe(
          Effect.timeout("1 second"),
          Effect.ignore,
          Effect.as(describeOutput(instance.output))
        )

      const startupFailure = (instance: Instance, why: string) =>
        Effect.flatMap(outputOf(instance), (output) =>
          Effect.fail(
            new RedisTestServerError({
              reason: "Startup",
              message: `${executable} on ${HOST}:${port} ${why}\n${output}`
            })
          )
        )

      /** Waits until the process answers `PING`; fails early when it exits. */
      const awaitReady = (instance: Instance): Effect.Effect<void, RedisTestServerError> => {
        const answers = withClient("PING", (client) => client.ping()).pipe(
          Effect.retry(Schedule.spaced(POLL_INTERVAL)),
          Effect.timeoutFail({
            duration: startTimeout,
            onTimeout: () => `did not answer PING within ${Duration.format(startTimeout)}`
          }),
          Effect.asVoid
        )
        const exits = instance.process.exitCode.pipe(
          Effect.exit,
          Effect.flatMap((exit) =>
            Effect.fail(
              Exit.isSuccess(exit)
                ? `exited with code ${exit.value} before answering PING`
                : "was killed before answering PING"
            )
          )
        )
        return Effect.raceFirst(answers, exits).pipe(
          Effect.catchAll((why) => startupFailure(instance, typeof why === "string" ? why : why.message))
        )
      }

      const launch: Effect.Effect<void, RedisTestServerError> = Effect.flatMap(spawn, (instance) =>
        awaitReady(instance).pipe(Effect.onError(() => kill(instance)))
      )

      const start: Effect.Effect<void, RedisTestServerError> = live(
        lifecycle.withPermits(1)(
          Effect.flatMap(Ref.get(state), (current) => (Option.isSome(current) ? Effect.void : launch))
        )
      )

      const stop: Effect.Effect<void, RedisTestServerError> = live(
        lifecycle.withPermits(1)(
          Effect.gen(function* () {
            const current = yield* Ref.get(state)
            if (Option.isNone(current)) return
            const instance = current.value
            // The server closes the connection instead of answering: only an error reply is a failure.
            const reply = yield* Effect.either(
              withClient("SHUTDOWN SAVE", (client) => client.shutdown("SAVE"))
            )
            if (Either.isLeft(reply)) {
              const cause = reply.left.cause
              if (cause instanceof Error && cause.name === "ReplyError") {
                const output = yield* outputOf(instance)
                return yield* new RedisTestServerError({
                  reason: "Shutdown",
                  message: `SHUTDOWN SAVE refused: ${cause.message}\n${output}`,
                  cause
                })
              }
            }
            const exited = yield* instance.process.exitCode.pipe(
              Effect.exit,
              Effect.timeout(stopTimeout),
              Effect.option
            )
            if (Option.isNone(exited)) {
              const output = yield* outputOf(instance)
              yield* kill(instance)
              return yield* new RedisTestServerError({
                reason: "Shutdown",
                message: `${executable} did not exit within ${Duration.format(
                  stopTimeout
                )} after SHUTDOWN SAVE; killed it\n${output}`
              })
            }
            yield* kill(instance)
          })
        )
      )

      const hang = (duration: Duration.DurationInput): Effect.Effect<void, RedisTestServerError> =>
        live(
          Effect.uninterruptibleMask((restore) =>
            Effect.gen(function* () {
              const millis = Duration.toMillis(Duration.sum(Duration.decode(duration), HANG_SETTLE))
              const seconds = (Math.max(0, millis) / 1000).toFixed(3)
              const clientScope = yield* Scope.fork(ownScope, ExecutionStrategy.sequential)
              const client = yield* restore(connected(HANG_NAME)).pipe(
                Scope.extend(clientScope),
                Effect.onError(() => Scope.close(clientScope, Exit.void))
              )
              // ioredis writes a command to the socket synchronously when the connection is ready.
              const reply = client.call("DEBUG", "SLEEP", seconds).then(
                () => Option.none<unknown>(),
                (cause: unknown) => Option.some(cause)
              )
              reply.catch(noop)
              // The reply is awaited in the background; the connection goes when it comes (or with the scope).
              // (Interruptible: a fiber forked here would inherit this region's uninterruptibility, and
              // closing the scope would then wait for the sleep to end.)
              yield* Effect.promise(() => reply).pipe(
                Effect.interruptible,
                Effect.ensuring(Scope.close(clientScope, Exit.void)),
                Effect.forkIn(clientScope)
              )
              // An immediate error reply (e.g. DEBUG not enabled) is reported; otherwise give the server
              // a moment to take the command up, so that what the caller sends next finds it asleep.
              const early = yield* restore(
                Effect.promise(() => reply).pipe(Effect.timeout(HANG_SETTLE), Effect.option)
              )
              if (Option.isSome(early) && Option.isSome(early.value)) {
                return yield* new RedisTestServerError({
                  reason: "Command",
                  message: `DEBUG SLEEP ${seconds} failed: ${errorMessage(early.value.value)}`,
                  cause: early.value.value
                })
              }
            })
          )
        )

      const command = (
        ...args: ReadonlyArray<string | number>
      ): Effect.Effect<unknown, RedisTestServerError> => {
        const [name, ...rest] = args
        if (name === undefined) {
          return Effect.fail(new RedisTestServerError({ reason: "Command", message: "no command given" }))
        }
        // Named by command and first argument (key or subcommand) only: later ones may be secrets.
        const what = rest.length === 0 ? String(name) : `${name} ${rest[0]}`
        return withClient(what, (client) => client.call(String(name), ...rest))
      }

      const killClients = withClient("CLIENT KILL TYPE normal SKIPME yes", (client) =>
        client.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
      ).pipe(Effect.map(Number))

      // -- first start --------------------------------------------------------------------------------

      // Closing the scope kills whatever process is current (before the directory is removed).
      yield* Effect.addFinalizer(() =>
        Effect.flatMap(Ref.get(state), (current) =>
          Option.isSome(current) ? kill(current.value) : Effect.void
        )
      )

      // A picked port may be taken between picking and binding: then try another one.
      const attempts = options.port === undefined ? 3 : 1
      for (let attempt = 1; ; attempt++) {
        port = options.port ?? (yield* freePort)
        const exit = yield* Effect.exit(lifecycle.withPermits(1)(launch))
        if (Exit.isSuccess(exit)) break
        const retry =
          attempt < attempts &&
          Option.exists(
            Cause.failureOption(exit.cause),
            (error) => error.reason === "Startup" && /address already in use/i.test(error.message)
          )
        if (!retry) return yield* Effect.failCause(exit.cause)
      }

      return {
        host: HOST,
        port,
        url: `redis://${HOST}:${port}/0`,
        dir,
        stop,
        start,
        restart: Effect.zipRight(stop, start),
        killClients,
        hang,
        command
      }
    })
  )

/**
 * A layer with a fresh {@link RedisTestServer}, stopped when the layer is released. It provides
 * Node's `CommandExecutor` itself; nothing else is needed.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<RedisTestServer, RedisTestServerError> =>
  Layer.scoped(RedisTestServer, make(options)).pipe(Layer.provide(NodeContext.layer))
