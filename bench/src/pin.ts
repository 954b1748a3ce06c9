/**
 * CPU pinning with `taskset`: the bench's main thread on CPU 0, redis-server (all its threads) on
 * CPU 1, and undoing it. Whether a run pins is decided at its start by `pinProbe.ts`.
 *
 * Why it may help: on the 2-core VM this bench was first written on, an unpinned run landed in one of
 * two modes at the scheduler's whim (redis-server on the bench's core, a round trip of ~20 µs, or on
 * the other, ~110 µs), and `raw_sequential` swung between 10,000 and 50,000 events/s from one round to
 * the next. Why it may hurt: on another VM of the kind, pinned, `publish_awaited` / `raw_sequential`
 * was 0.42 and `e2e_p99_ms` 33 ms, unpinned 0.88 and 4.4 ms. Only the bench's main thread is pinned;
 * its other threads (V8's GC helpers, libuv) are left free.
 */
import { execFileSync } from "node:child_process"

const taskset = (args: ReadonlyArray<string>): string | undefined => {
  try {
    return execFileSync("taskset", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
  } catch {
    return undefined
  }
}

/** The CPU list a thread may run on (`taskset -pc`), or undefined where taskset cannot tell. */
export const affinityOf = (pid: number): string | undefined =>
  /affinity list:\s*(\S+)/.exec(taskset(["-pc", String(pid)]) ?? "")?.[1]

/** Sets the CPU list of `pid`'s main thread, or with `allThreads` of all its threads. */
export const setAffinity = (pid: number, cpus: string, allThreads = false): boolean =>
  taskset([...(allThreads ? ["-a"] : []), "-pc", cpus, String(pid)]) !== undefined

/** The CPU redis-server is pinned to. */
export const serverCpu = "1"

/** The CPU the bench's main thread (and a case's helper process) is pinned to. */
export const clientCpu = "0"

/** Pins redis-server, all its threads, to {@link serverCpu}. */
export const pinServer = (redisPid: number): boolean => setAffinity(redisPid, serverCpu, true)

/** Pins this process's main thread (only) to {@link clientCpu}. */
export const pinMainThread = (): boolean => setAffinity(process.pid, clientCpu)
