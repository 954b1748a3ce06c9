/**
 * The step the publisher and the reader share after a failed attempt: retry by the `Schedule`, the
 * failure already seen counting as the schedule's first.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"

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
