/**
 * What a case module exports, and what it gets from the runner.
 */
import type { Key, Side, Stats } from "./harness.js"

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
