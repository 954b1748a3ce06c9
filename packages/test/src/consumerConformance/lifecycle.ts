/**
 * Consumer conformance, a member's life and the server's: shutdown drains the running handlers and
 * leaves the unfinished entries pending for others; a server restarted twice under three busy
 * members loses nothing (a fault check: a backend with a real server).
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { makeCheck, measuredCheck, repeated, runProbe } from "../internal/consumerProbe.js"
import { show } from "../internal/probe.js"
import type { Check } from "./environment.js"

const drainMillis = 1_000

/**
 * A member with three handlers running is interrupted: the two that finish within `drainTimeout`
 * are acknowledged, the one that does not stays pending (and is taken by another member after
 * `minIdle`), nothing more is read, and the interruption ends by the drain deadline.
 *
 * @since 0.2.0
 * @category checks
 */
export const shutdownDrains: Check = makeCheck(
  "shutdown drains: running handlers finish and are acked, an unfinished entry stays pending for others, nothing more is read",
  "shutdown",
  (probe) =>
    Effect.gen(function* () {
      const stopping = yield* Deferred.make<void>()
      const member = yield* probe.member(probe.name("stopping"), {
        concurrency: 3,
        drainTimeout: Duration.millis(drainMillis),
        behaviour: (_, n) =>
          n <= 2 ? Effect.zipRight(Deferred.await(stopping), Effect.sleep(Duration.millis(50))) : Effect.never
      })
      const ids = yield* probe.append(6)
      yield* probe.until("three handlers running", () => probe.journal.started.length === 3)
      const [first, second, third] = probe.journal.started.map((step) => step.id)
      yield* Deferred.succeed(stopping, undefined)
      const start = yield* Clock.currentTimeMillis
      yield* Fiber.interrupt(member.fiber)
      const took = (yield* Clock.currentTimeMillis) - start
      yield* probe.require(
        took < drainMillis + 2_000,
        () => `the shutdown took ${took} ms with a drain deadline of ${drainMillis} ms`
      )
      yield* probe.same(
        "the entries finished while draining",
        probe.journal.finished.map((step) => step.id).sort(),
        [first, second].sort()
      )
      const info = yield* probe.info
      yield* probe.same(
        "after the shutdown (pending, last delivered, the members' pending)",
        [info.pending, info.lastDeliveredId, info.consumers.map((c) => `${c.name}:${c.pending}`)],
        [1, ids[2], [`${member.name}:1`]]
      )
      // Another member takes the unfinished entry after minIdle, and the entries never read.
      const other = yield* probe.member(probe.name("other"))
      yield* probe.until("every entry handled", () => probe.journal.finished.length === 6)
      yield* probe.nothingPending
      yield* probe.same(
        "what the other member was given (id:count)",
        probe.journal.started
          .filter((step) => step.member === other.name)
          .map((s) => `${s.id}:${s.deliveryCount}`)
          .sort(),
        [`${third}:2`, ...ids.slice(3).map((id) => `${id}:1`)].sort()
      )
    })
)

/**
 * What the restarts cost: how long the whole run took and how many entries were handled twice.
 *
 * @since 0.2.0
 * @category models
 */
export interface RestartRun {
  readonly entries: number
  readonly elapsedMillis: number
  readonly handledTwice: number
}

const restartEntries = 10_000

/**
 * Three members handle 10,000 entries; the server is restarted (its data saved) when a third of
 * them have been handled, and again at half: every entry is handled at least once and the group
 * ends with nothing pending. Gives the run's time and the entries handled twice.
 *
 * @since 0.2.0
 * @category measurements
 */
export const measureServerRestarts = runProbe("server restarts", "restarts", (probe) =>
  Effect.gen(function* () {
    if (Option.isNone(probe.faults)) return yield* Effect.fail(probe.error("the backend offers no faults"))
    const faults = probe.faults.value
    const members = yield* Effect.forEach(["a", "b", "c"], (role) =>
      probe.member(probe.name(role), { concurrency: 16, minIdle: Duration.millis(500) })
    )
    yield* probe.reading(...members)
    const started = yield* Clock.currentTimeMillis
    const ids: Array<string> = []
    for (let i = 0; i < restartEntries; i += 1_000) ids.push(...(yield* probe.append(1_000)))
    const handled = new Set<string>()
    let seen = 0
    const distinct = () => {
      for (; seen < probe.journal.finished.length; seen++) handled.add(probe.journal.finished[seen]!.id)
      return handled.size
    }
    for (const at of [Math.ceil(restartEntries / 3), restartEntries / 2]) {
      yield* probe.until(`${at} entries handled`, () => distinct() >= at)
      yield* probe.call("restarting the server", faults.restart)
    }
    yield* probe.until("every entry handled", () => distinct() === restartEntries)
    yield* probe.nothingPending
    const missing = ids.filter((id) => !handled.has(id))
    yield* probe.require(
      missing.length === 0,
      () => `${missing.length} entries never handled: ${show(missing)}`
    )
    return {
      entries: restartEntries,
      elapsedMillis: (yield* Clock.currentTimeMillis) - started,
      handledTwice: repeated(probe.journal.finished).length
    } satisfies RestartRun
  })
)

/**
 * {@link measureServerRestarts} as a check (it needs the `faults` feature): its figures are logged.
 *
 * @since 0.2.0
 * @category checks
 */
export const serverRestarts: Check = measuredCheck(
  "the server restarted at a third and at half of 10,000 entries handled by 3 members: every entry handled, nothing pending",
  measureServerRestarts,
  (figures) =>
    `server restarts: ${figures.entries} entries in ${figures.elapsedMillis} ms, ${figures.handledTwice} handled twice`,
  "faults"
)
