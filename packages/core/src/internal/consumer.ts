/**
 * The member loop behind `EventConsumer.consume` (and, through a handler that hands messages out,
 * `EventConsumer.stream`): one loop reads new entries and claims stale ones (neither starves the
 * other: a claim scan runs whenever one is due, before the read), within the free concurrency, once
 * all it read has started; `concurrency` worker fibers (`consumerWorkers.ts`, which owns what the
 * member holds) take the entries in the order read, each settling one at a time (ack, retry, dead
 * letter); one fiber renews the member's hold on what it
 * holds; one batches the acks (`consumerAcks.ts`). After each full claim scan the group's info
 * updates the gauges and drives housekeeping (`consumerHousekeeping.ts`).
 *
 * Tracing (`tracing.ts`), only where spans are wanted: each handler runs in a `process` span
 * (consumer) linking to (or, with `parentOnProducer`, a child of) the producer's span its entry
 * carries; each batch of acks and each dead letter is a `settle` span.
 *
 * @internal
 */

import * as Arr from "effect/Array"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as ConsumerMetrics from "../ConsumerMetrics.js"
import type * as Event from "../Event.js"
import type { Delivery, Gap, MemberOptions, Message, Outcome } from "../EventConsumer.js"
import type {
  GroupBackendError,
  GroupBackendService,
  GroupCursor,
  GroupEntry,
  MissingGroup
} from "../GroupBackend.js"
import { StreamBackendError } from "../StreamBackend.js"
import * as Acks from "./consumerAcks.js"
import * as Housekeeping from "./consumerHousekeeping.js"
import { errorText, type MemberConfig, resolve, shortened } from "./consumerOptions.js"
import * as Spans from "./consumerSpans.js"
import { type Held, Workers } from "./consumerWorkers.js"
import * as FailureStreak from "./failureStreak.js"
import * as Retry from "./retry.js"
import * as Tracing from "./tracing.js"

/**
 * What a handler may answer besides an `Outcome`: let the entry go, unsettled (it stays pending for
 * a claim). The stream form answers it for messages handed out and never settled before its end.
 */
export const Release: { readonly _tag: "Release" } = { _tag: "Release" }

/**
 * The bound on opening a member's cursor (its own connection), past a connection's own time-out
 * (2 s by default on Redis); tried again by the failure schedule when it runs out.
 */
const openCursorMillis = 5_000

/** A member's handler, as the loop runs it. */
export type MemberHandler<E extends Event.Any, R> = (
  message: Message<E>
) => Effect.Effect<Outcome | typeof Release | void, unknown, R>

/** `T` with its fields writable. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** A handler's exit, as its entry's settlement takes it. */
type HandlerExit<E extends Event.Any, R> = Exit.Exit<
  Effect.Effect.Success<ReturnType<MemberHandler<E, R>>>,
  unknown
>

