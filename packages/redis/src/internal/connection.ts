/**
 * A backend's Redis connection, with one owner: the client of its topology (one server, a master
 * watched by Sentinel, a Cluster), the wait for a connection being made, its health (the stall
 * probe: a connection that stopped answering, to a server that answers, is made anew), the
 * explanation of its failures, and {@link Connection.run}, the one way a command is sent.
 *
 * @internal
 */
import type { StreamBackend } from "@maf/events"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ConnectionOptions } from "../RedisStreamBackend.js"
import {
  acquireClient,
  connectionWait,
  deadlines,
  explainer,
  timeoutError,
  timerBound,
  within
} from "./client.js"
import { toBackendError } from "./errors.js"
import * as StallProbe from "./stallProbe.js"
import { type Client, type Topology, topologyOf } from "./topology.js"

/** The bound on the probe's connection and `PING`. */
const probeMillis = 1_000

/**
 * The bound on the in-band `PING` of a connection suspected out of step: past our own deepest queue
 * (at most `bufferCapacity` entries in flight: tens of ms of the server's time), short enough that a
 * batch retried on an out-of-step connection is not written many times over before it is made anew.
 */
const pingMillis = 500

/** For a command whose caller never gives up (no bound). */
const never = (): boolean => false

/** A reply from the server: a value, or the server's error (not a lost or closed connection). */
const isReply = (error: unknown): boolean => error instanceof Error && error.name === "ReplyError"

/** ioredis' failures of a command whose connection closed (`maxRetriesPerRequest: 0` words it so). */
const closedInFlight = /Connection is closed|max retries per request/i

/** A probe that never probes (a Cluster: its connections are per node, each made anew by ioredis). */
const noProbe = {
  mark: () => 0,
  replied: () => {},
  unanswered: () => {},
  suspect: () => {}
} as const satisfies Health

/** What `run` needs of the probe. */
type Health = Pick<StallProbe.StallProbe, "mark" | "replied" | "unanswered" | "suspect">

/**
 * A backend's connection (see the module's comment).
 *
 * @internal
 */
export class Connection {
  private readonly connecting: () => Promise<void> | undefined
  private readonly lastError: () => string | undefined
  /** Whether a bounded command was ever answered on this connection (then it is not a TLS port). */
  private answered = false
  readonly explain: (error: unknown) => unknown

  constructor(
    readonly topology: Topology,
    readonly client: Client,
    private readonly health: Health
  ) {
    this.connecting = connectionWait(client)
    const { explain, lastError } = explainer(client, topology.sentinelHandshake)
    this.explain = explain
    this.lastError = lastError
  }

  /**
   * A command sent on a ready connection that failed because the connection closed has an unknown
   * outcome (the server may have run it): reason `Timeout`, not `Unavailable` (certainly not run),
   * with why the connection closed when known (a plain connection to a TLS port is closed by the
   * server without a word: said as a hint).
   */
  lost(error: unknown, sentReady: boolean): unknown {
    if (!(sentReady && error instanceof Error && closedInFlight.test(error.message))) return error
    const last = this.lastError()
    const hint = "if the server's port speaks TLS, use rediss:// or the tls option"
    const why =
      this.topology.tls || this.answered
        ? last
        : last === undefined
          ? `closed by the server; ${hint}`
          : /ECONNRESET/.test(last)
            ? `${last}; ${hint}`
            : last
    return Object.assign(
      new Error(
        `the connection was lost with the command in flight: it may have been run${why === undefined ? "" : ` (${why})`}`,
        { cause: error }
      ),
      { name: "TimeoutError" }
    )
  }

  /** A reply that cannot be its command's own came: the connection is checked at once. */
  suspect(): void {
    this.health.suspect()
  }

  /** Whether the client is connected now. */
  get ready(): boolean {
    return this.client.status === "ready"
  }

