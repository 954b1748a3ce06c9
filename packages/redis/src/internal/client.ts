/**
 * What the backends share around an ioredis client (made by `internal/topology`): its acquisition
 * and release, the wait for a connection being made, the connection's last error, and bounds on one
 * host timer.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Deadlines from "./deadlines.js"
import type { Client } from "./topology.js"

/**
 * Closes a client: `QUIT` when it answers within 1 s, then the socket in any case. (Release runs
 * uninterruptibly; the wait for `QUIT` is made interruptible so that the bound can cut it.)
 */
export const close = (client: Client): Effect.Effect<void> =>
  Effect.interruptible(Effect.promise(() => client.quit().catch(() => undefined))).pipe(
    Effect.timeoutOption(Duration.seconds(1)),
    Effect.ensuring(Effect.sync(() => client.disconnect(false)))
  )

/** A client, released with the scope (by `close`, unless told otherwise). */
export const acquireClient = (
  make: () => Client,
  release: (client: Client) => Effect.Effect<void> = close
): Effect.Effect<Client, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const client = make()
      // Failures reach the callers through their commands; without a listener ioredis prints them.
      client.on("error", () => {})
      return client
    }),
    release
  )

/**
 * An error in one line: OpenSSL's messages run over lines (a code, a source path, an alert number),
 * their reason is the line; a Cluster's "Failed to refresh slots cache." says why after it.
 */
export const oneLine = (error: Error): string => {
  const reason = (error as { reason?: unknown }).reason
  const text = typeof reason === "string" ? reason : error.message.split("\n")[0]!.trim()
  const inner = (error as { lastNodeError?: unknown }).lastNodeError
  return inner instanceof Error ? `${text} ${oneLine(inner)}` : text
}

/**
 * A way to say why a command failed to be sent: "Stream isn't writeable" says nothing of why, the
 * connection's last error does (refused, bad password, unknown host). It holds host and port at
 * most, never the URL. With `sentinelHandshake` (Sentinel over TLS), a sentinel's connection
 * "closed" without a word is asked why apart (at most once a second): a certificate refused is
 * said as such, and kept until the connection is made.
 */
export const explainer = (
  client: Client,
  sentinelHandshake?: ((millis: number) => Promise<string | undefined>) | undefined
): { readonly explain: (error: unknown) => unknown; readonly lastError: () => string | undefined } => {
  let lastConnectionError: string | undefined
  /** The handshake's own reason, found after "Connection is closed": kept over the next ones. */
  let handshakeReason: string | undefined
  let askedAt = Number.NEGATIVE_INFINITY
  const remember = (error: Error) => {
    lastConnectionError = oneLine(error)
    if (sentinelHandshake === undefined || !/Connection is closed/.test(lastConnectionError)) {
      handshakeReason = undefined
      return
    }
    if (handshakeReason !== undefined) lastConnectionError = handshakeReason
    const now = Date.now()
    if (now - askedAt < 1_000) return
    askedAt = now
    void sentinelHandshake(1_000).then((why) => {
      if (why === undefined || client.status === "ready") return
      handshakeReason = why
      lastConnectionError = why
    })
  }
  client.on("error", remember)
  // A Cluster's nodes' own errors (a refused `CLUSTER SLOTS` among them).
  client.on("node error", remember)
  client.on("ready", () => {
    lastConnectionError = undefined
    handshakeReason = undefined
  })
  return {
    explain: (error) =>
      error instanceof Error &&
      error.name !== "ReplyError" &&
      lastConnectionError !== undefined &&
      /isn't writeable|Connection is closed/.test(error.message)
        ? new Error(`not connected to Redis (${lastConnectionError})`, { cause: error })
        : error,
    lastError: () => lastConnectionError
  }
}

/**
 * The wait for the connection being made, or `undefined` when none is (commands fail at once while
 * disconnected: no offline queue, but a connection being made is waited for, so that a program
 * starting does not lose its first commands; one known to be down, `reconnecting`, is not). One wait
 * per connection attempt, shared by every command that arrives during it (a listener per command
 * would pile up past Node's listener limit under concurrent callers).
 */
export const connectionWait = (client: Client): (() => Promise<void> | undefined) => {
  let attempt: Promise<void> | undefined
  return () => {
    const status = client.status
    if (status !== "wait" && status !== "connecting" && status !== "connect") return undefined
    attempt ??= new Promise<void>((resolve) => {
      const done = () => {
        client.off("ready", done)
        client.off("close", done)
        attempt = undefined
        resolve()
      }
      client.once("ready", done)
      client.once("close", done)
    })
    return attempt
  }
}

/** The longest wait a host timer can keep (`setTimeout` fires at once past it). */
const maxTimerMillis = 2_147_483_647

/** A bound a host timer can keep, or `undefined` (none given, or past a timer's reach: none kept). */
export const timerBound = (millis: number | undefined): number | undefined =>
  millis !== undefined && millis <= maxTimerMillis ? millis : undefined

/** The error of a command past its bound (reason `Timeout`). */
export const timeoutError = (millis: number): Error =>
  Object.assign(new Error(`no answer within ${millis} ms`), { name: "TimeoutError" })

/** The bounds of every backend's commands and reads, on one host timer (see `internal/deadlines`). */
export const deadlines = Deadlines.make()

/**
 * `promise`, or a rejection with a `TimeoutError` (reason `Timeout`) when `millis` pass first;
 * `onExpiry` is told. The deadline is cleared as soon as `promise` settles.
 */
export const within = <A>(millis: number, promise: Promise<A>, onExpiry?: () => void): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const deadline = deadlines.set(millis, () => {
      onExpiry?.()
      reject(timeoutError(millis))
    })
    promise.then(
      (value) => {
        deadlines.clear(deadline)
        resolve(value)
      },
      (error: unknown) => {
        deadlines.clear(deadline)
        reject(error)
      }
    )
  })

/** Redis' answer about a stream that does not exist. */
export const isNoSuchKey = (error: unknown): boolean =>
  error instanceof Error && /no such key/i.test(error.message)
