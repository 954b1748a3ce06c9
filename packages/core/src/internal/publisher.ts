/**
 * The publisher behind `EventBus.make`. Both paths go through one {@link Outbox}, in publishing
 * order, drained in batches by one background fiber (the writer), which keeps several batches in
 * flight, retries failed fire-and-forget events by a `Schedule` and preserves order (but for a batch
 * the server rejects while it accepts the ones sent behind it: see `writer`).
 *
 * An awaited publish goes straight to the backend, in the caller's fiber, when the outbox is idle
 * (one publisher alone pays for nothing more); otherwise it waits in the outbox as a `Ticket` and
 * leaves in the next batch with the others (group commit: 100 fibers publishing at once share a few
 * round trips instead of paying for 100). Each ticket keeps its caller's bound: one that runs out
 * while it waits answers `NotSent`, one that runs out once sent answers `Timeout`.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Event from "../Event.js"
import type { EventBusService, Options } from "../EventBus.js"
import * as PublishMetrics from "../PublishMetrics.js"
import * as PublishResult from "../PublishResult.js"
import { StreamBackend, StreamBackendError } from "../StreamBackend.js"
import * as WireCodec from "../WireCodec.js"
import * as FailureStreak from "./failureStreak.js"
import * as Outbox from "./outbox.js"
import * as Retry from "./retry.js"
import { labelsFor, taggerFor } from "./streamMetric.js"
import * as Timeout from "./timeout.js"

/** A batch taken from the outbox; `pending` is what of its fire-and-forget bodies is not known to be written yet. */
interface Batch {
  readonly items: Array<Outbox.Item>
  readonly bodies: Array<string>
  /** Its fire-and-forget events (the rest are tickets). */
  readonly nowait: number
  pending: ReadonlyArray<string>
  /** Whether its slots in flight were freed (at its answer when written, else once settled). */
  released: boolean
}

/**
 * Partial batches (fewer than `batchSize` items) in flight at most: past them, items wait for a
 * batch to finish (or to fill one), so that concurrent awaited publishes gather into batches
 * instead of each going alone (group commit). Two keep the server busy while the process answers the
 * batch just finished.
 */
const partialBatchesInFlight = 2

