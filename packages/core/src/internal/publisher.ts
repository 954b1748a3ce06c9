/**
 * The publisher behind `EventBus.make`: awaited publishes straight to the backend, bounded by a
 * timeout; fire-and-forget publishes through a bounded buffer drained in batches by one background
 * fiber, which keeps several batches in flight, retries failed batches by a `Schedule` and preserves
 * order (but for a batch the server rejects while it accepts the ones sent behind it: see `writer`).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Event from "../Event.js"
import type { EventBusService, Options } from "../EventBus.js"
import { defaults } from "../EventBus.js"
import * as PublishMetrics from "../PublishMetrics.js"
import * as PublishResult from "../PublishResult.js"
import { StreamBackend, StreamBackendError } from "../StreamBackend.js"
import * as WireCodec from "../WireCodec.js"
import * as FailureStreak from "./failureStreak.js"
import { labelsFor, taggerFor } from "./streamMetric.js"
import * as Timeout from "./timeout.js"

/**
 * The fire-and-forget buffer: bodies, oldest first, and the writer's wake-up. An array with a moving
 * head rather than an Effect `Queue`: offering is a `push`, taking a batch one `slice`, with no
 * `Chunk`, list node or Effect per event.
 */
class BodyBuffer {
  private items: Array<string | undefined> = []
  private head = 0
  private waiter: (() => void) | undefined
  private signalled = false
  /** Whether a body offered wakes the writer (it does not while the writer cannot send more). */
  wantsBodies = true

  get size(): number {
    return this.items.length - this.head
  }

  push(body: string): void {
    this.items.push(body)
    if (this.wantsBodies) this.signal()
  }

  dropOldest(): void {
    if (this.size > 0) this.items[this.head++] = undefined
    this.compact()
  }

  /**
   * Taken slots are emptied, and so is the array left behind when the buffer is compacted: an array
   * promoted to the old generation would otherwise keep the bodies it held alive (see `forget`).
   */
  take(max: number): Array<string> {
    const out = this.items.slice(this.head, this.head + max) as Array<string>
    this.items.fill(undefined, this.head, this.head + out.length)
    this.head += out.length
    this.compact()
    return out
  }

  /** Wakes the writer waiting in {@link waitForSignal}, or the next time it waits. */
  readonly signal = (): void => {
    const waiter = this.waiter
    if (waiter === undefined) {
      this.signalled = true
      return
    }
    this.waiter = undefined
    waiter()
  }

  /** Waits for a {@link signal} (a body, a batch settled, closing), unless one came already. */
  readonly waitForSignal: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.signalled) {
      this.signalled = false
      return resume(Effect.void)
    }
    this.waiter = () => {
      this.signalled = false
      resume(Effect.void)
    }
    return Effect.sync(() => {
      this.waiter = undefined
    })
  })

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      const old = this.items
      this.items = old.slice(this.head)
      old.length = 0
      this.head = 0
    }
  }
}

