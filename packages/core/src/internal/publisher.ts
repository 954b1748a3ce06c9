/**
 * The publisher behind `EventBus.make`: awaited publishes straight to the backend, bounded by a
 * timeout; fire-and-forget publishes through a bounded buffer drained in batches by one background
 * fiber, which retries failed batches by a `Schedule` and preserves order.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Event from "../Event.js"
import type { EventBusService, Options } from "../EventBus.js"
import { defaults } from "../EventBus.js"
import * as PublishMetrics from "../PublishMetrics.js"
import * as PublishResult from "../PublishResult.js"
import { StreamBackend, StreamBackendError } from "../StreamBackend.js"
import * as WireCodec from "../WireCodec.js"
import * as FailureStreak from "./failureStreak.js"

/**
 * Put in an empty buffer at shutdown to wake the writer. No encoded body can equal it: every body
 * is a JSON object, starting with `{`.
 */
const wakeUp = ""

const requireInteger = (name: string, value: number, min: number): number => {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`EventBus option ${name} must be an integer >= ${min}, got ${value}`)
  }
  return value
}

const resolve = (options: Options) => ({
  stream: options.stream ?? defaults.stream,
  maxlen: requireInteger("maxlen", options.maxlen ?? defaults.maxlen, 0),
  bufferCapacity: requireInteger("bufferCapacity", options.bufferCapacity ?? defaults.bufferCapacity, 1),
  batchSize: requireInteger("batchSize", options.batchSize ?? defaults.batchSize, 1),
  overflow: options.overflow ?? defaults.overflow,
  publishTimeout: Duration.decode(options.publishTimeout ?? defaults.publishTimeout),
  batchTimeout: Duration.decode(options.batchTimeout ?? defaults.batchTimeout),
  drainTimeout: Duration.decode(options.drainTimeout ?? defaults.drainTimeout),
  retrySchedule: options.retrySchedule ?? defaults.retrySchedule,
  codec: options.catalog === undefined ? WireCodec.canonical : WireCodec.make(options.catalog)
})

