/**
 * A seeded pseudo-random generator (mulberry32): the soak's fault schedule and the group handler's
 * failures are drawn from it, so a seed names them. Timing still varies from run to run.
 */

/** A generator of numbers in [0, 1), and the draws built on it. */
export interface Rng {
  /** The next number in [0, 1). */
  readonly next: () => number
  /** An integer in [min, max], both inclusive. */
  readonly int: (min: number, max: number) => number
  /** One element of a non-empty array. */
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  /** True with probability `p`. */
  readonly chance: (p: number) => boolean
}

/** A generator seeded by `seed` (any 32-bit integer). */
export const make = (seed: number): Rng => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  return {
    next,
    int,
    pick: (items) => items[int(0, items.length - 1)]!,
    chance: (p) => next() < p
  }
}

/** A number in [0, 1) that depends only on `seed` and `key`: the same answer whenever it is asked. */
export const hash = (seed: number, key: string): number => {
  let h = (seed ^ 0x9e3779b9) >>> 0
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0
  return make(h).next()
}

/** A fresh random seed, for a run that names none. */
export const randomSeed = (): number => Math.floor(Math.random() * 2 ** 31)
