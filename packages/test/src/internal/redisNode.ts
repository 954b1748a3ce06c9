/**
 * One `redis-server` process of the test kit (a plain server, a cluster node, a replica or a
 * sentinel): its free port, its temporary directory, the process and its output, the wait for
 * `PING`, `SHUTDOWN` and start again, `SIGKILL`, `SIGSTOP`/`SIGCONT`, and the helper connections the
 * kit sends its own commands on. Every public topology of the kit is made of these.
 *
 * All waiting runs on the live clock, so it works where the `TestClock` is installed.
 *
 * @internal
 */
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type * as Tls from "node:tls"
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Redis } from "ioredis"
import type * as RedisTestServer from "../RedisTestServer.js"

export type RedisTestServerErrorReason = RedisTestServer.RedisTestServerErrorReason

/** See `RedisTestServer.RedisTestServerError`. */
export class RedisTestServerError extends Data.TaggedError("RedisTestServerError")<{
  readonly reason: RedisTestServerErrorReason
  readonly message: string
  readonly cause?: unknown
}> {}

export const HOST = "127.0.0.1"
const OUTPUT_LIMIT = 16_384
const POLL_INTERVAL = Duration.millis(20)
/** How often a deployment's state is looked at while waiting (each look opens a connection a node). */
const SETTLE_INTERVAL = Duration.millis(50)
/** Time given to the server to take up `DEBUG SLEEP` before `hang` returns (added to the sleep). */
const HANG_SETTLE = Duration.millis(15)
const HELPER_NAME = "maf-events-test-helper"
const HANG_NAME = "maf-events-test-hang"

/** The real clock, so that polling and time-outs work under the `TestClock` as well. */
const liveClock = Clock.make()
export const live = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withClock(self, liveClock)

export const errorMessage = (cause: unknown): string =>
  cause instanceof Error ? cause.message : String(cause)

const noop = (): void => {}

/**
 * Retries `check` every 50 ms until it succeeds, failing with `reason` (default `Fault`)
 * after `timeout` (the message says what was last seen).
 */
export const awaitCondition = <A, E>(
  what: string,
  check: Effect.Effect<A, E>,
  timeout: Duration.DurationInput,
  reason: RedisTestServerErrorReason = "Fault"
): Effect.Effect<A, RedisTestServerError> =>
  live(
    Effect.suspend(() => {
      let last = "no answer yet"
      return check.pipe(
        Effect.tapError((cause) =>
          Effect.sync(() => {
            last = typeof cause === "string" ? cause : errorMessage(cause)
          })
        ),
        Effect.retry(Schedule.spaced(SETTLE_INTERVAL)),
        Effect.catchAll(() => Effect.never),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new RedisTestServerError({
              reason,
              message: `${what}: not reached within ${Duration.format(Duration.decode(timeout))} (last seen: ${last})`
            })
        })
      )
    })
  )

/** Fails (to be retried by {@link awaitCondition}) until `ok` holds. */
export const ensure = (ok: boolean, why: () => string): Effect.Effect<void, string> =>
  ok ? Effect.void : Effect.fail(why())

/** What a constructor of the kit gives: a service owned by the scope, made with Node's processes. */
export type Started<A> = Effect.Effect<A, RedisTestServerError, Scope.Scope | CommandExecutor.CommandExecutor>

// -- ports and directories ----------------------------------------------------------------------------

/** Where a node's port may be. */
export interface PortRule {
  /**
   * Pick among `[from, below)` instead of the system's ephemeral ports: a cluster node's ports are
   * kept out of the range outgoing connections take theirs from, so that a killed node finds them
   * free when it starts again.
   */
  readonly range?: readonly [from: number, below: number] | undefined
  /** A port this far above the picked one must be free as well (the cluster bus: port + 10000). */
  readonly alsoFreeAt?: number | undefined
}

/**
 * Ports below the system's ephemeral ones (32768 and up on Linux), for nodes that are killed and
 * started again: no outgoing connection takes their port while they are down.
 */
export const stablePorts: PortRule = { range: [12_000, 22_768] }

const listenOn = (port: number): Effect.Effect<Option.Option<Net.Server>> =>
  Effect.async((resume) => {
    const server = Net.createServer()
    server.unref()
    server.once("error", () => resume(Effect.succeed(Option.none())))
    server.listen(port, HOST, () => resume(Effect.succeed(Option.some(server))))
  })

