/**
 * The publisher behind `EventBus.make`: the two publishing paths. Both go through one outbox
 * (`outbox.ts`), in publishing order, sent in batches by the batch writer (`batchWriter.ts`), which
 * keeps several batches in flight, retries failed fire-and-forget events by a `Schedule` and
 * preserves order (but for a batch the server rejects while it accepts the ones sent behind it).
 * Tickets' bounds are kept by `ticketExpiry.ts`, the answers made by `answers.ts`.
 *
 * An awaited publish goes straight to the backend, in the caller's fiber, when the outbox is idle
 * (one publisher alone pays for nothing more); otherwise it waits in the outbox as a `Ticket` and
 * leaves in the next batch with the others (group commit: 100 fibers publishing at once share a few
 * round trips instead of paying for 100). Each ticket keeps its caller's bound: one that runs out
 * while it waits answers `NotSent`, one that runs out once sent answers `Timeout`.
 *
 * Tracing (`tracing.ts`), only where spans are wanted: an awaited publish runs in a `send` span
 * whose context its entry carries (`traceparent`); a fire-and-forget event carries the context of
 * the span it was published in, and its batch gets a `send` span of its own (see `batchWriter.ts`).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Event from "../Event.js"
import type { EventBusService, Options } from "../EventBus.js"
import * as PublishMetrics from "../PublishMetrics.js"
import type * as PublishResult from "../PublishResult.js"
import { type Appended, StreamBackend, StreamBackendError } from "../StreamBackend.js"
import * as WireCodec from "../WireCodec.js"
import * as Answers from "./answers.js"
import * as BatchWriter from "./batchWriter.js"
import * as FailureStreak from "./failureStreak.js"
import * as Outbox from "./outbox.js"
import { labelsFor, taggerFor } from "./streamMetric.js"
import * as TicketExpiry from "./ticketExpiry.js"
import * as Timeout from "./timeout.js"
import * as Tracing from "./tracing.js"

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
  propagateTrace: options.propagateTrace ?? true,
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

    // ---- answers -----------------------------------------------------------------------------

    const answers = Answers.make({ failed, writeFailures, labelsOf })
    const { notWritten, written, failedWith } = answers

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
      clock: Clock.Clock,
      traceparent: string | undefined
    ): Effect.Effect<Exit.Exit<Appended, StreamBackendError>> => {
      const traceparents = traceparent === undefined ? undefined : [traceparent]
      // (A bound past a host timer's reach is the core's to keep: see `Timeout.fitsTimer`.)
      if (
        backend.boundsAppends === true &&
        clock === Timeout.liveClock &&
        Timeout.fitsTimer(publishTimeoutMillis)
      ) {
        // Called here, in the step that runs it; a backend that throws is a defect like one it raises.
        try {
          return Effect.exit(
            backend.append(
              stream,
              [body],
              traceparents === undefined
                ? { maxlen: config.maxlen, timeoutMillis: publishTimeoutMillis }
                : { maxlen: config.maxlen, timeoutMillis: publishTimeoutMillis, traceparents }
            )
          )
        } catch (defect) {
          return Effect.succeed(Exit.die(defect))
        }
      }
      return Effect.async((resume) => {
        const started = Timeout.startBounded({
          runtime,
          clock,
          self: Effect.suspend(() =>
            backend.append(
              stream,
              [body],
              traceparents === undefined ? appendOptions : { ...appendOptions, traceparents }
            )
          ),
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
      fiber: Fiber.RuntimeFiber<unknown, unknown>,
      traceparent: string | undefined
    ): Effect.Effect<PublishResult.PublishResult> => {
      const clock = Context.get(fiber.getFiberRef(DefaultServices.currentServices), Clock.Clock)
      const start = Timeout.millisBy(clock)
      outbox.inFlight++
      outbox.batchesInFlight++
      return Effect.ensuring(
        Effect.flatMap(appendWithin(body, clock, traceparent), (exit) =>
          Exit.isSuccess(exit)
            ? written(exit.value[0] ?? "", Timeout.millisBy(clock) - start, fiber, exit.value.replicas)
            : failedWith(exit.cause)
        ),
        directDone
      )
    }

    // ---- awaited publish, through the outbox -------------------------------------------------

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

    const expiry = TicketExpiry.make(layerClock, expire)
    // Forked before the writer: it still answers tickets while the writer drains at close.
    yield* Effect.forkScoped(Effect.interruptible(expiry.run))

    const overloaded = (why: string) => notWritten("Overloaded", `${why}: not written`)

    /**
     * Queues an awaited publish as a ticket, answered when its batch is (or by its bound). No
     * canceler: a caller interrupted while its ticket waits is seen when the ticket is taken
     * (`Ticket.callerInterrupted`) and nothing is sent; once sent, its outcome is ignored. (With a
     * canceler Effect wraps every wait in `onInterrupt`: 100 fibers publishing awaited, 1.4 µs an
     * event more.)
     */
    const enqueue = (
      body: string,
      fiber: Fiber.RuntimeFiber<unknown, unknown>,
      traceparent: string | undefined
    ): Effect.Effect<PublishResult.PublishResult> =>
      Effect.async<PublishResult.PublishResult>((resume) => {
        if (outbox.full) {
          resume(overloaded(`the outbox is full (${config.bufferCapacity} events waiting or in flight)`))
          return
        }
        const start = Timeout.millisBy(layerClock)
        const ticket = new Outbox.Ticket(
          body,
          start + publishTimeoutMillis,
          start,
          fiber,
          resume,
          traceparent
        )
        outbox.push(ticket)
        queued()
        expiry.add(ticket)
      })

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
      fiber: Fiber.RuntimeFiber<unknown, unknown>,
      traceparent: string | undefined
    ): Effect.Effect<PublishResult.PublishResult> =>
      outbox.closed
        ? notWritten("Closed", "the bus is closed")
        : outbox.idle && !writer.gathering()
          ? direct(body, fiber, traceparent)
          : enqueue(body, fiber, traceparent)

    const encodeAndRoute = <K extends string, P>(
      input: Event.Input<K, P>,
      fiber: Fiber.RuntimeFiber<unknown, unknown>,
      traceparent: string | undefined
    ): Effect.Effect<PublishResult.PublishResult> => {
      const body = encodeIn(input, fiber)
      return typeof body === "string"
        ? route(body, fiber, traceparent)
        : Effect.matchEffect(body, {
            onFailure: (why) => notWritten("Rejected", why),
            onSuccess: (text) => route(text, fiber, traceparent)
          })
    }

    const destination = Tracing.destination(stream, backend.server)
    const sendName = `send ${stream}`
    const sendOptions = {
      kind: "producer",
      attributes: Tracing.operation(destination, "send", "publish"),
      captureStackTrace: false
    } as const

    /**
     * An awaited publish in a `send` span (producer), whose context the entry carries: the span
     * ends failed when the event is not written (`error.type` its reason), with the entry's id
     * (`messaging.message.id`) when it is.
     */
    const tracedPublish = <K extends string, P>(
      input: Event.Input<K, P>,
      fiber: Fiber.RuntimeFiber<unknown, unknown>
    ): Effect.Effect<PublishResult.PublishResult> =>
      Effect.merge(
        Effect.useSpan(sendName, sendOptions, (span) =>
          Effect.flatMap(
            Effect.withParentSpan(
              encodeAndRoute(
                input,
                fiber,
                config.propagateTrace ? Tracing.formatTraceparent(span) : undefined
              ),
              span
            ),
            (result): Effect.Effect<PublishResult.PublishResult, PublishResult.PublishResult> => {
              if (result._tag === "Written") {
                span.attribute("messaging.message.id", result.id)
                return Effect.succeed(result)
              }
              span.attribute("error.type", result.reason)
              return Effect.fail(result)
            }
          )
        )
      )

    const publish = <K extends string, P>(
      input: Event.Input<K, P>
    ): Effect.Effect<PublishResult.PublishResult> =>
      Effect.withFiberRuntime((fiber) =>
        Tracing.spansWanted(fiber) ? tracedPublish(input, fiber) : encodeAndRoute(input, fiber, undefined)
      )

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
    const offer = (body: string | Outbox.Traced): Effect.Effect<boolean> => {
      offered++
      if (outbox.closed || outbox.inFlight < 2 * batchSize || offered - yieldedAt < yieldEvery)
        return take(body)
      yieldedAt = offered
      return Effect.flatMap(Timeout.yieldToHost, () => take(body))
    }

    const take = (body: string | Outbox.Traced): Effect.Effect<boolean> => {
      if (outbox.closed) return Effect.as(drop(1, "the bus is closed"), false)
      if (outbox.full) {
        // dropOldest: the oldest item waiting goes to make room (an awaited one is answered so).
        const oldest = config.overflow === "dropOldest" ? outbox.dropOldest() : undefined
        if (oldest === undefined) {
          return Effect.as(drop(1, `buffer full (${config.bufferCapacity} events)`), false)
        }
        outbox.push(body)
        queued()
        if (!Outbox.isNowait(oldest)) {
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

    /**
     * A fire-and-forget event published where spans are wanted: it carries the context of the span
     * it was published in (the context at the call; its batch's `send` span links to that span).
     */
    const traced = (body: string, fiber: Fiber.RuntimeFiber<unknown, unknown>): Outbox.Traced => {
      const span = Tracing.currentSpan(fiber)
      const traceparent =
        span !== undefined && config.propagateTrace ? Tracing.formatTraceparent(span) : undefined
      return new Outbox.Traced(body, traceparent, span, Tracing.tracerOf(fiber))
    }

    const publishNowait = <K extends string, P>(input: Event.Input<K, P>): Effect.Effect<boolean> =>
      Effect.withFiberRuntime((fiber) => {
        const body = encodeIn(input, fiber)
        const wanted = Tracing.spansWanted(fiber)
        return typeof body === "string"
          ? offer(wanted ? traced(body, fiber) : body)
          : Effect.matchEffect(body, {
              onFailure: (why) => Effect.as(drop(1, why), false),
              onSuccess: (text) => offer(wanted ? traced(text, fiber) : text)
            })
      })

    const flush: Effect.Effect<void> = Effect.suspend(() => outbox.flushUpTo(outbox.taken))

    // ---- the writer --------------------------------------------------------------------------

    const writer = yield* BatchWriter.make({
      backend,
      runtime,
      clock: layerClock,
      stream,
      outbox,
      config,
      answers,
      metrics: { published, failed, dropped, buffered },
      writeFailures,
      drop,
      annotations
    })
    const { queued, pump } = writer

    return { stream, publish, publishNowait, flush } satisfies EventBusService
  })
