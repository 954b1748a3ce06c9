/**
 * `read_rss_growth_mb`: how much the resident memory of a process grows while its reader drains
 * 1,000,000 entries (the default `count` of 500 a read), in a child process of its own (see
 * `rssChild.ts`), so that the heap left by other cases is not in the figure. The entries are
 * preloaded server-side (a Lua loop), once for all rounds.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { rawBody } from "../body.js"
import type { BenchContext, Case } from "../case.js"
import { format, runRounds, type Side } from "../harness.js"
import { deleteKey, freshKey, preload } from "../redis.js"

const child = fileURLToPath(new URL("../rssChild.js", import.meta.url))

interface ChildResult {
  readonly growthMb: number
  readonly baseMb: number
  readonly peakMb: number
  readonly seconds: number
  readonly known: number
}

const runChild = (url: string, key: string, entries: number): Promise<ChildResult> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--expose-gc", child, url, key, String(entries)],
      { maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`rss child failed: ${error.message}\n${stderr}`))
        else resolve(JSON.parse(stdout) as ChildResult)
      }
    )
  })

const round = (ctx: BenchContext, key: string, entries: number): Side => ({
  keys: ["read_rss_growth_mb"],
  run: async () => {
    const result = await runChild(ctx.url, key, entries)
    if (result.known !== entries) throw new Error(`read_rss: ${result.known} known events of ${entries}`)
    ctx.log(
      `  rss ${format(result.baseMb)} MB -> peak ${format(result.peakMb)} MB, ${format(entries / result.seconds)} entries/s`
    )
    return { read_rss_growth_mb: result.growthMb }
  }
})

export const readRss: Case = {
  name: "rss",
  keys: ["read_rss_growth_mb"],
  run: async (ctx: BenchContext) => {
    const entries = ctx.quick ? 200_000 : 1_000_000
    const key = freshKey("rss")
    await preload(ctx.url, key, entries, rawBody)
    try {
      const stats = await runRounds(
        [round(ctx, key, entries)],
        ctx.quick ? { warmup: 0, rounds: 1 } : { warmup: 0, rounds: 3 },
        ctx.log
      )
      return {
        stats,
        notes: [
          `read_rss_growth_mb: ${entries.toLocaleString("en-US")} entries${ctx.quick ? " (--quick: not the 1,000,000 of a full run)" : ""}, in a child process`
        ]
      }
    } finally {
      await deleteKey(ctx.url, key)
    }
  }
}