/** A batch taken from the buffer; `pending` is what is not known to be written yet. */
interface Batch {
  readonly bodies: ReadonlyArray<string>
  pending: ReadonlyArray<string>
}

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
    const runtime = yield* Effect.runtime<never>()
    const config = yield* Effect.try({ try: () => resolve(options), catch: (e) => e }).pipe(Effect.orDie)
    const { stream, batchSize, codec } = config
    const appendOptions = { maxlen: config.maxlen }
    const publishTimeoutMillis = Duration.toMillis(config.publishTimeout)

    const tagged = taggerFor(stream)
    const published = tagged(PublishMetrics.published)
    const failed = tagged(PublishMetrics.failed)
    const dropped = tagged(PublishMetrics.dropped)
    const buffered = tagged(PublishMetrics.buffered)
    const labelsOf = labelsFor(stream)

    const annotations = { stream }
    const writeFailures = FailureStreak.make("EventBus publish", annotations)
    const overflowDrops = FailureStreak.make("EventBus buffer (full, dropping events)", annotations)

    // ---- awaited publish ---------------------------------------------------------------------

    const notWritten = (
      reason: PublishResult.NotWrittenReason,
      message: string
    ): Effect.Effect<PublishResult.PublishResult> =>
      Effect.zipRight(
        Effect.zipRight(Metric.increment(failed), writeFailures.failure(`${reason}: ${message}`)),
        Effect.succeed(PublishResult.NotWritten({ reason, message }))
      )

    const noAnswer = () =>
      new StreamBackendError({ reason: "Timeout", message: `no answer within ${publishTimeoutMillis} ms` })

    /**
     * Appends one body within `boundMillis` and says how it went. A backend that bounds its appends
     * (`boundsAppends`) runs in the caller's fiber; any other in a fiber of its own under a timer
     * (`Timeout.startBounded`), as every backend does under a clock other than the live one.
     */
    const appendWithin = (
      body: string,
      boundMillis: number,
      clock: Clock.Clock
    ): Effect.Effect<Exit.Exit<ReadonlyArray<string>, StreamBackendError>> => {
      // (A bound past a host timer's reach is the core's to keep: see `Timeout.fitsTimer`.)
      if (backend.boundsAppends === true && clock === Timeout.liveClock && Timeout.fitsTimer(boundMillis)) {
        // Called here, in the step that runs it; a backend that throws is a defect like one it raises.
        try {
          return Effect.exit(
            backend.append(stream, [body], { maxlen: config.maxlen, timeoutMillis: boundMillis })
          )
        } catch (defect) {
          return Effect.succeed(Exit.die(defect))
        }
      }
      return Effect.async((resume) => {
        const started = Timeout.startBounded({
          runtime,
          clock,
          self: Effect.suspend(() => backend.append(stream, [body], appendOptions)),
          duration: Duration.millis(boundMillis),
          millis: boundMillis,
          onTimeout: noAnswer,
          onExit: (exit) => resume(Effect.succeed(exit))
        })
        return Effect.sync(started.interrupt)
      })
    }

    /**
     * An awaited publish's write and its answer. The caller's fiber does the whole publish in a few
     * steps (the event made and encoded in one, the metrics updated in the step that answers, no
     * fiber of its own where the backend bounds its appends): a publish is one round trip, and the
     * CPU spent on top of it adds to it in full, more so on a machine whose cores idle between round
     * trips. Awaited publishes on Redis, bench machine: 160 µs each with a fiber and timer of the
     * bus's own, 115 µs without (plain ioredis: 105 µs).
     */
    const write = (
      body: string,
      boundMillis: number,
      fiber: Fiber.RuntimeFiber<unknown, unknown>
    ): Effect.Effect<PublishResult.PublishResult> => {
      const clock = Context.get(fiber.getFiberRef(DefaultServices.currentServices), Clock.Clock)
      const start = Timeout.millisBy(clock)
      return Effect.flatMap(
        appendWithin(body, boundMillis, clock),
        (exit): Effect.Effect<PublishResult.PublishResult> => {
          if (Exit.isSuccess(exit)) {
            // The untagged metrics updated with the stream's labels (see `labelsFor`).
            const labels = labelsOf(fiber)
            PublishMetrics.publishLatency.unsafeUpdate(Timeout.millisBy(clock) - start, labels)
            PublishMetrics.published.unsafeUpdate(1, labels)
            const result = PublishResult.Written({ id: exit.value[0] ?? "" })
            return writeFailures.current() > 0
              ? Effect.as(writeFailures.success, result)
              : Effect.succeed(result)
          }
          const error = Cause.failureOption(exit.cause)
          return Option.isSome(error)
            ? notWritten(error.value.reason, error.value.message)
            : Cause.isInterruptedOnly(exit.cause)
              ? Effect.interrupt
              : notWritten("Rejected", `backend defect: ${Cause.pretty(exit.cause)}`)
        }
      )
    }

    const unencodable = (defect: unknown): string =>
      `the event could not be encoded: ${defect instanceof Error ? defect.message : String(defect)}`

    /**
     * The body of an input, made in the caller's step with its fiber's `Clock` and `Random`: the text,
     * or an `Effect` of it where the event needs effects (a `Random` other than the default one),
     * failing with why there is none. Never throws: `Event.make` reads the input and the codec its
     * payload's Schema, and a hostile input (a getter that throws, a Proxy, a Schema transform that
     * throws) must not make a publish throw or die.
     */
    const encodeIn = <K extends string, P>(
      input: Event.Input<K, P>,
      fiber: Fiber.RuntimeFiber<unknown, unknown>
    ): string | Effect.Effect<string, string> => {
      try {
        const made = Event.makeIn(input, fiber.getFiberRef(DefaultServices.currentServices))
        if (!Effect.isEffect(made)) return codec.encode(made)
        return Effect.map(made, (event) => codec.encode(event)).pipe(
          Effect.catchAllDefect((defect) => Effect.fail(unencodable(defect)))
        )
      } catch (defect) {
        return Effect.fail(unencodable(defect))
      }
    }

    /**
     * Program order across the two paths: events taken by `publishNowait` before this publish are
     * written first. When none is waiting (the common case) this costs one comparison; otherwise the
     * wait for them counts against the same bound.
     */
    const writeInOrder = (
      body: string,
      fiber: Fiber.RuntimeFiber<unknown, unknown>
    ): Effect.Effect<PublishResult.PublishResult> => {
      if (settled >= taken) return write(body, publishTimeoutMillis, fiber)
      return Effect.clockWith((clock) => {
        const start = clock.unsafeCurrentTimeMillis()
        return Effect.flatMap(Effect.timeoutOption(flushUpTo(taken), config.publishTimeout), (done) => {
          const left = publishTimeoutMillis - (clock.unsafeCurrentTimeMillis() - start)
          return Option.isNone(done) || left <= 0
            ? notWritten(
                "Timeout",
                `events published before it without waiting were not all written within ${publishTimeoutMillis} ms`
              )
            : write(body, left, fiber)
        })
      })
    }

    const publish = <K extends string, P>(
      input: Event.Input<K, P>
    ): Effect.Effect<PublishResult.PublishResult> =>
      Effect.withFiberRuntime((fiber) => {
        const body = encodeIn(input, fiber)
        return typeof body === "string"
          ? writeInOrder(body, fiber)
          : Effect.matchEffect(body, {
              onFailure: (why) => notWritten("Rejected", why),
              onSuccess: (text) => writeInOrder(text, fiber)
            })
      })

    // ---- fire-and-forget ---------------------------------------------------------------------

    const buffer = new BodyBuffer()
    const takenNow = Effect.succeed(true)

    let closing = false
    let closed = false
    // Events taken from the buffer and not yet written or given up.
    let unsettled = 0
    // Events taken by publishNowait, and events written or given up: `flush` waits for the second
    // count to reach the first.
    let taken = 0
    let settled = 0
    let flushWaiters: Array<{ readonly target: number; readonly done: Deferred.Deferred<void> }> = []

    /** `n` events written or given up; `inFlight`: they had been taken from the buffer to be sent. */
    const settle = (n: number, inFlight = true): void => {
      settled += n
      if (inFlight) unsettled = Math.max(0, unsettled - n)
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

    /**
     * A program publishing in a tight loop hardly lets the event loop run: Effect yields a busy fiber
     * to the microtask queue, and to the host only after 2,048 such yields in a row. The batches the
     * writer sends then wait in the process (unwritten socket data, unread answers) until the loop
     * ends, and the server idles meanwhile. So when two batches or more are unanswered, the
     * publishing fiber yields to the host's event loop (`setImmediate`, after I/O) once every
     * batch's worth of events offered (at least 64): the answers come in, the socket drains, and
     * the server works while the process encodes. `publish_nowait`, 200,000 events in a loop: every
     * batch had stayed unanswered until the loop's end (all 200,000 events in memory at once); with
     * this, about 1,500 events (three batches) at most, and 1.14 to 1.2 of `raw_pipeline`.
     *
     * The yield comes before the event is taken: a caller interrupted there has not had it taken.
     * (So `publishNowait` can suspend for one turn of the event loop: run it in a fiber, not with
     * `Effect.runSync`.)
     */
    const yieldEvery = Math.max(batchSize, 64)
    let offered = 0
    let yieldedAt = 0

    /** Called in `publishNowait`'s continuation, once per event: no `Effect.suspend` needed. */
    const offer = (body: string): Effect.Effect<boolean> => {
      offered++
      if (closed || unsettled < 2 * batchSize || offered - yieldedAt < yieldEvery) return take(body)
      yieldedAt = offered
      return Effect.flatMap(Timeout.yieldToHost, () => take(body))
    }

    const take = (body: string): Effect.Effect<boolean> => {
      if (closed) return Effect.as(drop(1, "the bus is closed"), false)
      // Batches in flight beyond the first count as held: at most `bufferCapacity` events wait, plus
      // one batch being written.
      const full = buffer.size + Math.max(0, unsettled - batchSize) >= config.bufferCapacity
      if (full && config.overflow === "dropNewest") {
        return Effect.as(drop(1, `buffer full (${config.bufferCapacity} events)`), false)
      }
      taken++
      if (full) {
        // dropOldest: the oldest event waiting goes to make room.
        buffer.dropOldest()
        settle(1, false)
        buffer.push(body)
        return Effect.as(drop(1, `buffer full (${config.bufferCapacity} events), oldest dropped`), true)
      }
      buffer.push(body)
      return overflowDrops.current() > 0 ? Effect.as(overflowDrops.success, true) : takenNow
    }

    const publishNowait = <K extends string, P>(input: Event.Input<K, P>): Effect.Effect<boolean> =>
      Effect.withFiberRuntime((fiber) => {
        const body = encodeIn(input, fiber)
        return typeof body === "string"
          ? offer(body)
          : Effect.matchEffect(body, { onFailure: (why) => Effect.as(drop(1, why), false), onSuccess: offer })
      })

    const flush: Effect.Effect<void> = Effect.suspend(() => flushUpTo(taken))

    /** Waits until the first `target` events taken are written or given up. */
    const flushUpTo = (target: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (settled >= target) return Effect.void
        const done = Deferred.unsafeMake<void>(FiberId.none)
        flushWaiters.push({ target, done })
        // A waiter given up (an awaited publish past its bound during an outage) leaves the list.
        return Deferred.await(done).pipe(
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              flushWaiters = flushWaiters.filter((waiter) => waiter.done !== done)
            })
          )
        )
      })

    const batchTimeoutMillis = Duration.toMillis(config.batchTimeout)
    // A backend that bounds its appends is given the batches' bound too (the writer's own timer
    // stays), so that it sees the batches that go unanswered (the Redis backend makes its connection
    // anew after a few).
    const batchAppendOptions =
      backend.boundsAppends === true && Timeout.fitsTimer(batchTimeoutMillis)
        ? { maxlen: config.maxlen, timeoutMillis: batchTimeoutMillis }
        : appendOptions
    /**
     * A written batch lets go of its bodies. What held a batch may outlive it: its fiber, its entry
     * in `sending`, the backend's command object. Once one of them has been promoted to V8's old
     * generation (it was alive at two young collections, as a batch in flight can be), everything
     * it still points to survives every young collection until the next full one, and is copied and
     * promoted in turn. Emptying the arrays (here, in the buffer, and the Redis backend's command
     * arguments) leaves such a holder pointing at nothing: `publish_nowait`/`raw_pipeline` 1.07 to
     * 1.17 in isolated runs of the two cases.
     */
    const forget = (batch: Batch): void => {
      ;(batch.bodies as Array<string>).length = 0
      batch.pending = []
    }

    /** A backend's defect (a bug, a reply of an unexpected shape), as a failed attempt. */
    const backendDefect = (detail: string) =>
      new StreamBackendError({ reason: "Rejected", message: `backend defect: ${detail}` })

    const batchTimeout = () =>
      new StreamBackendError({ reason: "Timeout", message: `no answer within ${batchTimeoutMillis} ms` })

    /** A failed attempt at a batch: what was written of it is no longer pending; counted and logged. */
    const attemptFailed = (batch: Batch, error: StreamBackendError): Effect.Effect<void> => {
      if (error.written !== undefined && error.written > 0) batch.pending = batch.pending.slice(error.written)
      return Effect.zipRight(
        Metric.incrementBy(failed, batch.pending.length),
        writeFailures.failure(`${error.reason}: ${error.message}`)
      )
    }

    const batchWritten = (batch: Batch): Effect.Effect<void> => {
      const n = batch.bodies.length
      settle(n)
      forget(batch)
      return Effect.zipRight(Metric.incrementBy(published, n), writeFailures.success)
    }

    /**
     * Settles a batch whose first attempt ended with `exit`: done if it succeeded, else retried by
     * the schedule (the first attempt counting as the schedule's first), and given up (counted as
     * dropped) when the schedule ends.
     */
    const finish = (batch: Batch, exit: Exit.Exit<unknown, StreamBackendError>): Effect.Effect<void> => {
      if (Exit.isSuccess(exit)) return batchWritten(batch)
      const error = Cause.failureOption(exit.cause)
      if (Option.isNone(error) && Cause.isInterruptedOnly(exit.cause)) return Effect.interrupt
      // A defect of the backend (a bug, a reply of an unexpected shape) is a failed attempt like any
      // other: the writer must outlive it, or every later event would wait for nothing.
      let first: StreamBackendError | undefined = Option.isSome(error)
        ? error.value
        : backendDefect(Cause.pretty(exit.cause))
      const attempt = Effect.suspend(() => {
        if (first !== undefined) {
          const failure = first
          first = undefined
          return Effect.zipRight(attemptFailed(batch, failure), Effect.fail(failure))
        }
        return backend.append(stream, batch.pending, batchAppendOptions).pipe(
          Effect.catchAllDefect((defect) => Effect.fail(backendDefect(String(defect)))),
          Effect.timeoutFail({ duration: config.batchTimeout, onTimeout: batchTimeout }),
          Effect.tapError((error) => attemptFailed(batch, error))
        )
      })
      return attempt.pipe(
        Effect.retry(config.retrySchedule),
        Effect.matchEffect({
          onSuccess: () => batchWritten(batch),
          onFailure: (error) => {
            settle(batch.bodies.length)
            return drop(batch.pending.length, `retries exhausted: ${error.message}`)
          }
        })
      )
    }

    /**
     * The writer keeps several batches in flight on the backend (one connection: Redis runs them in
     * order) rather than waiting for each batch's answer before sending the next: the backend
     * writes a batch while this process encodes and sends the following ones. In a tight publishing
     * loop, where the answers wait for the loop to yield to the event loop, one batch in flight
     * left Redis idle: about 128,000 events/s with one, 165,000 with several (200,000 events, bench
     * machine). At most
     * `bufferCapacity` events are in flight. Batches settle oldest first. When one fails, nothing
     * more is sent until it is written: the batches after it in flight are awaited and their
     * failures retried in order. (A batch the server rejects, not a lost connection or a time-out,
     * can so be written after batches sent behind it that the server accepted.)
     */
    interface Sending {
      readonly batch: Batch
      exit: Exit.Exit<unknown, StreamBackendError> | undefined
      started: Timeout.Started | undefined
    }
    const sending: Array<Sending> = []

    const send = (clock: Clock.Clock, batch: Batch): void => {
      const entry: Sending = { batch, exit: undefined, started: undefined }
      entry.started = Timeout.startBounded({
        runtime,
        clock,
        self: backend.append(stream, batch.pending, batchAppendOptions),
        duration: config.batchTimeout,
        millis: batchTimeoutMillis,
        onTimeout: batchTimeout,
        onExit: (exit) => {
          entry.exit = exit
          buffer.signal()
        }
      })
      sending.push(entry)
    }

    const writer = Effect.gen(function* () {
      const clock = yield* Effect.clock
      while (true) {
        if (buffer.size > 0 && unsettled < config.bufferCapacity) {
          while (buffer.size > 0 && unsettled < config.bufferCapacity) {
            const bodies = buffer.take(batchSize)
            unsettled += bodies.length
            send(clock, { bodies, pending: bodies })
          }
          yield* Metric.set(buffered, buffer.size)
        }
        const oldest = sending[0]
        if (oldest === undefined && closing) return
        if (oldest === undefined || oldest.exit === undefined) {
          // Nothing to settle yet: wait for a batch to settle, or (if it can be sent) a body.
          buffer.wantsBodies = unsettled < config.bufferCapacity
          yield* buffer.waitForSignal
          continue
        }
        sending.shift()
        if (Exit.isSuccess(oldest.exit)) {
          oldest.exit = undefined
          oldest.started = undefined
          yield* batchWritten(oldest.batch)
          continue
        }
        // The batches behind it settle first (nothing more is sent), then each is finished in order.
        buffer.wantsBodies = false
        while (sending.some((entry) => entry.exit === undefined)) yield* buffer.waitForSignal
        const behind = sending.splice(0)
        yield* finish(oldest.batch, oldest.exit)
        for (const entry of behind) yield* finish(entry.batch, entry.exit!)
      }
    })
    // Layers are built uninterruptibly and a fiber forked there inherits that: the writer must stay
    // interruptible for the drain deadline to stop it.
    const writerFiber = yield* Effect.forkScoped(Effect.interruptible(writer))

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closing = true
        // A writer waiting on an empty buffer wakes up to see that it is closing.
        buffer.signal()
        // Finalizers run uninterruptibly: only an interruptible wait can be cut by the deadline.
        const drained = yield* Effect.timeoutOption(
          Effect.interruptible(Fiber.await(writerFiber)),
          config.drainTimeout
        )
        closed = true
        // Taken after the writer ended (between its return and `closed`): given up, and counted.
        if (Option.isSome(drained) && buffer.size > 0) {
          const late = buffer.take(buffer.size).length
          settle(late, false)
          yield* drop(late, "the bus closed before they could be written")
        }
        if (Option.isNone(drained)) {
          yield* Fiber.interrupt(writerFiber)
          for (const entry of sending.splice(0)) entry.started?.interrupt()
          const left = unsettled + buffer.take(buffer.size).length
          if (left > 0) {
            yield* Metric.incrementBy(dropped, left)
            yield* Effect.logWarning(
              `EventBus closed with ${left} events unwritten: the drain deadline of ${Duration.toMillis(config.drainTimeout)} ms passed`
            ).pipe(Effect.annotateLogs(annotations))
          }
          settle(left)
        }
      })
    )

    return { stream, publish, publishNowait, flush } satisfies EventBusService
  })