const closeServer = (server: Net.Server): Effect.Effect<void> =>
  Effect.async((resume) => {
    server.close(() => resume(Effect.void))
  })

const portOf = (server: Net.Server): number => {
  const address = server.address()
  return typeof address === "object" && address !== null ? address.port : 0
}

/** A port of `127.0.0.1` that was free a moment ago (by the rule: in a range, with a free twin). */
export const freePort = (rule: PortRule = {}): Effect.Effect<number, RedisTestServerError> =>
  Effect.gen(function* () {
    for (let attempt = 0; attempt < 200; attempt++) {
      const candidate =
        rule.range === undefined
          ? 0
          : rule.range[0] + Math.floor(Math.random() * (rule.range[1] - rule.range[0]))
      const first = yield* listenOn(candidate)
      if (Option.isNone(first)) continue
      const port = portOf(first.value)
      const twin = rule.alsoFreeAt === undefined ? Option.none() : yield* listenOn(port + rule.alsoFreeAt)
      if (Option.isSome(twin)) yield* closeServer(twin.value)
      yield* closeServer(first.value)
      if (port > 0 && (rule.alsoFreeAt === undefined || Option.isSome(twin))) return port
    }
    return yield* new RedisTestServerError({ reason: "Spawn", message: "no free port" })
  })

/** A temporary directory, removed with the scope. */
export const tempDir = (prefix = "maf-redis-"): Effect.Effect<string, RedisTestServerError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => Fs.mkdtemp(Path.join(Os.tmpdir(), prefix)),
      catch: (cause) =>
        new RedisTestServerError({
          reason: "Spawn",
          message: `cannot create a temporary directory: ${errorMessage(cause)}`,
          cause
        })
    }),
    (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }).catch(() => undefined))
  )

/** Writes a file (the certificates, a sentinel's configuration). */
export const writeFile = (file: string, content: string): Effect.Effect<void, RedisTestServerError> =>
  Effect.tryPromise({
    try: () => Fs.writeFile(file, content),
    catch: (cause) =>
      new RedisTestServerError({
        reason: "Spawn",
        message: `cannot write ${file}: ${errorMessage(cause)}`,
        cause
      })
  })

// -- a node ------------------------------------------------------------------------------------------

/** How a node is started and reached: `RedisTestServer`'s options, and how it listens. */
export interface NodeOptions extends RedisTestServer.Options {
  /** Where a free port is picked (when no `port` is given). */
  readonly portRule?: PortRule | undefined
  /** A configuration file written once into the node's directory and passed first (a sentinel's). */
  readonly configFile?: ((port: number) => string) | undefined
  /** The listening arguments; default `--port <port>`. */
  readonly listen?: ((port: number) => ReadonlyArray<string>) | undefined
  /** TLS options of the helper connections (a TLS-only node). */
  readonly tls?: Tls.ConnectionOptions | undefined
}

/**
 * One `redis-server` process and its directory, owned by the scope that made it: what a
 * `RedisTestServer` offers (but its URL and `restart`), and what the topologies need besides.
 */
export interface RedisNode extends Omit<RedisTestServer.Server, "url" | "restart"> {
  /** The process id while it runs. */
  readonly pid: Effect.Effect<Option.Option<number>>
  /** `SIGKILL` and wait for the exit (the directory stays); nothing when stopped. */
  readonly kill: Effect.Effect<void, RedisTestServerError>
  /** `SIGSTOP` now and `SIGCONT` after `duration` (in the background; at the latest with the scope). */
  readonly pause: (duration: Duration.DurationInput) => Effect.Effect<void, RedisTestServerError>
  /** Runs `use` on a fresh helper connection, bounded by the command time-out. */
  readonly withClient: <A>(
    what: string,
    use: (client: Redis) => Promise<A>
  ) => Effect.Effect<A, RedisTestServerError>
}

/** What `RedisTestServer` and `RedisTestTls` offer of a node: its directory and its faults. */
export const serverFaults = (node: RedisNode) => ({
  host: node.host,
  port: node.port,
  dir: node.dir,
  stop: node.stop,
  start: node.start,
  restart: Effect.zipRight(node.stop, node.start),
  kill: node.kill,
  killClients: node.killClients,
  hang: node.hang,
  pause: node.pause,
  command: node.command
})

interface Output {
  text: string
}

