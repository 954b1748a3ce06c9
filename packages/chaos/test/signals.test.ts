/**
 * `pnpm chaos` stopped by a signal (a terminal's Ctrl-C, a CI's time-out): the servers it started
 * are shut down before it exits, none outlives it. Runs the built program (`pnpm build` first, as
 * the README's test command does).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"

const main = fileURLToPath(new URL("../dist/main.js", import.meta.url))

/** The parent of each process, from /proc. */
const parents = (): Map<number, number> => {
  const map = new Map<number, number>()
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    try {
      // `pid (comm) state ppid …`: the command may hold spaces and parentheses, so read after the last ")".
      const stat = readFileSync(`/proc/${name}/stat`, "utf8")
      map.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]))
    } catch {
      // Gone meanwhile.
    }
  }
  return map
}

/** The redis-server processes among the descendants of `pid`. */
const serversUnder = (pid: number): Array<number> => {
  const parentOf = parents()
  const under = (p: number): boolean => {
    for (let at = parentOf.get(p); at !== undefined && at > 1; at = parentOf.get(at))
      if (at === pid) return true
    return false
  }
  return [...parentOf.keys()].filter((p) => {
    if (!under(p)) return false
    try {
      return readFileSync(`/proc/${p}/comm`, "utf8").trim() === "redis-server"
    } catch {
      return false
    }
  })
}

/** Whether a process is still there (and not a zombie waiting for its parent). */
const alive = (pid: number): boolean => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ")
  } catch {
    return false
  }
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )

describe("pnpm chaos stopped by a signal", () => {
  for (const [signal, code] of [
    ["SIGTERM", 143],
    ["SIGINT", 130]
  ] as const) {
    it(`${signal}: it exits ${code}, and no server it started is left running`, async () => {
      expect(existsSync(main), `${main} (run pnpm build first)`).toBe(true)
      const child = spawn(process.execPath, [main, "--seconds", "120", "--seed", "7"], {
        stdio: ["ignore", "ignore", "pipe"]
      })
      let stderr = ""
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const end = exited(child)
      let servers: Array<number> = []
      const deadline = Date.now() + 45_000
      while (servers.length === 0 && Date.now() < deadline && child.exitCode === null) {
        await sleep(200)
        servers = serversUnder(child.pid!)
      }
      expect(servers.length, stderr).toBeGreaterThan(0)
      // The load and the fault injector under way.
      await sleep(2_000)
      child.kill(signal)
      const { code: exitCode } = await end
      expect(exitCode, stderr).toBe(code)
      expect(stderr).toContain(`stopped by ${signal}`)
      expect(servers.filter(alive), stderr).toEqual([])
    }, 90_000)
  }
})
