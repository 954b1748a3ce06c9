/**
 * The step the publisher and the reader share after a failed attempt: retry by the `Schedule`, the
 * failure already seen counting as the schedule's first.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"

/**
 * Retries `attempt` by `schedule` after `failed`, a failure already counted and logged by the
 * caller: the schedule is given `failed` first, then each later failure of `attempt` (which counts
 * its own). The schedule's driver is made only here, once an attempt has failed: made for every
 * read of a live tail, it cost 14 KB a read on the bench machine.
 *
 * @internal
 */
export const retryAfter = <A, E, R, Out, R2>(
  failed: E,
  attempt: Effect.Effect<A, E, R>,
  schedule: Schedule.Schedule<Out, E, R2>
): Effect.Effect<A, E, R | R2> => {
  let replayed = false
  return Effect.retry(
    Effect.suspend(() => {
      if (replayed) return attempt
      replayed = true
      return Effect.fail(failed)
    }),
    schedule
  )
}

/**
 * The delay `schedule` gives its `n`th step (from 1), stepped without sleeping (a schedule's driver
 * sleeps each step); none when the schedule ends before it. A member's delay before an entry's
 * `n`th retry.
 *
 * @internal
 */
export const delayAt = (
  schedule: Schedule.Schedule<Duration.Duration, unknown>,
  n: number
): Effect.Effect<Option.Option<Duration.Duration>> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    let state = schedule.initial
    let delay: Duration.Duration = Duration.zero
    for (let i = 0; i < n; i++) {
      const [next, out, decision] = yield* schedule.step(now, undefined, state)
      if (ScheduleDecision.isDone(decision)) return Option.none()
      state = next
      delay = out
    }
    return Option.some(delay)
  })
