/**
 * The resident-memory peak of this process while something runs: a full GC first where
 * `--expose-gc` allows it, then a sample every 20 ms. Used by `rssChild.ts` and by
 * `bench/probes/rss-loops.mjs`.
 */
export interface RssPeak {
  /** Stops sampling; the resident memory at the start and at its peak, in bytes. */
  readonly stop: () => { readonly base: number; readonly peak: number }
}

export const startRssPeak = (): RssPeak => {
  ;(globalThis as { gc?: () => void }).gc?.()
  const base = process.memoryUsage().rss
  let peak = base
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  return {
    stop: () => {
      clearInterval(sampler)
      peak = Math.max(peak, process.memoryUsage().rss)
      return { base, peak }
    }
  }
}