  /**
   * Runs a command now, or once the connection being made is up; a caller that gave up meanwhile
   * (its bound passed, or its fiber interrupted) sends nothing, so that a publish answered "not
   * written" is not written after all. With `timeoutMillis`, the answer comes within it: a time-out
   * error when no reply came by then. `command` is given a way to ask whether its caller has given
   * up, for a command that sends more after a first reply.
   *
   * The abort signal of `Effect.tryPromise` is asked for only while a connection is being made: a
   * function that takes it makes an `AbortController` a call (figures: `docs/benchmarks.md`).
   */
  run<A, E>(
    command: (abandoned: () => boolean) => Promise<A>,
    onError: (error: unknown) => E,
    timeoutMillis?: number
  ): Effect.Effect<A, E> {
    return Effect.suspend(() => {
      const pending = this.connecting()
      // A bound past a host timer's reach (2^31 - 1 ms, about 24.8 days) would fire at once: none.
      const bound = timerBound(timeoutMillis)
      if (pending === undefined) {
        const sentReady = this.ready
        // A Cluster queues commands while it is not ready (so that a node's connection being made
        // holds them): refused at once here, as a single connection's are (certainly not run).
        if (!sentReady && this.topology.kind === "cluster")
          return Effect.fail(onError(this.clusterNotReady()))
        if (bound === undefined) {
          return Effect.tryPromise({
            try: () => command(never),
            catch: (error) => onError(this.afterFailure(this.lost(error, sentReady)))
          })
        }
        return this.answerWithin(bound, command, onError, sentReady)
      }
      return this.afterConnecting(pending, command, onError, bound)
    })
  }

  /**
   * `command()`'s answer, or a `TimeoutError` when `millis` pass first (the probe is told of a reply,
   * in time or late, and of a command past its bound): `within` as one `Effect.async` with a
   * deadline, without a promise of its own around the command's. No canceler: a fiber interrupted
   * meanwhile leaves the deadline to run out (its answer is then ignored), as `Effect.tryPromise`
   * leaves the command; a canceler costs an `onInterrupt` wrapper at every call.
   */
  private answerWithin<A, E>(
    millis: number,
    command: (abandoned: () => boolean) => Promise<A>,
    onError: (error: unknown) => E,
    sentReady: boolean
  ): Effect.Effect<A, E> {
    const health = this.health
    return Effect.async<A, E>((resume) => {
      let expired = false
      const mark = health.mark()
      const deadline = deadlines.set(millis, () => {
        expired = true
        health.unanswered(mark)
        resume(Effect.fail(onError(timeoutError(millis))))
      })
      try {
        command(() => expired).then(
          (value) => {
            health.replied(mark, deadlines.clear(deadline))
            this.answered = true
            resume(Effect.succeed(value))
          },
          (error: unknown) => {
            const inTime = deadlines.clear(deadline)
            if (isReply(error)) health.replied(mark, inTime)
            resume(Effect.fail(onError(this.afterFailure(this.lost(error, sentReady)))))
          }
        )
      } catch (error) {
        deadlines.clear(deadline)
        resume(Effect.fail(onError(error)))
      }
    })
  }

  /** A command waiting for the connection being made (see {@link run}). */
  private afterConnecting<A, E>(
    pending: Promise<void>,
    command: (abandoned: () => boolean) => Promise<A>,
    onError: (error: unknown) => E,
    bound: number | undefined
  ): Effect.Effect<A, E> {
    const health = this.health
    return Effect.tryPromise({
      try: (signal) => {
        let expired = false
        let mark: StallProbe.Mark | undefined
        const sent = pending.then(() => {
          if (signal.aborted || expired) {
            return Promise.reject(new Error("abandoned before the connection was made"))
          }
          if (!this.ready && this.topology.kind === "cluster") return Promise.reject(this.clusterNotReady())
          const sentAt = health.mark()
          mark = sentAt
          const sentReady = this.ready
          return command(() => signal.aborted || expired).then(
            (value) => {
              health.replied(sentAt, !expired)
              this.answered = true
              return value
            },
            (error: unknown) => {
              if (isReply(error)) health.replied(sentAt, !expired)
              throw this.afterFailure(this.lost(error, sentReady))
            }
          )
        })
        if (bound === undefined) return sent
        return within(bound, sent, () => {
          expired = true
          // Only a command that went out and got no answer says the connection is bad: a wait for
          // a connection being made (a slow handshake) must not have it made anew.
          if (mark !== undefined) health.unanswered(mark)
        }).catch((error: unknown) => {
          // Never sent: certainly not run (reason `Unavailable`), and why the connection is not made.
          if (mark !== undefined || !(error instanceof Error && error.name === "TimeoutError")) throw error
          const last = this.lastError()
          throw new Error(
            `not connected to Redis within ${bound} ms${last === undefined ? "" : ` (${last})`}`
          )
        })
      },
      catch: onError
    })
  }