/** @internal */
export const make = (options: Options): Effect.Effect<EventBusService, never, StreamBackend | Scope.Scope> =>
  Effect.gen(function* () {
    const backend = yield* StreamBackend
    const config = yield* Effect.try({ try: () => resolve(options), catch: (e) => e }).pipe(Effect.orDie)
    const { stream, batchSize, codec } = config
    const appendOptions = { maxlen: config.maxlen }
    const publishTimeoutMillis = Duration.toMillis(config.publishTimeout)

    const tagged = <M extends Metric.Metric<any, any, any>>(metric: M): M =>
      Metric.tagged(metric, "stream", stream) as M
    const published = tagged(PublishMetrics.published)
    const failed = tagged(PublishMetrics.failed)
    const dropped = tagged(PublishMetrics.dropped)
    const buffered = tagged(PublishMetrics.buffered)
    const latency = tagged(PublishMetrics.publishLatency)

    const annotations = { stream }
    const writeFailures = FailureStreak.make("EventBus publish", annotations)
    const overflowDrops = FailureStreak.make("EventBus buffer (full, dropping events)", annotations)

    const encode = <K extends string, P>(input: Event.Input<K, P>): Effect.Effect<string> =>
      Effect.map(Event.make(input), codec.encode)

    // ---- awaited publish ---------------------------------------------------------------------

    const notWritten = (
      reason: PublishResult.NotWrittenReason,
      message: string
    ): Effect.Effect<PublishResult.PublishResult> =>
      Effect.zipRight(
        Effect.zipRight(Metric.increment(failed), writeFailures.failure(`${reason}: ${message}`)),
        Effect.succeed(PublishResult.NotWritten({ reason, message }))
      )

    const publish = <K extends string, P>(
      input: Event.Input<K, P>
    ): Effect.Effect<PublishResult.PublishResult> =>
      Effect.flatMap(encode(input), (body) =>
        Effect.flatMap(Clock.currentTimeNanos, (start) =>
          backend.append(stream, [body], appendOptions).pipe(
            Effect.timeoutOption(config.publishTimeout),
            Effect.matchCauseEffect({
              onSuccess: Option.match({
                onNone: () => notWritten("Timeout", `no answer within ${publishTimeoutMillis} ms`),
                onSome: (ids): Effect.Effect<PublishResult.PublishResult> =>
                  Effect.flatMap(Clock.currentTimeNanos, (end) =>
                    Effect.as(
                      Effect.all([
                        Metric.update(latency, Number(end - start) / 1e6),
                        Metric.increment(published),
                        writeFailures.success
                      ]),
                      PublishResult.Written({ id: ids[0] ?? "" })
                    )
                  )
              }),
              onFailure: (cause): Effect.Effect<PublishResult.PublishResult> => {
                const error = Cause.failureOption(cause)
                return Option.isSome(error)
                  ? notWritten(error.value.reason, error.value.message)
                  : Cause.isInterruptedOnly(cause)
                    ? Effect.interrupt
                    : notWritten("Rejected", `backend defect: ${Cause.pretty(cause)}`)
              }
            })
          )
        )
      )

    // ---- fire-and-forget ---------------------------------------------------------------------

    const queue = yield* config.overflow === "dropOldest"
      ? Queue.sliding<string>(config.bufferCapacity)
      : Queue.dropping<string>(config.bufferCapacity)

    let closing = false
    let closed = false
    let inFlight = 0
    // Events taken by publishNowait, and events written or given up: `flush` waits for the second
    // count to reach the first.
    let taken = 0
    let settled = 0
    let flushWaiters: Array<{ readonly target: number; readonly done: Deferred.Deferred<void> }> = []

    const settle = (n: number): void => {
      settled += n
      if (flushWaiters.length === 0) return
      const waiting: typeof flushWaiters = []
      for (const waiter of flushWaiters) {
        if (waiter.target <= settled) Deferred.unsafeDone(waiter.done, Effect.void)
        else waiting.push(waiter)
      }
      flushWaiters = waiting
    }

    const drop = (n: number, why: string): Effect.Effect<void> =>
      Effect.zipRight(Metric.incrementBy(dropped, n), overflowDrops.failure(why))

    const offer = (body: string): Effect.Effect<boolean> =>
      Effect.suspend(() => {
        if (closed) return Effect.as(drop(1, "the bus is closed"), false)
        const full = Option.getOrElse(queue.unsafeSize(), () => 0) >= config.bufferCapacity
        if (full && config.overflow === "dropNewest") {
          return Effect.as(drop(1, `buffer full (${config.bufferCapacity} events)`), false)
        }
        taken++
        if (full) {
          // dropOldest: the sliding buffer lets the oldest event go to make room (its strategy runs
          // in `offer`, not in `unsafeOffer`).
          settle(1)
          return Effect.zipRight(
            queue.offer(body),
            Effect.as(drop(1, `buffer full (${config.bufferCapacity} events), oldest dropped`), true)
          )
        }
        queue.unsafeOffer(body)
        return overflowDrops.current() > 0 ? Effect.as(overflowDrops.success, true) : Effect.succeed(true)
      })

    const publishNowait = <K extends string, P>(input: Event.Input<K, P>): Effect.Effect<boolean> =>
      Effect.flatMap(encode(input), offer)

    const flush: Effect.Effect<void> = Effect.suspend(() => {
      if (settled >= taken) return Effect.void
      const done = Deferred.unsafeMake<void>(FiberId.none)
      flushWaiters.push({ target: taken, done })
      return Deferred.await(done)
    })

    const writeBatch = (bodies: ReadonlyArray<string>): Effect.Effect<void> => {
      let pending = bodies
      const attempt = Effect.suspend(() => backend.append(stream, pending, appendOptions)).pipe(
        Effect.timeoutFail({
          duration: config.batchTimeout,
          onTimeout: () =>
            new StreamBackendError({
              reason: "Timeout",
              message: `no answer within ${Duration.toMillis(config.batchTimeout)} ms`
            })
        }),
        Effect.tapError((error) => {
          if (error.written !== undefined && error.written > 0) pending = pending.slice(error.written)
          return Effect.zipRight(
            Metric.incrementBy(failed, pending.length),
            writeFailures.failure(`${error.reason}: ${error.message}`)
          )
        })
      )
      return attempt.pipe(
        Effect.retry(config.retrySchedule),
        Effect.matchEffect({
          onSuccess: () =>
            Effect.zipRight(Metric.incrementBy(published, bodies.length), writeFailures.success),
          onFailure: (error) => drop(pending.length, `retries exhausted: ${error.message}`)
        })
      )
    }

    const writer = Effect.gen(function* () {
      while (true) {
        const batch = closing
          ? yield* Queue.takeUpTo(queue, batchSize)
          : yield* Queue.takeBetween(queue, 1, batchSize)
        if (Chunk.isEmpty(batch)) return
        const bodies = Chunk.toReadonlyArray(batch).filter((body) => body !== wakeUp)
        if (bodies.length === 0) continue
        inFlight = bodies.length
        yield* Metric.set(
          buffered,
          Option.getOrElse(queue.unsafeSize(), () => 0)
        )
        yield* writeBatch(bodies)
        inFlight = 0
        settle(bodies.length)
      }
    })
    // Layers are built uninterruptibly and a fiber forked there inherits that: the writer must stay
    // interruptible for the drain deadline to stop it.
    const writerFiber = yield* Effect.forkScoped(Effect.interruptible(writer))

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closing = true
        // A writer waiting on an empty buffer needs something to take (a negative size counts the
        // fibers waiting to take).
        if (Option.getOrElse(queue.unsafeSize(), () => 0) <= 0) queue.unsafeOffer(wakeUp)
        // Finalizers run uninterruptibly: only an interruptible wait can be cut by the deadline.
        const drained = yield* Effect.timeoutOption(
          Effect.interruptible(Fiber.await(writerFiber)),
          config.drainTimeout
        )
        closed = true
        if (Option.isNone(drained)) {
          yield* Fiber.interrupt(writerFiber)
          const left =
            inFlight + Chunk.toReadonlyArray(yield* Queue.takeAll(queue)).filter((b) => b !== wakeUp).length
          if (left > 0) {
            yield* Metric.incrementBy(dropped, left)
            yield* Effect.logWarning(
              `EventBus closed with ${left} events unwritten: the drain deadline of ${Duration.toMillis(config.drainTimeout)} ms passed`
            ).pipe(Effect.annotateLogs(annotations))
          }
          settle(left)
        }
        yield* Queue.shutdown(queue)
      })
    )

    return { stream, publish, publishNowait, flush } satisfies EventBusService
  })
