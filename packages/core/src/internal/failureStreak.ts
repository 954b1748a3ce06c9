/**
 * Logging of a streak of failures without flooding: the first failure of a streak is logged, then
 * every 100th, and the recovery once.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/** How often a streak is logged again while it lasts. */
export const logEvery = 100

/** @internal */
export interface FailureStreak {
  /** Failures in the current streak (0 when the last operation succeeded). */
  readonly current: () => number
  readonly failure: (message: string) => Effect.Effect<void>
  /** To call after a success; cheap when there was no streak. */
  readonly success: Effect.Effect<void>
}

/** @internal */
export const make = (what: string, annotations: Record<string, unknown>): FailureStreak => {
  let failures = 0
  const failure = (message: string) =>
    Effect.suspend(() => {
      failures++
      if (failures !== 1 && failures % logEvery !== 0) return Effect.void
      return Effect.logWarning(
        failures === 1
          ? `${what} failed: ${message} (further failures are logged every ${logEvery}th until it recovers)`
          : `${what} still failing after ${failures} attempts: ${message}`
      ).pipe(Effect.annotateLogs({ ...annotations, failures }))
    })
  const success = Effect.suspend(() => {
    if (failures === 0) return Effect.void
    const streak = failures
    failures = 0
    return Effect.logInfo(`${what} recovered after ${streak} failures`).pipe(
      Effect.annotateLogs({ ...annotations, failures: streak })
    )
  })
  return { current: () => failures, failure, success }
}