interface Instance {
  readonly process: CommandExecutor.Process
  readonly scope: Scope.CloseableScope
  readonly output: Output
  readonly collector: Fiber.RuntimeFiber<void, never>
}

const describeOutput = (executable: string, output: Output): string => {
  const text = output.text.trim()
  return text === "" ? `(${executable} wrote nothing)` : `${executable} output:\n${text}`
}

/**
 * Makes a node: picks a port, creates the directory, starts `redis-server` and waits for `PING`.
 * Closing the scope kills the process, closes helper connections and removes the directory.
 */
export const makeNode = (options: NodeOptions = {}): Started<RedisNode> =>
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

      const dir = yield* tempDir()
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
          ...(options.tls === undefined ? {} : { tls: options.tls }),
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
                    message: `${what} failed on ${HOST}:${port}: ${errorMessage(cause)}`,
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
                  message: `${what} got no answer from ${HOST}:${port} within ${Duration.format(commandTimeout)}`
                })
            })
          )
        )

      // -- the process ------------------------------------------------------------------------------

      const configPath = Path.join(dir, "redis.conf")
      const serverArgs = (): Array<string> => [
        ...(options.configFile === undefined ? [] : [configPath]),
        ...(options.listen?.(port) ?? ["--port", String(port)]),
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
      const killInstance = (instance: Instance): Effect.Effect<void> =>
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
          Effect.as(describeOutput(executable, instance.output))
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
        awaitReady(instance).pipe(Effect.onError(() => killInstance(instance)))
      )

      const start: Effect.Effect<void, RedisTestServerError> = live(
        lifecycle.withPermits(1)(
          Effect.flatMap(Ref.get(state), (current) => (Option.isSome(current) ? Effect.void : launch))
        )
      )

      const kill: Effect.Effect<void> = live(
        lifecycle.withPermits(1)(
          Effect.flatMap(Ref.get(state), (current) =>
            Option.isSome(current) ? killInstance(current.value) : Effect.void
          )
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
              yield* killInstance(instance)
              return yield* new RedisTestServerError({
                reason: "Shutdown",
                message: `${executable} did not exit within ${Duration.format(
                  stopTimeout
                )} after SHUTDOWN SAVE; killed it\n${output}`
              })
            }
            yield* killInstance(instance)
          })
        )
      )

      const pid: Effect.Effect<Option.Option<number>> = Effect.map(
        Ref.get(state),
        Option.map((instance) => Number(instance.process.pid))
      )

      const signal = (name: NodeJS.Signals): Effect.Effect<void, RedisTestServerError> =>
        Effect.flatMap(pid, (current) =>
          Option.isNone(current)
            ? Effect.fail(
                new RedisTestServerError({ reason: "Command", message: `${HOST}:${port} is not running` })
              )
            : Effect.try({
                try: () => {
                  globalThis.process.kill(current.value, name)
                },
                catch: (cause) =>
                  new RedisTestServerError({
                    reason: "Command",
                    message: `${name} to ${HOST}:${port} failed: ${errorMessage(cause)}`,
                    cause
                  })
              })
        )

      const pause = (duration: Duration.DurationInput): Effect.Effect<void, RedisTestServerError> =>
        live(
          Effect.uninterruptible(
            Effect.gen(function* () {
              yield* signal("SIGSTOP")
              const resume = signal("SIGCONT").pipe(Effect.ignore)
              // Resumed after the duration, or when the scope closes (before the process is killed).
              const resumeScope = yield* Scope.fork(ownScope, ExecutionStrategy.sequential)
              yield* Scope.addFinalizer(resumeScope, resume)
              yield* Effect.sleep(duration).pipe(
                Effect.interruptible,
                Effect.ensuring(Scope.close(resumeScope, Exit.void)),
                Effect.forkIn(resumeScope)
              )
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
          Option.isSome(current) ? killInstance(current.value) : Effect.void
        )
      )

      // A picked port may be taken between picking and binding: then try another one.
      const attempts = options.port === undefined ? 3 : 1
      for (let attempt = 1; ; attempt++) {
        port = options.port ?? (yield* freePort(options.portRule))
        if (options.configFile !== undefined) yield* writeFile(configPath, options.configFile(port))
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
        dir,
        pid,
        stop,
        start,
        kill,
        hang,
        pause,
        command,
        killClients,
        withClient
      }
    })
  )
