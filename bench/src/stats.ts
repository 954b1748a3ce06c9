/**
 * Summaries of a figure's rounds: the median with its spread (min–max and the interquartile range),
 * and the same summary of the per-round ratios between two figures of one case.
 */

/** The summary of a figure's recorded rounds. `samples` are in round order. */
export interface Stats {
  readonly median: number
  /** First quartile. */
  readonly q1: number
  /** Third quartile. */
  readonly q3: number
  readonly min: number
  readonly max: number
  readonly samples: ReadonlyArray<number>
}

/** The `q` quantile (0..1) of sorted values, nearest rank. */
export const quantile = (sorted: ArrayLike<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!

/** The median of sorted values (the mean of the middle two for an even count). */
const medianOf = (sorted: ReadonlyArray<number>): number => {
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Summarises samples (at least one), keeping them in the order given. */
export const stats = (samples: ReadonlyArray<number>): Stats => {
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    median: medianOf(sorted),
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    samples
  }
}

/**
 * The per-round ratios `a / b`, summarised: the figure of a ratio target. Round `i` of `a` is paired
 * with round `i` of `b`, which ran next to it (the sides of a case alternate round by round), so that
 * a slow stretch of the machine divides out instead of landing on one side only. Undefined when the
 * two did not run the same rounds (`--only` asked for one side).
 */
export const ratioStats = (a: Stats | undefined, b: Stats | undefined): Stats | undefined => {
  if (a === undefined || b === undefined) return undefined
  if (a.samples.length === 0 || a.samples.length !== b.samples.length) return undefined
  return stats(a.samples.map((x, i) => x / b.samples[i]!))
}
