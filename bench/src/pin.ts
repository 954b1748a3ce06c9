/**
 * CPU pinning of a run on its own redis-server: the bench's main thread on one core, redis-server (all
 * its threads) on another, with `taskset`.
 *
 * Why: on the 2-core VM this bench was written on, an unpinned run lands in one of two modes, at the
 * scheduler's whim, sometimes switching mid-run: redis-server on the bench's core (a round trip of
 * ~20 µs, but Redis and the client share one core) or on the other (a round trip of ~110 µs, wake-ups
 * across cores being slow on this VM). `raw_sequential` swung between 10,000 and 50,000 events/s from
 * one round to the next. Pinned, every round runs in the second mode, the one of a Redis on another
 * core or host. The bench's other threads (V8's GC helpers, libuv) are left free. `--no-pin` turns it
 * off; a server given by `REDIS_URL` is never pinned.
 */
import { execFileSync } from "node:child_process"
import * as Os from "node:os"

const taskset = (args: ReadonlyArray<string>): boolean => {
  try {
    execFileSync("taskset", args, { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

/**
 * Pins redis-server (all its threads) to CPU 1 and says what was done (or why not), for the run's
 * header. The cases run in processes of their own (`caseChild.ts`), each pinning its own main thread
 * to CPU 0 ({@link pinMainThread}); this process, which only starts them, is left free, so that their
 * other threads (V8's GC helpers, libuv) are free too.
 */
export const pinCores = (redisPid: number): { readonly pinned: boolean; readonly description: string } => {
  if (Os.availableParallelism() < 2) return { pinned: false, description: "not pinned (one core)" }
  if (!Number.isSafeInteger(redisPid) || redisPid <= 0) {
    return { pinned: false, description: "not pinned (redis-server's pid unknown)" }
  }
  return taskset(["-a", "-pc", "1", String(redisPid)])
    ? {
        pinned: true,
        description: "pinned: each case's main thread on CPU 0, redis-server on CPU 1 (see bench/src/pin.ts)"
      }
    : { pinned: false, description: "not pinned (taskset failed or is missing)" }
}

/** Pins this process's main thread (only) to CPU 0. */
export const pinMainThread = (): boolean => taskset(["-pc", "0", String(process.pid)])
