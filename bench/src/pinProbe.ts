/**
 * Whether this run pins (`pin.ts`), decided on the machine at hand: a short probe of sequential
 * round trips (the bench's `XADD`, one at a time, as `raw_sequential` sends it) in blocks alternating
 * pinned and unpinned, then the layout whose round trips are lower and stabler. Pinning must earn
 * its place: it is kept only when it beats leaving the scheduler alone by a margin.
 */
import * as Os from "node:os"
import type { Redis } from "ioredis"
import { rawBody } from "./body.js"
import { affinityOf, pinMainThread, pinServer, setAffinity } from "./pin.js"
import { freshKey, withRawClient } from "./redis.js"
import { quantile } from "./stats.js"

/** Round trips of one layout, in microseconds. */
export interface LayoutFigures {
  /** The median of the blocks' medians: the usual round trip. */
  readonly medianUs: number
  /** The 99th percentile of all its round trips: the stalls. */
  readonly p99Us: number
  /** The slowest block's median over the fastest's: how much the layout moves between blocks. */
  readonly spread: number
  /** `p99Us × spread`, the figure compared: lower wins. */
  readonly score: number
}

/** What the run does about pinning, and why. */
export interface PinningDecision {
  readonly pinned: boolean
  /** How it was decided: by the probe, by a flag, or not at all (one core, no taskset, REDIS_URL). */
  readonly by: "probe" | "--pin" | "--no-pin" | "unavailable"
  /** A line for the run's header. */
  readonly description: string
  readonly probe?: { readonly pinned: LayoutFigures; readonly unpinned: LayoutFigures }
}

/**
 * Blocks of each layout, in the order pinned, unpinned, unpinned, pinned, … (ABBA: a drift of the
 * machine during the probe falls on both layouts alike). About a second in all at ~120 µs a trip.
 */
const blocksEach = 8
const roundTripsPerBlock = 400
/**
 * Pinned must score at most this fraction of unpinned: a tie, within the probe's noise, leaves the
 * scheduler alone.
 */
const margin = 0.9

const summarise = (blocks: ReadonlyArray<Float64Array>): LayoutFigures => {
  const medians = blocks.map((block) => quantile(block, 0.5)).sort((a, b) => a - b)
  const all = Float64Array.from(blocks.flatMap((block) => [...block])).sort()
  const medianUs = quantile(medians, 0.5)
  const p99Us = quantile(all, 0.99)
  const spread = medians[medians.length - 1]! / medians[0]!
  return { medianUs, p99Us, spread, score: p99Us * spread }
}

const block = async (client: Redis, key: string): Promise<Float64Array> => {
  const times = new Float64Array(roundTripsPerBlock)
  for (let i = 0; i < roundTripsPerBlock; i++) {
    const start = performance.now()
    await client.xadd(key, "MAXLEN", "~", "1000", "*", "data", rawBody)
    times[i] = (performance.now() - start) * 1000
  }
  return times.sort()
}

const describe = (f: LayoutFigures): string =>
  `median ${f.medianUs.toFixed(0)} µs, p99 ${f.p99Us.toFixed(0)} µs, spread ${f.spread.toFixed(2)}`

/**
 * Runs the probe against the bench's own redis-server (`redisPid`) and leaves both it and this
 * process as they were found (unpinned); the caller pins if `pinned`.
 */
export const probePinning = async (url: string, redisPid: number): Promise<PinningDecision> => {
  const unavailable = (why: string): PinningDecision => ({
    pinned: false,
    by: "unavailable",
    description: `not pinned (${why})`
  })
  if (Os.availableParallelism() < 2) return unavailable("one core")
  if (!Number.isSafeInteger(redisPid) || redisPid <= 0) return unavailable("redis-server's pid unknown")
  const serverCpus = affinityOf(redisPid)
  const ownCpus = affinityOf(process.pid)
  if (serverCpus === undefined || ownCpus === undefined) return unavailable("taskset failed or is missing")
  const layout = (pinned: boolean) =>
    pinned
      ? pinServer(redisPid) && pinMainThread()
      : setAffinity(redisPid, serverCpus, true) && setAffinity(process.pid, ownCpus)
  const blocks = { pinned: [] as Array<Float64Array>, unpinned: [] as Array<Float64Array> }
  const key = freshKey("pin_probe")
  try {
    await withRawClient(url, async (client) => {
      await block(client, key) // warm-up: connection, JIT
      for (let i = 0; i < 2 * blocksEach; i++) {
        const pinned = ((i + 1) >> 1) % 2 === 0 // 0: pinned, 1, 2: unpinned, 3, 4: pinned, …
        if (!layout(pinned)) throw new Error("taskset failed")
        blocks[pinned ? "pinned" : "unpinned"].push(await block(client, key))
      }
      await client.del(key)
    })
  } catch (error) {
    return unavailable(`the probe failed: ${error instanceof Error ? error.message : String(error)}`)
  } finally {
    layout(false)
  }
  const probe = { pinned: summarise(blocks.pinned), unpinned: summarise(blocks.unpinned) }
  const pinned = probe.pinned.score <= margin * probe.unpinned.score
  const figures = `pinned ${describe(probe.pinned)}; unpinned ${describe(probe.unpinned)}`
  return {
    pinned,
    by: "probe",
    description: `${pinned ? "pinned: each case's main thread on CPU 0, redis-server on CPU 1" : "not pinned"} (round-trip probe: ${figures})`,
    probe
  }
}