/** @internal */
export const consume = <E extends Event.Any, R>(
  groups: GroupBackendService,
  options: MemberOptions<E>,
  handler: MemberHandler<E, R>,
  /** Told when the member starts closing (a partitioned member's handlers that have not started yet stop waiting). */
  onClosing?: () => void
): Effect.Effect<never, GroupBackendError | MissingGroup, R> =>
  Effect.scoped(
    Effect.gen(function* () {
      const config: MemberConfig<E> = yield* Effect.try({
        try: () => resolve(options),
        catch: (e) => e
      }).pipe(Effect.orDie)
      const { stream, group, consumer, codec } = config
      const annotations = { stream, group, consumer }
      const tag = <M extends Metric.Metric<any, any, any>>(metric: M): M =>
        Metric.tagged(Metric.tagged(metric, "stream", stream), "group", group) as M
      const retriedCounter = tag(ConsumerMetrics.retried)
      const deadCounter = tag(ConsumerMetrics.deadLettered)
      const claimedCounter = tag(ConsumerMetrics.claimed)
      const lostCounter = tag(ConsumerMetrics.lost)
      const missingCounter = tag(ConsumerMetrics.missingGroup)
      const pendingGauge = tag(ConsumerMetrics.pending)
      const lagGauge = tag(ConsumerMetrics.lag)
      const failures = FailureStreak.make("EventConsumer", annotations)
      // The labels `Metric.update` of a tagged metric gives (its tags, then the fiber's), made once
      // for the updates of every entry: a tagged update makes a new key each time (5 % of the
      // member's CPU in helper E's profile).
      const labels = Arr.union(
        [MetricLabel.make("stream", stream), MetricLabel.make("group", group)],
        yield* FiberRef.get(FiberRef.currentMetricLabels)
      )
      const clock = yield* Effect.clock

      const {
        on: spansOn,
        settling,
        processing
      } = yield* Spans.make<E>({
        stream,
        group,
        server: groups.server,
        parentOnProducer: config.parentOnProducer
      })

      const acks = yield* Acks.make((ids) =>
        settling(groups.ack(stream, group, ids), "ack", { "messaging.batch.message_count": ids.length }).pipe(
          Effect.retry(config.failureSchedule),
          Effect.map((n) => ConsumerMetrics.acked.unsafeUpdate(n, labels)),
          Effect.catchAll((error) =>
            failures.failure(`ack of ${ids.length} entries failed (${error.message}); they stay pending`)
          )
        )
      )

      // ---- what the handler is given
      const deliveryOf = (entry: GroupEntry): Delivery<E> => {
        const decoded = codec.decode(entry.id, entry.fields)
        // An entry of `data` alone (every untraced one) is not looked at again.
        const producer =
          entry.fields.length > 2 && config.propagateTrace ? Tracing.producerOf(entry) : undefined
        // Written onto the decoded result rather than `Object.assign` of a literal: no second object an entry.
        const delivery = decoded as Mutable<Delivery<E>>
        delivery.stream = stream
        delivery.group = group
        delivery.consumer = consumer
        delivery.deliveryCount = entry.deliveryCount
        if (producer !== undefined) delivery.producerSpan = producer
        return delivery
      }
      const gapOf = (ids: ReadonlyArray<string>): Gap => ({
        _tag: "Gap",
        streamId: ids[0]!,
        ids,
        lost: ids.length,
        stream,
        group,
        consumer
      })

      // Runs the handler and goes on with its exit, measured whatever its outcome (a failure's
      // duration too) by the member's clock; in a worker, which has the member's context (no
      // `Effect.provide` an entry).
      const runHandler = <A>(
        message: Message<E>,
        then: (exit: HandlerExit<E, R>) => Effect.Effect<A, never, R>
      ): Effect.Effect<A, never, R> =>
        Effect.suspend(() => {
          const startedAt = clock.unsafeCurrentTimeNanos()
          return measured(
            processing(
              message,
              Effect.suspend(() => handler(message))
            ),
            startedAt,
            then
          )
        })
      /** The handler's run, its duration measured from `startedAt`, whatever its outcome, then `then`. */
      const measured = <A>(
        run: ReturnType<MemberHandler<E, R>>,
        startedAt: bigint,
        then: (exit: HandlerExit<E, R>) => Effect.Effect<A, never, R>
      ): Effect.Effect<A, never, R> =>
        Effect.matchCauseEffect(run, {
          onFailure: (cause) => {
            measure(startedAt)
            return then(Exit.failCause(cause))
          },
          onSuccess: (said) => {
            measure(startedAt)
            return then(Exit.succeed(said))
          }
        })
      const measure = (startedAt: bigint) =>
        ConsumerMetrics.handlerDuration.unsafeUpdate(
          Number(clock.unsafeCurrentTimeNanos() - startedAt) / 1e6,
          labels
        )

      const handleGap = (ids: ReadonlyArray<string>) =>
        ids.length === 0
          ? Effect.void
          : Effect.all(
              [
                Metric.incrementBy(lostCounter, ids.length),
                Effect.logWarning(
                  `EventConsumer: ${ids.length} pending entries were removed from the stream before they were handled (first ${ids[0]}); they leave the pending list`
                ).pipe(Effect.annotateLogs(annotations)),
                // What the handler says of a gap changes nothing: there is nothing to acknowledge.
                runHandler(gapOf(ids), () => Effect.void)
              ],
              // Stryker disable next-line ObjectLiteral,BooleanLiteral: the results are dropped (a void effect)
              { discard: true }
            )

      const deadLetter = (entry: GroupEntry, error: string) =>
        settling(
          groups.deadLetter(stream, group, consumer, entry.id, {
            deadStream: config.deadLetterStream,
            maxlen: 0,
            fields: [
              "original_id",
              entry.id,
              "group",
              group,
              "consumer",
              consumer,
              "delivery_count",
              String(entry.deliveryCount),
              "error",
              shortened(error)
            ]
          }),
          "dead_letter",
          { "messaging.message.id": entry.id }
        ).pipe(
          Effect.retry(config.failureSchedule),
          Effect.flatMap((outcome) =>
            outcome === "moved"
              ? Effect.zipRight(
                  Metric.increment(deadCounter),
                  Effect.logWarning(
                    `EventConsumer: entry ${entry.id} moved to ${config.deadLetterStream} after ${entry.deliveryCount} ${entry.deliveryCount === 1 ? "delivery" : "deliveries"}: ${error}`
                  ).pipe(Effect.annotateLogs(annotations))
                )
              : outcome === "deleted"
                ? handleGap([entry.id])
                : Effect.void
          ),
          Effect.catchAll((e) =>
            failures.failure(`dead letter of ${entry.id} failed (${e.message}); it stays pending`)
          )
        )

      /** The retry schedule's delay for the `n`th failure of an entry; none once it has ended. */
      const delayOf = (n: number) => Retry.delayAt(config.retrySchedule, n)

      /**
       * Handles one entry to its end: acked, dead-lettered, retried until one of those, or let go;
       * `undefined` when that end was reached at once (see {@link Workers}: the worker goes on to its
       * next entry in the same step).
       *
       * A handler whose effect is already complete when it returns it (`Effect.void`,
       * `Effect.succeed`, `Effect.fail`: an `Exit`) and no span wanted is settled here without a turn
       * of the runtime: the same outcome, duration and metrics, some ten steps an entry fewer. A
       * handler that does its work in an effect (`Effect.sync`, a service's call) runs through
       * `matchCauseEffect` as before.
       */
      const settle = (state: Held): Effect.Effect<void, never, R> | undefined => {
        const first = state.entry
        ConsumerMetrics.handled.unsafeUpdate(1, labels)
        const message = deliveryOf(first)
        if (spansOn || (config.parentOnProducer && message.producerSpan !== undefined)) {
          return runHandler(message, afterExit(first, 0))
        }
        const startedAt = clock.unsafeCurrentTimeNanos()
        let run: ReturnType<MemberHandler<E, R>>
        try {
          run = handler(message)
        } catch (defect) {
          // As `Effect.suspend` of the call would: a throw is a defect.
          run = Exit.die(defect)
        }
        if (!Exit.isExit(run)) return measured(run, startedAt, afterExit(first, 0))
        measure(startedAt)
        const rest = afterExit(first, 0)(run as HandlerExit<E, R>)
        return rest === Effect.void ? undefined : rest
        /** What the handler's exit does to the entry, at its `failed + 1`th handling. */
        function afterExit(entry: GroupEntry, failed: number) {
          return (exit: HandlerExit<E, R>): Effect.Effect<void, never, R> => {
            if (state.lost) return Effect.void
            // A success acknowledges, whatever it gives, unless it says Retry, DeadLetter or Release.
            const said: unknown = Exit.isSuccess(exit) ? exit.value : undefined
            if (said === Release) return Effect.void
            const outcome =
              typeof said === "object" && said !== null && "_tag" in said ? (said as Outcome) : undefined
            if (Exit.isSuccess(exit) && outcome?._tag !== "Retry" && outcome?._tag !== "DeadLetter") {
              acks.offer(entry.id)
              return Effect.void
            }
            if (outcome !== undefined && outcome._tag === "DeadLetter")
              return deadLetter(entry, outcome.reason)
            // Deleted from the stream while it was handled: nothing to retry or dead-letter.
            if (state.removed) return handleGap([entry.id])
            const error = Exit.isFailure(exit) ? errorText(exit.cause) : "the handler asked for a retry"
            if (config.maxDeliveries > 0 && entry.deliveryCount >= config.maxDeliveries) {
              return deadLetter(entry, error)
            }
            // Shutting down: not retried here; it stays pending, for a claim.
            if (workers.closing) return Effect.void
            const after = outcome !== undefined && outcome._tag === "Retry" ? outcome.after : undefined
            return Effect.flatMap(
              after === undefined ? delayOf(failed + 1) : Effect.succeed(Option.some(Duration.decode(after))),
              (delay) =>
                Option.isSome(delay)
                  ? retry(entry, failed + 1, delay.value)
                  : deadLetter(entry, `${error} (the retry schedule ended)`)
            )
          }
        }
        function step(entry: GroupEntry, failed: number): Effect.Effect<void, never, R> {
          return Effect.suspend(() => {
            ConsumerMetrics.handled.unsafeUpdate(1, labels)
            return runHandler(deliveryOf(entry), afterExit(entry, failed))
          })
        }
        function retry(
          entry: GroupEntry,
          failed: number,
          delay: Duration.Duration
        ): Effect.Effect<void, never, R> {
          return Effect.suspend(() => {
            // A renewal found it deleted after its handler's outcome was looked at: nothing to retry.
            if (state.removed) return handleGap([entry.id])
            // Waiting from here until the redelivery answers: a renewal that finds it deleted in
            // that time (its XCLAIM drops it from the pending list, so the redelivery finds it no
            // longer held) reports the gap and ends this retry.
            state.waiting = true
            return Effect.sleep(delay).pipe(
              Effect.zipRight(
                groups
                  .redeliver(stream, group, consumer, [entry.id])
                  .pipe(Effect.retry(config.failureSchedule))
              ),
              Effect.ensuring(
                Effect.sync(() => {
                  state.waiting = false
                })
              ),
              Effect.flatMap((again) => {
                const next = again.entries[0]
                if (next !== undefined)
                  return Effect.zipRight(Metric.increment(retriedCounter), step(next, failed))
                // Not held any more: deleted (said by the redelivery, or by a renewal answered just
                // before it), else another member claimed it and settles it.
                return handleGap(state.removed ? [entry.id] : again.deleted)
              }),
              Effect.catchAll((e) =>
                failures.failure(`retry of ${entry.id} failed (${e.message}); it stays pending for a claim`)
              )
            )
          })
        }
      }

      const workers = yield* Workers.make<R>(config.concurrency, settle)
      const held = workers.held

      /**
       * Starts entries just read or claimed. A claim scan can take back what this member still holds
       * or has handled with its ack on its way (its lease lapsed while a renewal failed): those are
       * settled by their handling and their ack, never handed out a second time.
       */
      const start = (entries: ReadonlyArray<GroupEntry>, claimed: boolean): Effect.Effect<void, never, R> =>
        Effect.suspend(() => {
          const live: Array<GroupEntry> = []
          const dead: Array<GroupEntry> = []
          for (const entry of entries) {
            if (claimed && (workers.holds(entry.id) || acks.has(entry.id))) continue
            if (config.maxDeliveries > 0 && entry.deliveryCount > config.maxDeliveries) dead.push(entry)
            else live.push(entry)
          }
          workers.hold(live)
          // Delivered past the limit without an outcome: members died holding them.
          return Effect.forEach(
            dead,
            (entry) =>
              deadLetter(
                entry,
                `delivered ${entry.deliveryCount} times without an outcome (its members stopped while handling it)`
              ),
            // Stryker disable next-line ObjectLiteral,BooleanLiteral: the results are dropped (a void effect)
            { discard: true }
          )
        })

      // ---- the lease: renewed every third of minIdle; an entry another member took is let go.
      const leaseMillis = Math.max(1, Math.floor(config.minIdleMillis / 3))
      // What is handled and its ack not yet answered is renewed too: a slow XACK must not let it be claimed.
      const renewOnce = Effect.suspend(() => {
        const ids = [...new Set([...held.keys(), ...acks.unacknowledged()])]
        if (ids.length === 0) return Effect.void
        return Effect.flatMap(groups.renew(stream, group, consumer, ids), ({ renewed, deleted }) => {
          const still = new Set(renewed)
          const removed = new Set(deleted)
          return Effect.forEach(
            ids,
            (id) => {
              const state = held.get(id)
              if (still.has(id) || state === undefined) return Effect.void
              if (removed.has(id)) {
                // Deleted from the stream: a running handler finishes (its ack is harmless), a failed
                // entry waiting for its retry (its delay or its redelivery) is a gap now.
                state.removed = true
                if (!state.waiting || state.fiber === undefined) return Effect.void
                state.lost = true
                return Effect.zipRight(Fiber.interrupt(state.fiber), handleGap([id]))
              }
              state.lost = true
              return Effect.zipRight(
                Effect.logWarning(
                  `EventConsumer: entry ${id} is no longer held by this member (another member claimed it) while it was handled here; its handler is interrupted and its outcome dropped`
                ).pipe(Effect.annotateLogs(annotations)),
                // Its worker is told at once: it is still on this entry (it lets go of it before the next).
                state.fiber === undefined ? Effect.void : Fiber.interruptAsFork(state.fiber, FiberId.none)
              )
            },
            // Stryker disable next-line ObjectLiteral,BooleanLiteral: the results are dropped (a void effect)
            { discard: true }
          )
        })
      })
      const lease = Effect.forever(
        Effect.zipRight(
          Effect.sleep(Duration.millis(leaseMillis)),
          Effect.catchAll(renewOnce, (e) => failures.failure(`lease renewal failed (${e.message})`))
        )
      )

      // ---- the group
      const ensureGroup = groups.create(stream, group, config.from)
      let missingStreak = 0
      const onMissing = (error: MissingGroup): Effect.Effect<void, MissingGroup | GroupBackendError> => {
        missingStreak++
        const first = missingStreak === 1
        const policy: Effect.Effect<unknown, MissingGroup | GroupBackendError> =
          config.onMissingGroup === "fail" ? Effect.fail(error) : ensureGroup
        return Effect.zipRight(
          Effect.all(
            [
              Metric.increment(missingCounter),
              first
                ? Effect.logWarning(
                    `EventConsumer: the group is missing (${error.message}); ${config.onMissingGroup === "recreate" ? `making it again from ${config.from}` : "failing"}`
                  ).pipe(Effect.annotateLogs(annotations))
                : Effect.void
            ],
            // Stryker disable next-line ObjectLiteral,BooleanLiteral: the results are dropped (a void effect)
            { discard: true }
          ),
          Effect.asVoid(policy)
        )
      }

      // ---- the gauges and housekeeping, after each full claim scan
      const housekeep = Housekeeping.make({
        groups,
        stream,
        group,
        consumer,
        removeIdleAfterMillis: config.removeIdleAfterMillis,
        removed: tag(ConsumerMetrics.consumersRemoved),
        failures,
        annotations
      })
      // Its failure fails nothing else: the gauges and housekeeping wait for the next scan. A member
      // too busy to claim (nothing free) still updates the gauges when a scan is due, without
      // housekeeping (which follows a claim scan).
      const claimEveryMillis = Math.max(1, Math.floor(config.minIdleMillis / 2))
      let gaugesDueAt = 0
      const readInfo = (housekeeping: boolean) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          gaugesDueAt = now + claimEveryMillis
          return Effect.flatMap(groups.info(stream, group), (info) =>
            Effect.all(
              [
                Metric.set(pendingGauge, info.pending),
                // Redis 7.0 cannot always tell the lag: the gauge keeps its last known value meanwhile.
                info.lag === undefined ? Effect.void : Metric.set(lagGauge, info.lag),
                housekeeping ? housekeep(info) : Effect.void
              ],
              // Stryker disable next-line ObjectLiteral,BooleanLiteral: the results are dropped (a void effect)
              { discard: true }
            )
          ).pipe(Effect.catchAll((e) => failures.failure(`reading the group's info failed (${e.message})`)))
        })

      // ---- the loop: claim when due, then read new entries, within what this member can start.
      let cursor: { readonly scope: Scope.CloseableScope; readonly cursor: GroupCursor } | undefined
      const closeCursor = Effect.suspend(() => {
        const open = cursor
        cursor = undefined
        return open === undefined ? Effect.void : Scope.close(open.scope, Exit.void)
      })
      const cursorNow = Effect.suspend(() =>
        cursor !== undefined
          ? Effect.succeed(cursor.cursor)
          : Effect.flatMap(Scope.make(), (scope) =>
              Scope.extend(groups.openCursor, scope).pipe(
                // A connection that never answers (a network gone silent) must not hold the member
                // for good: opening is bounded as a read is, and tried again by the schedule.
                Effect.timeoutFail({
                  duration: Duration.millis(openCursorMillis),
                  onTimeout: () =>
                    new StreamBackendError({
                      reason: "Timeout",
                      message: `the group cursor was not opened within ${openCursorMillis} ms`
                    })
                }),
                Effect.tap((opened) => {
                  cursor = { scope, cursor: opened }
                }),
                Effect.onError(() => Scope.close(scope, Exit.void))
              )
            )
      )
      let claimFrom = "0-0"
      let claimDueAt = 0
      const claimOnce = (free: number, now: number) =>
        Effect.flatMap(
          groups.claim(stream, group, consumer, {
            minIdleMillis: config.minIdleMillis,
            start: claimFrom,
            count: free
          }),
          (claimed) => {
            claimFrom = claimed.next
            // A scan that went round waits for the next due time; one cut short goes on next turn.
            if (claimed.next === "0-0") claimDueAt = now + claimEveryMillis
            return Effect.all(
              [
                Metric.incrementBy(claimedCounter, claimed.entries.length),
                handleGap(claimed.deleted),
                start(claimed.entries, true),
                claimed.next === "0-0" ? readInfo(true) : Effect.void
              ],
              // Stryker disable next-line ObjectLiteral,BooleanLiteral: the results are dropped (a void effect)
              { discard: true }
            )
          }
        )
      const turn: Effect.Effect<void, GroupBackendError, R> = Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        // Reads again once all it read has started, and it can start more.
        if (!workers.canRead()) {
          yield* workers.until(workers.canRead)
          return
        }
        let free = workers.free
        if (now >= claimDueAt) {
          yield* claimOnce(free, now)
          free = workers.free
          if (free <= 0) return
        }
        const reader = yield* cursorNow
        const blockMillis = Math.max(1, Math.min(config.blockMillis, claimDueAt - now))
        const entries = yield* reader.read(stream, group, consumer, {
          count: free,
          blockMillis,
          timeoutMillis: blockMillis + 2_000
        })
        yield* start(entries, false)
      })
      const checkedTurn = turn.pipe(
        // A defect of the backend (a bug, a reply of an unexpected shape) is a failed turn like any
        // other: the member must outlive it, as the bus's writer does.
        Effect.catchAllDefect((defect) =>
          Effect.fail(
            new StreamBackendError({
              reason: "Unavailable",
              message: `backend defect: ${shortened(String(defect))}`
            })
          )
        ),
        Effect.tap(() => {
          missingStreak = 0
          return failures.success
        }),
        Effect.catchAll(
          (error): Effect.Effect<void, GroupBackendError | MissingGroup> =>
            error._tag === "MissingGroup"
              ? Effect.zipRight(onMissing(error), Effect.fail(error))
              : Effect.zipRight(closeCursor, Effect.fail(error))
        ),
        Effect.tapError((error) => failures.failure(`${error._tag}: ${error.message}`))
      )
      // Every failure, a missing group made again included, waits for the schedule: never back to
      // back. The schedule's driver is made only once a turn failed (as `Effect.retry` of the turn
      // would, the failure first): made at every turn, it cost 10 to 20 % of the CPU an entry at
      // concurrency 1 (380 µs an entry, 300 to 350 without; bench/probes/group-member.mjs).
      const guardedTurn = Effect.catchAll(checkedTurn, (first) => {
        let failed = true
        return Effect.retry(
          Effect.suspend(() => {
            if (!failed) return checkedTurn
            failed = false
            return Effect.fail(first)
          }),
          {
            schedule: config.failureSchedule,
            while: (error) => !(error._tag === "MissingGroup" && config.onMissingGroup === "fail")
          }
        )
      })

      yield* ensureGroup.pipe(
        // Refused (a member whose ACL lacks XGROUP CREATE, in a group made beforehand): it reads as
        // it is; a group that is truly missing then fails the reads, as any missing group does.
        Effect.catchIf(
          (error) => error.reason === "Rejected",
          (error) =>
            Effect.logWarning(
              `EventConsumer: the server refused to make the group (${error.message}); reading it as it is`
            ).pipe(Effect.annotateLogs(annotations))
        ),
        Effect.tapError((error) => failures.failure(`making or joining the group failed (${error.message})`)),
        Effect.retry(config.failureSchedule)
      )
      // A member too busy to claim does not scan: the gauges are read for it when due.
      const busyGauges = Effect.forever(
        Effect.zipRight(
          Effect.sleep(Duration.millis(claimEveryMillis)),
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            held.size >= config.concurrency && now >= gaugesDueAt ? readInfo(false) : Effect.void
          )
        )
      )
      // Forked before the shutdown's finalizer is added, so that they run on through the drain.
      yield* Effect.forkScoped(acks.run)
      yield* Effect.forkScoped(lease)
      yield* Effect.forkScoped(busyGauges)
      yield* workers.start
      // ---- shutdown: stop reading; drain running handlers for drainTimeout; ack what finished.
      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          workers.closing = true
          onClosing?.()
          yield* closeCursor
          for (const state of [...held.values()]) {
            if (state.waiting && state.fiber !== undefined) yield* Fiber.interrupt(state.fiber)
          }
          const startedAt = yield* Clock.currentTimeMillis
          // Finalizers run uninterruptibly: the waits are made interruptible for their time-outs to end them.
          const drained = yield* Effect.timeoutOption(
            Effect.interruptible(workers.until(() => held.size === 0)),
            Duration.millis(config.drainMillis)
          )
          if (Option.isNone(drained)) {
            yield* Effect.logWarning(
              `EventConsumer: ${held.size} handlers still running after the drain timeout; their entries stay pending`
            ).pipe(Effect.annotateLogs(annotations))
          }
          yield* Scope.close(workers.scope, Exit.void)
          // The last acks get what is left of the drain timeout, at least a second: never forever.
          const left = config.drainMillis - ((yield* Clock.currentTimeMillis) - startedAt)
          yield* Effect.timeoutOption(
            Effect.interruptible(acks.flush),
            Duration.millis(Math.max(1_000, left))
          )
        })
      )

      return yield* Effect.forever(guardedTurn)
    })
  )