/** The defaults of the publisher's options (`EventBus.defaults`). */
export const defaults = {
  stream: "maf:events",
  maxlen: 100_000,
  bufferCapacity: 10_000,
  batchSize: 500,
  overflow: "dropNewest",
  publishTimeout: Duration.millis(500),
  batchTimeout: Duration.seconds(5),
  drainTimeout: Duration.seconds(5),
  retrySchedule: Schedule.exponential(Duration.millis(20)).pipe(
    Schedule.jittered,
    Schedule.union(Schedule.spaced(Duration.seconds(1)))
  )
} as const

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
    const layerClock = yield* Effect.clock
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

    const outbox = new Outbox.Outbox(config.bufferCapacity, batchSize)
    let closing = false
    let closed = false

    // ---- answers -----------------------------------------------------------------------------

    const notWritten = (
      reason: PublishResult.NotWrittenReason,
      message: string
    ): Effect.Effect<PublishResult.PublishResult> =>
      Effect.zipRight(
        Effect.zipRight(Metric.increment(failed), writeFailures.failure(`${reason}: ${message}`)),
        Effect.succeed(PublishResult.NotWritten({ reason, message }))
      )

    /** `Written`, with the publish's latency and count recorded in the caller's fiber. */
    const written = (
      id: string,
      start: number,
      clock: Clock.Clock
    ): Effect.Effect<PublishResult.PublishResult> =>
      Effect.withFiberRuntime((fiber) => {
        // The untagged metrics updated with the stream's labels (see `labelsFor`).
        const labels = labelsOf(fiber)
        PublishMetrics.publishLatency.unsafeUpdate(Timeout.millisBy(clock) - start, labels)
        PublishMetrics.published.unsafeUpdate(1, labels)
        const result = PublishResult.Written({ id })
        return writeFailures.current() > 0 ? Effect.as(writeFailures.success, result) : Effect.succeed(result)
      })

    /** The answer of a failed append, by its exit's cause. */
    const failedWith = (
      cause: Cause.Cause<StreamBackendError>
    ): Effect.Effect<PublishResult.PublishResult> => {
      const error = Cause.failureOption(cause)
      return Option.isSome(error)
        ? notWritten(error.value.reason, error.value.message)
        : Cause.isInterruptedOnly(cause)
          ? Effect.interrupt
          : notWritten("Rejected", `backend defect: ${Cause.pretty(cause)}`)
    }

    const noAnswer = () =>
      new StreamBackendError({ reason: "Timeout", message: `no answer within ${publishTimeoutMillis} ms` })

    // ---- awaited publish, straight to the backend (the outbox idle) --------------------------

    /**
     * Appends one body within `publishTimeout` and says how it went. A backend that bounds its
     * appends (`boundsAppends`) runs in the caller's fiber; any other in a fiber of its own under a
     * timer (`Timeout.startBounded`), as every backend does under a clock other than the live one.
     */
    const appendWithin = (
      body: string,
      clock: Clock.Clock
    ): Effect.Effect<Exit.Exit<ReadonlyArray<string>, StreamBackendError>> => {
      // (A bound past a host timer's reach is the core's to keep: see `Timeout.fitsTimer`.)
      if (
        backend.boundsAppends === true &&
        clock === Timeout.liveClock &&
        Timeout.fitsTimer(publishTimeoutMillis)
      ) {
        // Called here, in the step that runs it; a backend that throws is a defect like one it raises.
        try {
          return Effect.exit(
            backend.append(stream, [body], { maxlen: config.maxlen, timeoutMillis: publishTimeoutMillis })
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
          duration: config.publishTimeout,
          millis: publishTimeoutMillis,
          onTimeout: noAnswer,
          onExit: (exit) => resume(Effect.succeed(exit))
        })
        return Effect.sync(started.interrupt)
      })
    }

    /** The direct append is done (or its caller gone): the writer is told if items wait behind it. */
    const directDone = Effect.sync(() => {
      outbox.inFlight--
      outbox.batchesInFlight--
      pump()
    })

    /**
     * An awaited publish sent on its own, in the caller's fiber, in a few steps (the event made and
     * encoded in one, the metrics updated in the step that answers): one round trip, and the CPU spent
     * on top of it adds to it in full (awaited publishes on Redis, bench machine: 160 µs each with a
     * fiber and timer of the bus's own, 115 µs without; plain ioredis 105 µs). It counts as a batch
     * in flight, so that publishes meanwhile wait in the outbox behind it.
     */
    const direct = (
      body: string,
      fiber: Fiber.RuntimeFiber<unknown, unknown>
    ): Effect.Effect<PublishResult.PublishResult> => {
      const clock = Context.get(fiber.getFiberRef(DefaultServices.currentServices), Clock.Clock)
      const start = Timeout.millisBy(clock)
      outbox.inFlight++
      outbox.batchesInFlight++
      return Effect.ensuring(
        Effect.flatMap(appendWithin(body, clock), (exit) =>
          Exit.isSuccess(exit) ? written(exit.value[0] ?? "", start, clock) : failedWith(exit.cause)
        ),
        directDone
      )
    }

    // ---- awaited publish, through the outbox -------------------------------------------------

    /** Tickets in deadline order (all have the same bound), for the expirer. */
    let tickets: Array<Outbox.Ticket> = []
    let ticketsHead = 0
    const ticketQueued = new Outbox.Signal()

    const notSent = () =>
      notWritten(
        "NotSent",
        `the bound of ${publishTimeoutMillis} ms ran out while it waited to be sent (a burst, or events published before it still unwritten): not written`
      )

    /** A ticket's bound ran out: not sent, or sent and unanswered. */
    const expire = (ticket: Outbox.Ticket): void => {
      if (ticket.state === Outbox.Waiting) {
        outbox.ticketAnsweredWhileWaiting()
        ticket.answer(notSent())
      } else if (ticket.state === Outbox.Sent) {
        ticket.answer(notWritten("Timeout", `no answer within ${publishTimeoutMillis} ms`))
      }
    }

    /**
     * Answers tickets whose bound ran out, in deadline order: one sleep at a time, for the oldest
     * ticket not yet answered (most are answered before their deadline, and skipped when it comes).
     */
    const expirer = Effect.gen(function* () {
      // The time before the event loop last ran: tickets due by then have had their replies read.
      let yieldedAt = Number.NEGATIVE_INFINITY
      while (true) {
        while (ticketsHead < tickets.length && tickets[ticketsHead]!.state === Outbox.Answered) ticketsHead++
        if (ticketsHead === tickets.length) {
          tickets = []
          ticketsHead = 0
          yield* ticketQueued.wait
          continue
        }
        if (ticketsHead > 1024 && ticketsHead * 2 > tickets.length) {
          tickets = tickets.slice(ticketsHead)
          ticketsHead = 0
        }
        const next = tickets[ticketsHead]!
        const left = next.deadline - layerClock.unsafeCurrentTimeMillis()
        if (left > 0) {
          yield* Effect.sleep(Duration.millis(left))
          continue
        }
        // A timer runs before the event loop reads its sockets: on a busy process the answer of a
        // ticket sent may be there, unread. The loop runs once (replies are read) before tickets are
        // told that no answer came: under a burst of 20,000 publishes, 10,001 Timeouts without this.
        if (next.state === Outbox.Sent && next.deadline > yieldedAt) {
          yieldedAt = layerClock.unsafeCurrentTimeMillis()
          yield* Timeout.yieldToHost
          continue
        }
        ticketsHead++
        expire(next)
      }
    })

    const overloaded = (why: string) => notWritten("Overloaded", `${why}: not written`)

    /** Queues an awaited publish as a ticket, answered when its batch is (or by its bound). */
    const enqueue = (body: string): Effect.Effect<PublishResult.PublishResult> =>
      Effect.async<PublishResult.PublishResult>((resume) => {
        if (outbox.full) {
          resume(overloaded(`the outbox is full (${config.bufferCapacity} events waiting or in flight)`))
          return
        }
        const ticket = new Outbox.Ticket(
          body,
          layerClock.unsafeCurrentTimeMillis() + publishTimeoutMillis,
          Timeout.millisBy(layerClock),
          resume
        )
        outbox.push(ticket)
        queued()
        tickets.push(ticket)
        if (tickets.length - ticketsHead === 1) ticketQueued.signal()
        // A caller that gives up while it waits sends nothing; once sent, its outcome is ignored.
        return Effect.sync(() => {
          if (ticket.abandon() === Outbox.Waiting) outbox.ticketAnsweredWhileWaiting()
        })
      })

    /**
     * Whether awaited publishes are arriving together (the last batch answered held several): then
     * one finding the outbox idle waits for the end of the step with the others rather than going
     * alone (100 fibers publishing awaited: every other round trip carried one event otherwise).
     */
    let gathering = false

    /** Answers the tickets of a batch whose append ended with `exit`. */
    const answerTickets = (
      batch: Batch,
      exit: Exit.Exit<ReadonlyArray<string>, StreamBackendError>
    ): void => {
      const tickets = batch.items.length - batch.nowait
      gathering = tickets > 1
      if (tickets === 0) return
      const ids = Exit.isSuccess(exit) ? exit.value : undefined
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      // A failed append may have written the start of the batch (`written`, with their `ids`).
      const writtenIds = ids ?? (Option.isSome(error) ? (error.value.ids ?? []) : [])
      const failure = Exit.isFailure(exit) ? failedWith(exit.cause) : undefined
      batch.items.forEach((item, i) => {
        if (typeof item === "string") return
        const id = writtenIds[i]
        if (id !== undefined) item.answer(written(id, item.start, layerClock))
        else if (failure !== undefined && Option.isSome(error) && i < (error.value.written ?? 0)) {
          // Written before the failure, its id not given: not "not written".
          item.answer(notWritten("Timeout", "written before the batch failed, but the backend gave no id"))
        } else if (failure !== undefined) item.answer(failure)
        else item.answer(notWritten("Rejected", "backend defect: the append answered fewer ids than entries"))
      })
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
     * Straight to the backend when the outbox is idle, else behind what waits (program order across
     * the two paths: the events a fiber published without waiting are written before this one).
     */
    const route = (
      body: string,
      fiber: Fiber.RuntimeFiber<unknown, unknown>
    ): Effect.Effect<PublishResult.PublishResult> =>
      closed
        ? notWritten("Closed", "the bus is closed")
        : outbox.idle && !gathering
          ? direct(body, fiber)
          : enqueue(body)

    const publish = <K extends string, P>(
      input: Event.Input<K, P>
    ): Effect.Effect<PublishResult.PublishResult> =>
      Effect.withFiberRuntime((fiber) => {
        const body = encodeIn(input, fiber)
        return typeof body === "string"
          ? route(body, fiber)
          : Effect.matchEffect(body, {
              onFailure: (why) => notWritten("Rejected", why),
              onSuccess: (text) => route(text, fiber)
            })
      })

    // ---- fire-and-forget ---------------------------------------------------------------------

    const takenNow = Effect.succeed(true)

    const drop = (n: number, why: string): Effect.Effect<void> =>
      Effect.zipRight(Metric.incrementBy(dropped, n), overflowDrops.failure(why))

    /**
     * A program publishing in a tight loop hardly lets the event loop run: Effect yields a busy fiber
     * to the microtask queue, and to the host only after 2,048 such yields in a row. The batches the
     * writer sends then wait in the process (unwritten socket data, unread answers) until the loop
     * ends, and the server idles meanwhile. So when two batches' worth of events or more are in
     * flight, the publishing fiber yields to the host's event loop (`setImmediate`, after I/O) once
     * every batch's worth of events offered (at least 64), before the event is taken (a caller
     * interrupted there has not had it taken). Figures: `docs/benchmarks.md`.
     */
    const yieldEvery = Math.max(batchSize, 64)
    let offered = 0
    let yieldedAt = 0

    /** Called in `publishNowait`'s continuation, once per event: no `Effect.suspend` needed. */
    const offer = (body: string): Effect.Effect<boolean> => {
      offered++
      if (closed || outbox.inFlight < 2 * batchSize || offered - yieldedAt < yieldEvery) return take(body)
      yieldedAt = offered
      return Effect.flatMap(Timeout.yieldToHost, () => take(body))
    }

    const take = (body: string): Effect.Effect<boolean> => {
      if (closed) return Effect.as(drop(1, "the bus is closed"), false)
      if (outbox.full) {
        // dropOldest: the oldest item waiting goes to make room (an awaited one is answered so).
        const oldest = config.overflow === "dropOldest" ? outbox.dropOldest() : undefined
        if (oldest === undefined) {
          return Effect.as(drop(1, `buffer full (${config.bufferCapacity} events)`), false)
        }
        outbox.push(body)
        queued()
        if (typeof oldest !== "string") {
          oldest.answer(
            overloaded(`dropped from the full outbox (${config.bufferCapacity} events) to make room`)
          )
          return Effect.as(
            overflowDrops.failure(`buffer full (${config.bufferCapacity} events), oldest dropped`),
            true
          )
        }
        return Effect.as(drop(1, `buffer full (${config.bufferCapacity} events), oldest dropped`), true)
      }
      outbox.push(body)
      queued()
      return overflowDrops.current() > 0 ? Effect.as(overflowDrops.success, true) : takenNow
    }

    const publishNowait = <K extends string, P>(input: Event.Input<K, P>): Effect.Effect<boolean> =>
      Effect.withFiberRuntime((fiber) => {
        const body = encodeIn(input, fiber)
        return typeof body === "string"
          ? offer(body)
          : Effect.matchEffect(body, { onFailure: (why) => Effect.as(drop(1, why), false), onSuccess: offer })
      })

    const flush: Effect.Effect<void> = Effect.suspend(() => outbox.flushUpTo(outbox.taken))

    // ---- the writer --------------------------------------------------------------------------

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
      for (let i = writtenFirst; i < batch.items.length; i++) {
        const item = batch.items[i]!
        if (typeof item === "string") pending.push(item)
      }
      batch.pending = pending
      const retried = Effect.suspend(() => backend.append(stream, batch.pending, batchAppendOptions)).pipe(
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
    // A batch failed and is not settled yet: nothing is sent meanwhile.
    let holding = false
    // `pump` is running: a batch answered at once (the memory backend) must not send from within it.
    let pumping = false

    const send = (items: Array<Outbox.Item>): void => {
      const bodies = new Array<string>(items.length)
      let nowait = 0
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!
        if (typeof item === "string") {
          bodies[i] = item
          nowait++
        } else {
          bodies[i] = item.body
          item.state = Outbox.Sent
        }
      }
      const batch: Batch = { items, bodies, nowait, pending: bodies, released: false }
      outbox.inFlight += items.length
      outbox.batchesInFlight++
      const entry: Sending = { batch, exit: undefined, started: undefined }
      // In `sending` before it starts: a backend that answers at once calls `onExit` within.
      sending.push(entry)
      entry.started = Timeout.startBounded({
        runtime,
        clock: layerClock,
        self: backend.append(stream, bodies, batchAppendOptions),
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
     * Whether a batch may be sent now: a full one while the capacity allows; a partial one while
     * fewer than `partialBatchesInFlight` are in flight, and, beside another, only if it holds at
     * least half as many events (else it waits to join the next group: two slots each carrying a
     * share of the publishers, not one carrying one publisher and the other all the rest).
     */
    const canSend = (): boolean => {
      if (holding || outbox.waiting === 0 || outbox.inFlight >= config.bufferCapacity) return false
      if (closing || outbox.waiting >= batchSize || outbox.batchesInFlight === 0) return true
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
        if (oldest === undefined && closing && outbox.waiting === 0) return
        if (oldest === undefined || oldest.exit === undefined) {
          // Nothing to settle yet: wait for a batch to finish (or closing).
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
        // Those behind are tried again at once only if the one before was written (the backend is back).
        let back = yield* finish(oldest.batch, oldest.exit, false)
        for (const entry of behind) back = yield* finish(entry.batch, entry.exit!, back)
        holding = false
        pump()
      }
    })
    // Layers are built uninterruptibly and a fiber forked there inherits that: the writer must stay
    // interruptible for the drain deadline to stop it.
    const writerFiber = yield* Effect.forkScoped(Effect.interruptible(writer))
    yield* Effect.forkScoped(Effect.interruptible(expirer))

    /** What the drain deadline left: tickets answered, events counted as dropped. */
    const abandonAll = Effect.gen(function* () {
      let left = 0
      for (const entry of sending.splice(0)) {
        entry.started?.interrupt()
        for (const item of entry.batch.items) {
          if (typeof item === "string") left++
          else item.answer(notWritten("Timeout", "the bus closed before the answer came: it may be written"))
        }
      }
      for (const item of outbox.take(outbox.waiting)) {
        if (typeof item === "string") left++
        else item.answer(notWritten("Closed", "the bus closed before it was sent"))
      }
      outbox.settle(left)
      if (left > 0) {
        yield* Metric.incrementBy(dropped, left)
        yield* Effect.logWarning(
          `EventBus closed with ${left} events unwritten: the drain deadline of ${Duration.toMillis(config.drainTimeout)} ms passed`
        ).pipe(Effect.annotateLogs(annotations))
      }
    })

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closing = true
        // What waits goes now, partial batches too; the writer wakes up to see that it is closing.
        pump()
        outbox.wake.signal()
        // Finalizers run uninterruptibly: only an interruptible wait can be cut by the deadline.
        const drained = yield* Effect.timeoutOption(
          Effect.interruptible(Fiber.await(writerFiber)),
          config.drainTimeout
        )
        closed = true
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
            if (typeof item === "string") events++
            else item.answer(notWritten("Closed", "the bus closed before it was sent"))
          }
          outbox.settle(events)
          if (events > 0) yield* drop(events, "the bus closed before they could be written")
        }
      })
    )

    return { stream, publish, publishNowait, flush } satisfies EventBusService
  })
