/**
 * Logging of a streak of failures without flooding: the first failure of a streak is logged; after
 * it, a line at most every {@link logEvery} failures and at most once per {@link logIntervalMillis}
 * (a burst of 20,000 failed publishes in a second makes one line, not 200), saying how many
 * failures it stands for; the recovery once, with the streak's length.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/** Failures between two lines of a streak, at least. */
export const logEvery = 100

/** Time between two lines of a streak, at least (by the fiber's `Clock`). */
export const logIntervalMillis = 5_000

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
  // The failure count and the time of the streak's last line.
  let loggedAt = 0
  let loggedTime = 0
  const failure = (message: string) =>
    Effect.clockWith((clock) => {
      failures++
      if (failures === 1) {
        loggedAt = 1
        loggedTime = clock.unsafeCurrentTimeMillis()
        return Effect.logWarning(
          `${what} failed: ${message} (while it goes on failing, a line at most every ${logEvery} failures and ${logIntervalMillis / 1000} s)`
        ).pipe(Effect.annotateLogs({ ...annotations, failures }))
      }
      if (failures - loggedAt < logEvery) return Effect.void
      const now = clock.unsafeCurrentTimeMillis()
      if (now - loggedTime < logIntervalMillis) return Effect.void
      const since = failures - loggedAt
      loggedAt = failures
      loggedTime = now
      return Effect.logWarning(
        `${what} still failing after ${failures} attempts (${since} since the last line): ${message}`
      ).pipe(Effect.annotateLogs({ ...annotations, failures, suppressed: since - 1 }))
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