  /** A Cluster not ready: refused, not queued (certainly not run), saying why when known. */
  private clusterNotReady(): Error {
    const last = this.lastError()
    return new Error(`not connected to the Redis Cluster (${last ?? this.client.status})`)
  }

  /**
   * A Cluster whose node connection failed asks for the slot table again (a master may have failed
   * over): ioredis follows `MOVED` by itself, but not a master that went away, nor a `MOVED` in a
   * pipeline it does not retry (one with a write after the redirected key's commands, as `XADD`s
   * then `WAIT`: left alone, every later batch would go to the old node). (`run` tells it of its
   * command's failure; a pipeline's caller, of each command's.)
   */
  afterFailure(error: unknown): unknown {
    if (
      this.topology.kind === "cluster" &&
      error instanceof Error &&
      (!isReply(error) || error.message.startsWith("MOVED "))
    ) {
      ;(this.client as { refreshSlotsCache?: () => void }).refreshSlotsCache?.()
    }
    return error
  }

  /**
   * A connection of its own for a cursor (a blocking read blocks every other command on its
   * connection), connected, closed at once with the scope (a `QUIT` would wait behind a blocking
   * read). It never reconnects: the reader re-opens its cursor by its own policy.
   */
  get cursor(): Effect.Effect<Client, StreamBackend.StreamBackendError, Scope.Scope> {
    return Effect.tap(
      acquireClient(
        () => this.topology.client("cursor"),
        (client) => Effect.sync(() => client.disconnect(false))
      ),
      (client) => Effect.tryPromise({ try: () => client.connect(), catch: (error) => toBackendError(error) })
    )
  }
}

/** Whether the server answers a `PING` on a connection of its own within `probeMillis`. */
const serverAnswers = (topology: Topology) => (): Promise<boolean> => {
  const probe = topology.client("probe", { connectTimeoutMillis: probeMillis })
  probe.on("error", () => {})
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), probeMillis)
    probe
      .connect()
      .then(() => probe.ping())
      .then(
        () => true,
        (error: unknown) => error instanceof Error && error.name === "ReplyError"
      )
      .then((answers) => {
        clearTimeout(timer)
        resolve(answers)
      })
  }).finally(() => probe.disconnect(false))
}

/** How long an ended client waits before it is connected again. */
const reviveMillis = 250

/**
 * Connects `client` again whenever it ends while its scope is open. ioredis ends a client for good
 * when its connection attempt is cut short: Sentinel's failover detector (on `+switch-master`) or a
 * `disconnect(true)` (the stall probe's) that comes while the Sentinel connector asks a sentinel
 * for the master leaves the client "end", reconnecting never again (the chaos soak's Sentinel runs:
 * the bus without a connection, every publish refused, until the process ended). A client closed
 * with the scope is not revived (this finalizer runs before the client's own).
 */
const reviveWhenEnded = (client: Client): Effect.Effect<void, never, Scope.Scope> =>
  Effect.suspend(() => {
    let closing = false
    let timer: NodeJS.Timeout | undefined
    client.on("end", () => {
      if (closing || timer !== undefined) return
      timer = setTimeout(() => {
        timer = undefined
        if (!closing && client.status === "end") client.connect().catch(() => {})
      }, reviveMillis).unref()
    })
    return Effect.addFinalizer(() =>
      Effect.sync(() => {
        closing = true
        if (timer !== undefined) clearTimeout(timer)
      })
    )
  })

/**
 * The connection of `options`, made in the background (a server down at start is retried by the
 * client's own schedule), its probe stopped and its client closed with the scope.
 *
 * @internal
 */
export const make = (options: ConnectionOptions): Effect.Effect<Connection, never, Scope.Scope> =>
  Effect.gen(function* () {
    const topology = topologyOf(options)
    const client = yield* acquireClient(() => topology.client("commands"))
    client.connect().catch(() => {
      // Down at start: ioredis keeps reconnecting by its retry strategy; commands fail meanwhile.
    })
    yield* reviveWhenEnded(client)
    if (topology.kind === "cluster") return new Connection(topology, client, noProbe)
    const redis = client as Extract<Client, { ping: unknown; stream: unknown }>
    const probe = new StallProbe.StallProbe({
      ping: (nonce) => (redis.status === "ready" ? redis.ping(nonce) : undefined),
      serverAnswers: serverAnswers(topology),
      remake: () => redis.disconnect(true),
      pingMillis
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => probe.stop()))
    return new Connection(topology, client, probe)
  })
