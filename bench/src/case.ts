/**
 * What a case module exports, and what it gets from the runner.
 */
import { type Key, runRounds, type Side, type Stats } from "./harness.js"

export interface BenchContext {
  /** The server every case uses. */
  readonly url: string
  /** `--quick`: smaller sizes and fewer rounds. */
  readonly quick: boolean
  /** Whether a figure was asked for (`--only`); a case runs only the sides asked for. */
  readonly selected: (key: Key) => boolean
  /** Progress, on stderr. */
  readonly log: (line: string) => void
}

export interface CaseResult {
  readonly stats: Map<Key, Stats>
  /** What the reader of the table must know about this run of the case (sizes, settings). */
  readonly notes: ReadonlyArray<string>
}

export interface Case {
  readonly name: string
  readonly keys: ReadonlyArray<Key>
  readonly run: (ctx: BenchContext) => Promise<CaseResult>
}

/** The sides asked for. */
export const selectedSides = (ctx: BenchContext, sides: ReadonlyArray<Side>): ReadonlyArray<Side> =>
  sides.filter((side) => side.keys.some(ctx.selected))

/**
 * A case that runs its sides for a number of events (or calls) a round: `sizes` in quick and full
 * runs, the standard warm-up and rounds, and a note saying the size.
 */
export const sizedCase = (options: {
  readonly name: string
  readonly keys: ReadonlyArray<Key>
  readonly sizes: { readonly quick: number; readonly full: number }
  /** What a round counts, for the note ("events", "calls"). */
  readonly unit: string
  readonly sides: (url: string, size: number) => ReadonlyArray<Side>
}): Case => ({
  name: options.name,
  keys: options.keys,
  run: async (ctx) => {
    const size = ctx.quick ? options.sizes.quick : options.sizes.full
    const stats = await runRounds(
      selectedSides(ctx, options.sides(ctx.url, size)),
      ctx.quick ? { warmup: 1, rounds: 3 } : { warmup: 2, rounds: 7 },
      ctx.log
    )
    return {
      stats,
      notes: [`${options.keys.join(", ")}: ${size.toLocaleString("en-US")} ${options.unit} a round`]
    }
  }
})
