/**
 * What a case module exports, and what it gets from the runner.
 */
import { type Key, type Rounds, runRounds, type Side, type Stats } from "./harness.js"

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

/**
 * A case that runs its sides for a number of events (or calls) a round: `sizes` in quick and full
 * runs, {@link defaultRounds} unless `rounds` says otherwise, and a note saying size and rounds.
 */
export const sizedCase = (options: {
  readonly name: string
  readonly keys: ReadonlyArray<Key>
  readonly sizes: { readonly quick: number; readonly full: number }
  /** What a round counts, for the note ("events", "calls"). */
  readonly unit: string
  /** Rounds other than {@link defaultRounds}. */
  readonly rounds?: { readonly quick: Rounds; readonly full: Rounds }
  readonly sides: (ctx: BenchContext, size: number) => ReadonlyArray<Side>
}): Case => ({
  name: options.name,
  keys: options.keys,
  run: async (ctx) => {
    const size = ctx.quick ? options.sizes.quick : options.sizes.full
    const rounds = (options.rounds ?? defaultRounds)[ctx.quick ? "quick" : "full"]
    const stats = await runRounds(selectedSides(ctx, options.sides(ctx, size)), rounds, ctx.log)
    return {
      stats,
      notes: [
        `${options.keys.join(", ")}: ${size.toLocaleString("en-US")} ${options.unit} a round, ${rounds.rounds} rounds after ${rounds.warmup} of warm-up`
      ]
    }
  }
})
