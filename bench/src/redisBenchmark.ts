/**
 * `server_limit`: how many entries a second the bench's redis-server takes of the bench's `XADD` when
 * only the server is the bottleneck, measured with `redis-benchmark` (the one of the server's own
 * package) and a deep pipeline. Why `redis-benchmark` and not a Lua loop: docs/benchmarks.md.
 */
import { execFile } from "node:child_process"
import { checkAndDelete, freshKey } from "./redis.js"

/** Commands each connection of redis-benchmark keeps in flight (`-P`). */
export const pipelineDepth = 100

/**
 * Connections of redis-benchmark (`-c`): enough that the server never waits for one of them to read
 * its replies and send its next hundred (on the 2-core bench VM one connection gave from 50 % to all
 * of what four or ten did, by the moment; ten gave the most in the runs there).
 */
export const connections = 10

/** Whether `redis-benchmark` can be run here. */
export const available = (): Promise<boolean> =>
  new Promise((resolve) => {
    execFile("redis-benchmark", ["--version"], (error) => resolve(error === null))
  })

/** The figure of `redis-benchmark -q`: the last "<n> requests per second" of its output. */
const requestsPerSecond = (stdout: string): number => {
  const all = [...stdout.matchAll(/([\d.]+) requests per second/g)]
  const last = all[all.length - 1]
  if (last === undefined) throw new Error(`server_limit: no figure in redis-benchmark's output: ${stdout}`)
  return Number(last[1])
}

/**
 * One round: `requests` of `XADD <fresh key> MAXLEN ~ <maxlen> * data <body>` through redis-benchmark,
 * on CPU 0 when `pinned` (the server being on CPU 1); the stream is checked to have received every
 * entry, then deleted. Its URL goes on redis-benchmark's command line (`-u`), a password included.
 */
export const serverLimitRound = async (options: {
  readonly url: string
  readonly requests: number
  readonly maxlen: number
  readonly body: string
  readonly pinned: boolean
  /** The stream; default a fresh key (on a Cluster: one of the slots of the node `url` names). */
  readonly key?: string | undefined
}): Promise<number> => {
  const key = options.key ?? freshKey("server_limit")
  const args = [
    "-u",
    options.url,
    "-P",
    String(pipelineDepth),
    "-c",
    String(connections),
    "-n",
    String(options.requests),
    "-q",
    "XADD",
    key,
    "MAXLEN",
    "~",
    String(options.maxlen),
    "*",
    "data",
    options.body
  ]
  const [file, argv] = options.pinned
    ? ["taskset", ["-c", "0", "redis-benchmark", ...args]]
    : ["redis-benchmark", args]
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(file, argv, { maxBuffer: 16 * 1024 * 1024 }, (error, out, err) => {
      if (error !== null) reject(new Error(`server_limit: redis-benchmark failed: ${error.message}\n${err}`))
      else resolve(out)
    })
  })
  const rate = requestsPerSecond(stdout)
  await checkAndDelete(options.url, key, options.requests, "server_limit")
  return rate
}
