/**
 * What a case module exports, and what it gets from the runner.
 */

import { rawBody } from "./body.js"
import { type Key, type Rounds, runRounds, type Side, type Stats } from "./harness.js"
import { deleteKey, freshKey, preload } from "./redis.js"

/** What a case is given by the runner. */
export interface BenchContext {
  /** The server every case uses. */
  readonly url: string
  /**
   * Whether the run is pinned (`pin.ts`): the case's main thread on CPU 0, redis-server on CPU 1. A
   * helper process of a case (redis-benchmark) then goes on CPU 0 too.
   */
  readonly pinned: boolean
  /** `--quick`: smaller sizes and fewer rounds. */
  readonly quick: boolean
  /** Whether a figure was asked for (`--only`); a case runs only the sides asked for. */
  readonly selected: (key: Key) => boolean
  /** Progress, on stderr. */
  readonly log: (line: string) => void
}

/** What a case gives back: its figures' rounds and its notes. */
export interface CaseResult {
  readonly stats: Map<Key, Stats>
  /** What the reader of the table must know about this run of the case (sizes, settings). */
  readonly notes: ReadonlyArray<string>
}

/** A case of the bench: the figures it measures and how. */
export interface Case {
  readonly name: string
  readonly keys: ReadonlyArray<Key>
  readonly run: (ctx: BenchContext) => Promise<CaseResult>
}

/**
 * The rounds of a case unless it says otherwise: many short ones, so that the median of the per-round
 * ratios has enough rounds to stand on and a disturbance of the machine spoils a round, not a figure.
 */
export const defaultRounds = {
  quick: { warmup: 1, rounds: 5 },
  full: { warmup: 2, rounds: 15 }
} as const satisfies Record<"quick" | "full", Rounds>

/** The sides asked for. */
export const selectedSides = (ctx: BenchContext, sides: ReadonlyArray<Side>): ReadonlyArray<Side> =>
  sides.filter((side) => side.keys.some(ctx.selected))

/** What a case of a given size says of itself: its sizes in quick and full runs, its rounds. */
interface Sized {
  readonly name: string
  readonly keys: ReadonlyArray<Key>
  readonly sizes: { readonly quick: number; readonly full: number }
  /** Rounds other than {@link defaultRounds}. */
  readonly rounds?: { readonly quick: Rounds; readonly full: Rounds }
}

/** The size and rounds of this run, and the note's beginning and end for them. */
const sizedRun = (options: Sized, ctx: BenchContext) => {
  const size = ctx.quick ? options.sizes.quick : options.sizes.full
  const rounds = (options.rounds ?? defaultRounds)[ctx.quick ? "quick" : "full"]
  return {
    size,
    rounds,
    note: (what: string) =>
      `${options.keys.join(", ")}: ${size.toLocaleString("en-US")} ${what}; ${rounds.rounds} rounds after ${rounds.warmup} of warm-up`
  }
}

/**
 * A case that runs its sides for a number of events (or calls) a round: `sizes` in quick and full
 * runs, {@link defaultRounds} unless `rounds` says otherwise, and a note saying size and rounds.
 */
export const sizedCase = (
  options: Sized & {
    /** What a round counts, for the note ("events", "calls"). */
    readonly unit: string
    readonly sides: (ctx: BenchContext, size: number) => ReadonlyArray<Side>
  }
): Case => ({
  name: options.name,
  keys: options.keys,
  run: async (ctx) => {
    const { size, rounds, note } = sizedRun(options, ctx)
    const stats = await runRounds(selectedSides(ctx, options.sides(ctx, size)), rounds, ctx.log)
    return { stats, notes: [note(`${options.unit} a round`)] }
  }
})

/** A stream preloaded for a reading case: its key, how many entries, the last one's id. */
export interface Preloaded {
  readonly key: string
  readonly entries: number
  readonly lastId: string
}

/**
 * A case whose sides read one stream, preloaded once with `sizes` entries of the bench body and
 * deleted at the end; `note` says what a round is (its sizes and rounds are added).
 */
export const preloadedCase = (
  options: Sized & {
    readonly note: string
    readonly sides: (ctx: BenchContext, stream: Preloaded) => ReadonlyArray<Side>
  }
): Case => ({
  name: options.name,
  keys: options.keys,
  run: async (ctx) => {
    const { size: entries, rounds, note } = sizedRun(options, ctx)
    const key = freshKey(options.name)
    const lastId = await preload(ctx.url, key, entries, rawBody)
    try {
      const sides = selectedSides(ctx, options.sides(ctx, { key, entries, lastId }))
      const stats = await runRounds(sides, rounds, ctx.log)
      return { stats, notes: [note(`entries a round, ${options.note}`)] }
    } finally {
      await deleteKey(ctx.url, key)
    }
  }
})
