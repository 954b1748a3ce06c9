/**
 * The publisher's batch writer: it sends the outbox's items in batches (several in flight on the
 * backend), answers the tickets of each batch as soon as it is answered, settles batches oldest
 * first, retries the fire-and-forget events of a failed one by the `Schedule`, and drains the
 * outbox when its scope closes.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as Runtime from "effect/Runtime"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type * as StreamBackend from "../StreamBackend.js"
import {
  StreamBackendError as BackendError,
  type StreamBackendError,
  type StreamBackendService
} from "../StreamBackend.js"
import type * as Answers from "./answers.js"
import type * as FailureStreak from "./failureStreak.js"
import * as Outbox from "./outbox.js"
import * as Retry from "./retry.js"
import * as Timeout from "./timeout.js"
import * as Tracing from "./tracing.js"

/** A batch taken from the outbox; `pending` is what of its fire-and-forget bodies is not known to be written yet. */
interface Batch {
  readonly items: Array<Outbox.Item>
  readonly bodies: Array<string>
  /** The trace contexts written beside the bodies, aligned with them; `undefined` when none is. */
  readonly traceparents: Array<string | undefined> | undefined
  /** Its fire-and-forget events (the rest are tickets). */
  readonly nowait: number
  pending: ReadonlyArray<string>
  /** The trace contexts of `pending`, aligned with it; `undefined` when none is. */
  pendingTraceparents: ReadonlyArray<string | undefined> | undefined
  /** Whether its slots in flight were freed (at its answer when written, else once settled). */
  released: boolean
  /** Whether its settling after a failure began: `pending` is then its fire-and-forget events left. */
  retrying: boolean
  /** The tracer and links of its `send` spans, when it has them (its retries are spans too). */
  readonly trace:
    | { readonly tracer: Tracer.Tracer; readonly links: ReadonlyArray<Tracer.SpanLink> }
    | undefined
}

/**
 * Partial batches (fewer than `batchSize` items) in flight at most: past them, items wait for a
 * batch to finish (or to fill one), so that concurrent awaited publishes gather into batches
 * instead of each going alone (group commit). Two keep the server busy while the process answers the
 * batch just finished.
 */
const partialBatchesInFlight = 2

/** What the writer is given. */
export interface Options {
  readonly backend: StreamBackendService
  readonly runtime: Runtime.Runtime<never>
  /** The publisher's clock (batch bounds, tickets' latency). */
  readonly clock: Clock.Clock
  readonly stream: string
  readonly outbox: Outbox.Outbox
  readonly config: {
    readonly maxlen: number
    readonly batchSize: number
    readonly bufferCapacity: number
    readonly batchTimeout: Duration.Duration
    readonly drainTimeout: Duration.Duration
    readonly retrySchedule: Schedule.Schedule<unknown, StreamBackendError>
  }
  readonly answers: Answers.Answers
  readonly metrics: {
    readonly published: Metric.Metric.Counter<number>
    readonly failed: Metric.Metric.Counter<number>
    readonly dropped: Metric.Metric.Counter<number>
    readonly buffered: Metric.Metric.Gauge<number>
  }
  readonly writeFailures: FailureStreak.FailureStreak
  /** Counts and logs `n` fire-and-forget events given up. */
  readonly drop: (n: number, why: string) => Effect.Effect<void>
  readonly annotations: Record<string, unknown>
}

/** @internal */
export interface BatchWriter {
  /** An item was queued: sends what it makes possible (now, or at the end of the scheduler's step). */
  readonly queued: () => void
  /** Sends what may be sent now. */
  readonly pump: () => void
  /** Whether awaited publishes are arriving together (see `gathering`). */
  readonly gathering: () => boolean
}

