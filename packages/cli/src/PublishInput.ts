/**
 * `publish --input`: events read one per line and published in order through the bus's
 * fire-and-forget path, and an honest count of what was written.
 *
 * The fire-and-forget path answers nothing per event, so the counts come from the bus's own metrics
 * (`PublishMetrics.published` and `dropped`, tagged with each key it writes to), read once the bus
 * is closed: every event it took is then either written or given up. The buffer is never let overflow: events
 * go in windows of half its capacity, and a window is sent only once the one before the last is
 * settled (`flush`), so reading waits for the server rather than dropping.
 *
 * @since 0.3.0
 */
import { EventBus, PublishMetrics } from "@maf/events"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as EventLine from "./EventLine.js"

/**
 * The default of `--drain-timeout`: long enough to ride out a failover (Sentinel's and a Cluster's
 * take seconds) or a restart of the server.
 *
 * @since 0.3.0
 * @category constants
 */
export const defaultDrainTimeoutMillis = 30_000

/**
 * The bus's buffer: events waiting or in flight at most (the memory bound of a run).
 *
 * @since 0.3.0
 * @category constants
 */
export const bufferCapacity = 10_000

/**
 * The bus's own drain deadline as it closes, once the command's wait is over: batches in flight get
 * this long to be answered before they are counted as not written.
 *
 * @since 0.3.0
 * @category constants
 */
export const closingGrace: Duration.Duration = Duration.seconds(1)

/**
 * What a run did, printed as one JSON line: `written` and `not_written` (bad lines, events the bus
 * gave up, events never sent), then the details.
 *
 * @since 0.3.0
 * @category models
 */
export interface Summary {
  /** Events written to the stream. */
  readonly written: number
  /** Events not written: `bad_lines + dropped + unsent`. */
  readonly not_written: number
  /** Lines read (blank ones included). */
  readonly lines: number
  /** Lines that were not an event (numbered on stderr). */
  readonly bad_lines: number
  /** Gap notices of a `tail` export, which are not events. */
  readonly skipped: number
  /** Events given to the bus and given up by it (the drain deadline passed with them unwritten). */
  readonly dropped: number
  /** Events read after the command gave up (the server took nothing for the drain deadline): never sent. */
  readonly unsent: number
  /** The line from which events were no longer sent, when the command gave up. */
  readonly gave_up_at_line?: number
  /** Why the input could not be read to its end, when it could not. */
  readonly input_error?: string
  /** From the first line read to the bus closed. */
  readonly elapsed_ms: number
}

/**
 * Options of {@link publishLines}.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** The keys the bus writes to (a partitioned stream's partition keys), which tag its metrics. */
  readonly keys: ReadonlyArray<string>
  /** The bus; its `bufferCapacity` must be `capacity`. Closed before the counts are read. */
  readonly bus: Layer.Layer<EventBus.EventBus>
  /** The bus's `bufferCapacity`. */
  readonly capacity: number
  /** How long to wait for the server to take what it was given: for room mid-input, and at the end. */
  readonly drainTimeout: Duration.DurationInput
  /** Told of each line that is not an event (its number from 1, and why). */
  readonly onBadLine: (line: number, reason: string) => Effect.Effect<void>
  /** Told when the command gives up waiting for room mid-input, and from which line. */
  readonly onGiveUp: (line: number) => Effect.Effect<void>
  /** Told when the deadline at the end passes with events unwritten. */
  readonly onDrainTimeout: Effect.Effect<void>
}

/** The count of a publisher metric over the keys, in this process. */
const countOf = (metric: Metric.Metric.Counter<number>, keys: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.reduce(keys, 0, (sum, key) =>
    Effect.map(Metric.value(Metric.tagged(metric, "stream", key)), (state) => sum + state.count)
  )

/**
 * Publishes the events of `lines` (text lines without their newline), in order, and answers the
 * {@link Summary} once the bus is closed. A failure of the input ends the reading: what was read is
 * published and the failure is in `input_error`.
 *
 * @since 0.3.0
 * @category publishing
 */
export const publishLines = (
  lines: Stream.Stream<string, string>,
  options: Options
): Effect.Effect<Summary> =>
  Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis
    const drain = Duration.decode(options.drainTimeout)
    const writtenBefore = yield* countOf(PublishMetrics.published, options.keys)
    const droppedBefore = yield* countOf(PublishMetrics.dropped, options.keys)
    const window = Math.max(1, Math.floor(options.capacity / 2))
    let lineNumber = 0
    let offered = 0
    let bad = 0
    let skipped = 0
    let unsent = 0
    let gaveUpAt: number | undefined
    let inputError: string | undefined

    yield* Effect.scoped(
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const scope = yield* Scope.Scope
        let inWindow = 0
        // The flush of the window sent before the current one.
        let previous: Fiber.RuntimeFiber<void> | undefined

        /** A window is full: wait (bounded) for the one before to settle, then mark this one. */
        const nextWindow = Effect.gen(function* () {
          if (previous !== undefined) {
            const settled = yield* Effect.timeoutOption(Fiber.join(previous), drain)
            if (Option.isNone(settled)) {
              gaveUpAt = lineNumber + 1
              return yield* options.onGiveUp(gaveUpAt)
            }
          }
          previous = yield* Effect.forkIn(bus.flush, scope)
          inWindow = 0
        })

        const handle = (text: string): Effect.Effect<void> => {
          lineNumber++
          if (text.trim() === "") return Effect.void
          const decoded = EventLine.decode(text)
          switch (decoded._tag) {
            case "Gap":
              skipped++
              return Effect.void
            case "Bad":
              bad++
              return options.onBadLine(lineNumber, decoded.reason)
            case "Event":
              if (gaveUpAt !== undefined) {
                unsent++
                return Effect.void
              }
              offered++
              inWindow++
              return inWindow >= window
                ? Effect.zipRight(bus.publishNowait(decoded.input), nextWindow)
                : bus.publishNowait(decoded.input)
          }
        }

        yield* Stream.runForEach(lines, handle).pipe(
          Effect.catchAll((error) =>
            Effect.sync(() => {
              inputError = error
            })
          )
        )
        // At the end: everything written, or the deadline (the bus gives the rest up as it closes).
        if (gaveUpAt === undefined && Option.isNone(yield* Effect.timeoutOption(bus.flush, drain))) {
          yield* options.onDrainTimeout
        }
      }).pipe(Effect.provide(options.bus))
    )

    const written = (yield* countOf(PublishMetrics.published, options.keys)) - writtenBefore
    const dropped = Math.max(
      (yield* countOf(PublishMetrics.dropped, options.keys)) - droppedBefore,
      offered - written
    )
    const ended = yield* Clock.currentTimeMillis
    return {
      written,
      not_written: bad + dropped + unsent,
      lines: lineNumber,
      bad_lines: bad,
      skipped,
      dropped,
      unsent,
      ...(gaveUpAt !== undefined ? { gave_up_at_line: gaveUpAt } : {}),
      ...(inputError !== undefined ? { input_error: inputError } : {}),
      elapsed_ms: ended - started
    }
  })