/** A writer whose fiber runs in the scope, which drains the outbox when it closes. */
export const make = (options: Options): Effect.Effect<BatchWriter, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { backend, runtime, clock, stream, outbox, config, writeFailures, drop, annotations } = options
    const { notWritten, written, failedWith } = options.answers
    const { published, failed, dropped, buffered } = options.metrics
    const { batchSize } = config
    const appendOptions = { maxlen: config.maxlen }

    /**
     * Whether awaited publishes are arriving together (the last batch answered held several): then
     * one finding the outbox idle waits for the end of the step with the others rather than going
     * alone (100 fibers publishing awaited: every other round trip carried one event otherwise).
     */
    let gathering = false

    /** Answers the tickets of a batch whose append ended with `exit`. */
    const answerTickets = (
      batch: Batch,
      exit: Exit.Exit<StreamBackend.Appended, StreamBackendError>
    ): void => {
      const tickets = batch.items.length - batch.nowait
      gathering = tickets > 1
      if (tickets === 0) return
      const ids = Exit.isSuccess(exit) ? exit.value : undefined
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      // A failed append may have written the start of the batch (`written`, with their `ids`).
      const writtenIds = ids ?? (Option.isSome(error) ? (error.value.ids ?? []) : [])
      const failure = Exit.isFailure(exit) ? failedWith(exit.cause) : undefined
      // One reading of the clock for the whole batch: its tickets are answered at the same moment.
      const now = Timeout.millisBy(clock)
      batch.items.forEach((item, i) => {
        if (Outbox.isNowait(item)) return
        const id = writtenIds[i]
        if (id !== undefined) item.answer(written(id, now - item.start, item.fiber, ids?.replicas))
        else if (failure !== undefined && Option.isSome(error) && i < (error.value.written ?? 0)) {
          // Written before the failure, its id not given: not "not written".
          item.answer(notWritten("Timeout", "written before the batch failed, but the backend gave no id"))
        } else if (failure !== undefined) item.answer(failure)
        else item.answer(notWritten("Rejected", "backend defect: the append answered fewer ids than entries"))
      })
    }

    const batchTimeoutMillis = Duration.toMillis(config.batchTimeout)
    // A backend that bounds its appends is given the batches' bound too (the writer's own timer
    // stays), so that it sees the batches that go unanswered (the Redis backend makes its connection
    // anew when they go unanswered on a connection that answers nothing).
    const batchAppendOptions =
      backend.boundsAppends === true && Timeout.fitsTimer(batchTimeoutMillis)
        ? { maxlen: config.maxlen, timeoutMillis: batchTimeoutMillis }
        : appendOptions

    /**
     * A finished batch lets go of its bodies. What held a batch may outlive it: its fiber, its entry
     * in `sending`, the backend's command object. Once one of them has been promoted to V8's old
     * generation, everything it still points to survives every young collection until the next full
     * one; emptied arrays leave such a holder pointing at nothing (figures: `docs/benchmarks.md`).
     */
    const forget = (batch: Batch): void => {
      batch.items.length = 0
      batch.bodies.length = 0
      if (batch.traceparents !== undefined) batch.traceparents.length = 0
      batch.pending = []
      batch.pendingTraceparents = undefined
    }

    /** The append options of bodies with these trace contexts. */
    const withTraceparents = (
      traceparents: ReadonlyArray<string | undefined> | undefined
    ): StreamBackend.AppendOptions =>
      traceparents === undefined ? batchAppendOptions : { ...batchAppendOptions, traceparents }

    /** A backend's defect (a bug, a reply of an unexpected shape), as a failed attempt. */
    const backendDefect = (detail: string) =>
      new BackendError({ reason: "Rejected", message: `backend defect: ${detail}` })

    const batchTimeout = () =>
      new BackendError({ reason: "Timeout", message: `no answer within ${batchTimeoutMillis} ms` })

    /** A failed attempt at a batch: what was written of it is no longer pending; counted and logged. */
    const attemptFailed = (batch: Batch, error: StreamBackendError): Effect.Effect<void> => {
      if (error.written !== undefined && error.written > 0) {
        batch.pending = batch.pending.slice(error.written)
        batch.pendingTraceparents = batch.pendingTraceparents?.slice(error.written)
      }
      return Effect.zipRight(
        Metric.incrementBy(failed, batch.pending.length),
        writeFailures.failure(`${error.reason}: ${error.message}`)
      )
    }

    /** Frees a batch's slots in flight, once. */
    const release = (batch: Batch): void => {
      if (batch.released) return
      batch.released = true
      outbox.inFlight -= batch.items.length
      outbox.batchesInFlight--
    }

    /** A batch is done with: its events settled, its slots in flight freed. */
    const finished = (batch: Batch): void => {
      outbox.settle(batch.nowait)
      release(batch)
      forget(batch)
    }

    const batchWritten = (batch: Batch): Effect.Effect<void> => {
      const n = batch.nowait
      finished(batch)
      return n === 0 ? Effect.void : Effect.zipRight(Metric.incrementBy(published, n), writeFailures.success)
    }

    /**
     * Settles a batch whose first attempt ended with `exit` (its tickets are answered already): done
     * if it succeeded, else its fire-and-forget events not written are retried by the schedule (the
     * first attempt counting as the schedule's first), and given up (counted as dropped) when the
     * schedule ends. `atOnce`: the batch before it was just written (the backend is back), so it is
     * tried again at once before the schedule's pace. Tickets are never sent twice: their callers
     * have their answer.
     */
    const finish = (
      batch: Batch,
      exit: Exit.Exit<unknown, StreamBackendError>,
      atOnce: boolean
    ): Effect.Effect<boolean> => {
      if (Exit.isSuccess(exit)) return Effect.as(batchWritten(batch), true)
      const error = Cause.failureOption(exit.cause)
      if (Option.isNone(error) && Cause.isInterruptedOnly(exit.cause)) return Effect.interrupt
      // A defect of the backend (a bug, a reply of an unexpected shape) is a failed attempt like any
      // other: the writer must outlive it, or every later event would wait for nothing.
      const first: StreamBackendError = Option.isSome(error)
        ? error.value
        : backendDefect(Cause.pretty(exit.cause))
      // What the first attempt did not write, of the fire-and-forget events.
      const writtenFirst = first.written ?? 0
      const pending: Array<string> = []
      const pendingTraceparents: Array<string | undefined> = []
      for (let i = writtenFirst; i < batch.items.length; i++) {
        const item = batch.items[i]!
        if (Outbox.isNowait(item)) {
          pending.push(Outbox.bodyOf(item))
          pendingTraceparents.push(batch.traceparents?.[i])
        }
      }
      batch.pending = pending
      batch.retrying = true
      batch.pendingTraceparents = batch.traceparents === undefined ? undefined : pendingTraceparents
      const retried = Effect.suspend(() => {
        const append = backend.append(stream, batch.pending, withTraceparents(batch.pendingTraceparents))
        return batch.trace === undefined
          ? append
          : batchSpan(append, batch.trace.tracer, batch.trace.links, batch.pending.length)
      }).pipe(
        Effect.catchAllDefect((defect) => Effect.fail(backendDefect(String(defect)))),
        Effect.timeoutFail({ duration: config.batchTimeout, onTimeout: batchTimeout }),
        Effect.tapError((error) => attemptFailed(batch, error))
      )
      const counted = Effect.zipRight(
        Metric.incrementBy(failed, pending.length),
        writeFailures.failure(`${first.reason}: ${first.message}`)
      )
      if (pending.length === 0) return Effect.zipRight(counted, Effect.as(batchWritten(batch), true))
      const retrying = atOnce
        ? Effect.catchAll(retried, (error) => Retry.retryAfter(error, retried, config.retrySchedule))
        : Retry.retryAfter(first, retried, config.retrySchedule)
      return Effect.zipRight(counted, retrying).pipe(
        Effect.matchEffect({
          onSuccess: () => Effect.as(batchWritten(batch), true),
          onFailure: (error) => {
            const left = batch.pending.length
            finished(batch)
            return Effect.as(drop(left, `retries exhausted: ${error.message}`), false)
          }
        })
      )
    }

    /**
     * Several batches are kept in flight on the backend (one connection: Redis runs them in order)
     * rather than one waiting for the answer of the one before: the backend writes a batch while
     * this process encodes and sends the following ones. Batches are sent by {@link pump}, in the
     * step that makes one possible (an item queued, a batch answered), not by a fiber woken for it:
     * a process busy with thousands of fibers runs a woken fiber only after all those scheduled
     * before it (a burst of 20,000 awaited publishes: tickets waited 374 ms to be sent, p50). Full
     * batches go at once (at most `bufferCapacity` events in flight); partial ones while fewer than
     * `partialBatchesInFlight` batches are in flight, so that items arriving meanwhile gather.
     *
     * The writer fiber settles batches oldest first (their tickets are answered as soon as they are).
     * When one fails, nothing more is sent until it is settled: the batches after it in flight are
     * awaited and their failures retried in order. (A batch the server rejects, not a lost
     * connection or a time-out, can so be written after batches sent behind it that the server
     * accepted.)
     */
    interface Sending {
      readonly batch: Batch
      exit: Exit.Exit<ReadonlyArray<string>, StreamBackendError> | undefined
      started: Timeout.Started | undefined
    }
    const sending: Array<Sending> = []
    /**
     * A failed batch and those behind it while the writer settles them (retries): out of `sending`,
     * and still the drain deadline's to count when it cuts the retries.
     */
    let settling: Array<Sending> = []
    // A batch failed and is not settled yet: nothing is sent meanwhile.
    let holding = false
    // The writer has ended (drained at close): nobody would settle a batch sent now.
    let ended = false
    // `pump` is running: a batch answered at once (the memory backend) must not send from within it.
    let pumping = false

    /** A ticket whose caller was interrupted before it was sent (answered in case it still waits). */
    const callerInterrupted = () => notWritten("NotSent", "its caller was interrupted before it was sent")

    const send = (taken: Array<Outbox.Item>): void => {
      const items: Array<Outbox.Item> = []
      const bodies: Array<string> = []
      let traceparents: Array<string | undefined> | undefined
      // The batch's `send` span, when one of its fire-and-forget events was published where spans
      // are wanted: made with that event's tracer, linking to each such event's span.
      let tracer: Tracer.Tracer | undefined
      let links: Array<Tracer.SpanLink> | undefined
      let linked: Set<Tracer.AnySpan> | undefined
      let nowait = 0
      for (const item of taken) {
        let traceparent: string | undefined
        if (typeof item === "string") {
          bodies.push(item)
          nowait++
        } else if (item instanceof Outbox.Traced) {
          bodies.push(item.body)
          nowait++
          traceparent = item.traceparent
          tracer ??= item.tracer
          // One link a span, however many of the batch's events were published in it.
          if (item.span !== undefined) {
            linked ??= new Set()
            if (!linked.has(item.span)) {
              linked.add(item.span)
              links ??= []
              links.push(Tracing.linkTo(item.span))
            }
          }
        } else if (item.callerInterrupted) {
          item.answer(callerInterrupted())
          continue
        } else {
          bodies.push(item.body)
          item.state = Outbox.Sent
          traceparent = item.traceparent
        }
        if (traceparent !== undefined) {
          traceparents ??= new Array<string | undefined>(items.length).fill(undefined)
          traceparents.push(traceparent)
        } else if (traceparents !== undefined) traceparents.push(undefined)
        items.push(item)
      }
      if (items.length === 0) return
      const batch: Batch = {
        items,
        bodies,
        traceparents,
        nowait,
        pending: bodies,
        retrying: false,
        pendingTraceparents: traceparents,
        released: false,
        trace: tracer === undefined ? undefined : { tracer, links: links ?? [] }
      }
      outbox.inFlight += items.length
      outbox.batchesInFlight++
      const entry: Sending = { batch, exit: undefined, started: undefined }
      // In `sending` before it starts: a backend that answers at once calls `onExit` within.
      sending.push(entry)
      entry.started = Timeout.startBounded({
        runtime,
        clock: clock,
        self:
          batch.trace === undefined
            ? backend.append(stream, bodies, withTraceparents(traceparents))
            : batchSpan(
                backend.append(stream, bodies, withTraceparents(traceparents)),
                batch.trace.tracer,
                batch.trace.links,
                bodies.length
              ),
        duration: config.batchTimeout,
        millis: batchTimeoutMillis,
        onTimeout: batchTimeout,
        onExit: (exit) => {
          entry.exit = exit
          answerTickets(batch, exit)
          if (Exit.isSuccess(exit)) release(batch)
          else holding = true
          outbox.wake.signal()
          schedulePump()
        }
      })
    }

    /**
     * A batch's `send` span (a root span: its events belong to the traces of their publishers, which
     * it links to), made with the tracer of the fibers that published them.
     */
    let destination: Readonly<Record<string, unknown>> | undefined
    const batchSpan = <A, E>(
      append: Effect.Effect<A, E>,
      tracer: Tracer.Tracer,
      links: ReadonlyArray<Tracer.SpanLink>,
      count: number
    ): Effect.Effect<A, E> => {
      destination ??= Tracing.destination(stream, backend.server)
      return Effect.withTracer(
        Effect.withSpan(append, `send ${stream}`, {
          kind: "producer",
          root: true,
          links,
          attributes: Tracing.operation(destination, "send", "publish_batch", {
            "messaging.batch.message_count": count
          }),
          captureStackTrace: false
        }),
        tracer
      )
    }

    /**
     * Whether a batch may be sent now: a full one while the capacity allows; a partial one while
     * fewer than `partialBatchesInFlight` are in flight, and, beside another, only if it holds at
     * least half as many events (else it waits to join the next group: two slots each carrying a
     * share of the publishers, not one carrying one publisher and the other all the rest).
     */
    const canSend = (): boolean => {
      if (ended || holding || outbox.waiting === 0 || outbox.inFlight >= config.bufferCapacity) return false
      if (outbox.closing || outbox.waiting >= batchSize || outbox.batchesInFlight === 0) return true
      return outbox.batchesInFlight < partialBatchesInFlight && 2 * outbox.waiting >= outbox.inFlight
    }

    /**
     * An item was queued: a full batch goes now; otherwise the send waits for the end of the
     * current step of the scheduler (a microtask), so that the items of every fiber running in it
     * gather into one batch (100 fibers publishing awaited: half the batches held one event when
     * the first item queued went at once).
     */
    const queued = (): void => {
      if (outbox.waiting >= batchSize) pump()
      else schedulePump()
    }

    let pumpScheduled = false
    const scheduledPump = (): void => {
      pumpScheduled = false
      pump()
    }
    const schedulePump = (): void => {
      if (pumpScheduled) return
      pumpScheduled = true
      Timeout.afterStep(scheduledPump)
    }

    /** Sends what may be sent now. */
    const pump = (): void => {
      if (pumping) return
      pumping = true
      try {
        while (canSend()) {
          // A group of partial size with nothing in flight goes as two halves, one a slot: both
          // slots then carry a share of the publishers (rather than one carrying nearly all).
          const waiting = outbox.waiting
          const split = outbox.batchesInFlight === 0 && waiting >= 64 && waiting < batchSize
          send(outbox.take(split ? Math.ceil(waiting / 2) : batchSize))
        }
      } finally {
        pumping = false
      }
    }

    const writer = Effect.gen(function* () {
      while (true) {
        const oldest = sending[0]
        if (oldest === undefined && outbox.closing && outbox.waiting === 0) {
          // Nothing more is sent: what is queued from now on is the finalizer's to give up.
          ended = true
          return
        }
        if (oldest === undefined || oldest.exit === undefined) {
          // Nothing to settle yet: wait for a batch to finish (or outbox.closing).
          yield* Metric.set(buffered, outbox.waiting)
          yield* outbox.wake.wait
          continue
        }
        sending.shift()
        if (Exit.isSuccess(oldest.exit)) {
          oldest.exit = undefined
          oldest.started = undefined
          yield* batchWritten(oldest.batch)
          continue
        }
        // The batches behind it finish first (nothing more is sent), then each is settled in order.
        while (sending.some((entry) => entry.exit === undefined)) yield* outbox.wake.wait
        const behind = sending.splice(0)
        settling = [oldest, ...behind]
        // Those behind are tried again at once only if the one before was written (the backend is back).
        let back = yield* finish(oldest.batch, oldest.exit, false)
        for (const entry of behind) back = yield* finish(entry.batch, entry.exit!, back)
        settling = []
        holding = false
        pump()
      }
    })
    // Layers are built uninterruptibly and a fiber forked there inherits that: the writer must stay
    // interruptible for the drain deadline to stop it.
    const writerFiber = yield* Effect.forkScoped(Effect.interruptible(writer))

    /** What the drain deadline left: tickets answered, events counted as dropped. */
    const abandonAll = Effect.gen(function* () {
      let left = 0
      for (const entry of sending.splice(0)) {
        entry.started?.interrupt()
        for (const item of entry.batch.items) {
          if (Outbox.isNowait(item)) left++
          else item.answer(notWritten("Timeout", "the bus closed before the answer came: it may be written"))
        }
      }
      // Being settled when the deadline came: what is not written yet of their fire-and-forget events
      // is dropped (a batch whose retries began knows it; one still waiting for its turn, all past
      // its first attempt's written prefix). Their tickets were answered at the first attempt.
      let droppedSettling = 0
      for (const { batch, exit } of settling.splice(0)) {
        if (batch.released) continue
        if (batch.retrying) droppedSettling += batch.pending.length
        else {
          const failure =
            exit === undefined ? Option.none() : Option.flatMap(Exit.causeOption(exit), Cause.failureOption)
          const writtenFirst = Option.isSome(failure) ? (failure.value.written ?? 0) : 0
          for (let i = writtenFirst; i < batch.items.length; i++)
            if (Outbox.isNowait(batch.items[i]!)) droppedSettling++
        }
        finished(batch)
      }
      for (const item of outbox.take(outbox.waiting)) {
        if (Outbox.isNowait(item)) left++
        else item.answer(notWritten("Closed", "the bus closed before it was sent"))
      }
      outbox.settle(left)
      left += droppedSettling
      if (left > 0) {
        yield* Metric.incrementBy(dropped, left)
        yield* Effect.logWarning(
          `EventBus closed with ${left} events unwritten: the drain deadline of ${Duration.toMillis(config.drainTimeout)} ms passed`
        ).pipe(Effect.annotateLogs(annotations))
      }
    })

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        outbox.closing = true
        // What waits goes now, partial batches too; the writer wakes up to see that it is outbox.closing.
        pump()
        outbox.wake.signal()
        // Finalizers run uninterruptibly: only an interruptible wait can be cut by the deadline.
        const drained = yield* Effect.timeoutOption(
          Effect.interruptible(Fiber.await(writerFiber)),
          config.drainTimeout
        )
        outbox.closed = true
        if (Option.isNone(drained)) {
          yield* Fiber.interrupt(writerFiber)
          yield* abandonAll
          return
        }
        // Taken after the writer ended (between its return and `closed`): given up, and counted.
        const late = outbox.take(outbox.waiting)
        if (late.length > 0) {
          let events = 0
          for (const item of late) {
            if (Outbox.isNowait(item)) events++
            else item.answer(notWritten("Closed", "the bus closed before it was sent"))
          }
          outbox.settle(events)
          if (events > 0) yield* drop(events, "the bus closed before they could be written")
        }
      })
    )

    return { queued, pump, gathering: () => gathering }
  })
