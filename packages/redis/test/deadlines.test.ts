import { spawnSync } from "node:child_process"
import { fileURLToPath, pathToFileURL } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import * as Deadlines from "../src/internal/deadlines.js"

/**
 * A host whose time the test moves, and whose timers it can see; with `early`, each timer fires
 * that much before its time (as a host counting whole milliseconds can).
 */
const fakeHost = (early = 0) => {
  let now = 0
  let nextHandle = 0
  const timers = new Map<number, { readonly at: number; readonly task: () => void }>()
  let set = 0
  const rethrown: Array<unknown> = []
  const host = {
    rethrow: (error: unknown) => {
      rethrown.push(error)
    },
    now: () => now,
    setTimeout: (task: () => void, millis: number) => {
      set++
      const handle = ++nextHandle
      timers.set(handle, { at: now + millis - early, task })
      return handle
    },
    clearTimeout: (handle: unknown) => {
      timers.delete(handle as number)
    }
  }
  /** Moves time to `to`, firing the timers due on the way, in order. */
  const advance = (to: number) => {
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= to).sort((a, b) => a[1].at - b[1].at)[0]
      if (due === undefined) break
      timers.delete(due[0])
      now = due[1].at
      due[1].task()
    }
    now = to
  }
  return { host, advance, rethrown, timersArmed: () => timers.size, timersSet: () => set }
}

describe("Deadlines", () => {
  it("expires a deadline once its time has passed, not before", () => {
    const { host, advance } = fakeHost()
    const deadlines = Deadlines.make(host)
    const expired: Array<number> = []
    deadlines.set(100, () => expired.push(host.now()))
    advance(99)
    expect(expired).toEqual([])
    advance(500)
    expect(expired).toEqual([100])
  })

  it("never expires a cleared deadline, and says whether the clear came first", () => {
    const { host, advance } = fakeHost()
    const deadlines = Deadlines.make(host)
    let expired = 0
    const cleared = deadlines.set(100, () => expired++)
    const late = deadlines.set(100, () => expired++)
    expect(deadlines.clear(cleared)).toBe(true)
    advance(200)
    expect(expired).toBe(1)
    expect(deadlines.clear(late)).toBe(false)
    expect(deadlines.clear(cleared)).toBe(false)
  })

  it("expires each of many deadlines of mixed lengths at its own time", () => {
    const { host, advance } = fakeHost()
    const deadlines = Deadlines.make(host)
    const expired: Array<[string, number]> = []
    for (let i = 0; i < 5; i++) {
      advance(i * 10)
      deadlines.set(300, () => expired.push([`long ${i}`, host.now()]))
      deadlines.set(50, () => expired.push([`short ${i}`, host.now()]))
    }
    advance(1000)
    expect(expired).toEqual([
      ["short 0", 50],
      ["short 1", 60],
      ["short 2", 70],
      ["short 3", 80],
      ["short 4", 90],
      ["long 0", 300],
      ["long 1", 310],
      ["long 2", 320],
      ["long 3", 330],
      ["long 4", 340]
    ])
  })

  it("sets about one host timer a bound's length for a steady run of answered commands", () => {
    const { host, advance, timersSet } = fakeHost()
    const deadlines = Deadlines.make(host)
    let expired = 0
    // 10,000 commands, one every 0.1 ms, each answered 0.09 ms after it was sent, bound 100 ms.
    for (let i = 0; i < 10_000; i++) {
      advance(i * 0.1)
      const deadline = deadlines.set(100, () => expired++)
      advance(i * 0.1 + 0.09)
      deadlines.clear(deadline)
    }
    advance(2000)
    expect(expired).toBe(0)
    expect(timersSet()).toBeLessThanOrEqual(15)
  })

  it("arms its timer again for a deadline earlier than the one it waits for", () => {
    const { host, advance, timersArmed } = fakeHost()
    const deadlines = Deadlines.make(host)
    const expired: Array<number> = []
    deadlines.set(1000, () => expired.push(host.now()))
    deadlines.set(10, () => expired.push(host.now()))
    expect(timersArmed()).toBe(1)
    advance(2000)
    expect(expired).toEqual([10, 1000])
  })

  it("never expires a deadline early on a host whose timers fire a fraction early", () => {
    const { host, advance } = fakeHost(0.7)
    const deadlines = Deadlines.make(host)
    const expired: Array<number> = []
    deadlines.set(100, () => expired.push(host.now()))
    deadlines.set(250, () => expired.push(host.now()))
    advance(1000)
    expect(expired).toHaveLength(2)
    expect(expired[0]).toBeGreaterThanOrEqual(100)
    expect(expired[1]).toBeGreaterThanOrEqual(250)
  })

  it("keeps the earliest deadline when an expiry sets a later one of another length", () => {
    const { host, advance } = fakeHost()
    const deadlines = Deadlines.make(host)
    const expired: Array<[string, number]> = []
    deadlines.set(5000, () => expired.push(["a", host.now()]))
    advance(90)
    deadlines.set(100, () => {
      expired.push(["first", host.now()])
      deadlines.set(10_000, () => expired.push(["b", host.now()]))
    })
    advance(20_000)
    expect(expired).toEqual([
      ["first", 190],
      ["a", 5000],
      ["b", 10_190]
    ])
  })

  it("lets an expiry clear another deadline, which then never expires", () => {
    const { host, advance } = fakeHost()
    const deadlines = Deadlines.make(host)
    const expired: Array<string> = []
    const other = deadlines.set(200, () => expired.push("other"))
    deadlines.set(100, () => {
      expired.push("first")
      deadlines.clear(other)
    })
    advance(1000)
    expect(expired).toEqual(["first"])
  })

  it("expires the others, and throws afterwards, when an expiry throws", () => {
    const { host, advance, rethrown } = fakeHost()
    const deadlines = Deadlines.make(host)
    const expired: Array<string> = []
    deadlines.set(100, () => {
      throw new Error("boom")
    })
    deadlines.set(100, () => expired.push("same length"))
    deadlines.set(300, () => expired.push("later"))
    advance(1000)
    expect(expired).toEqual(["same length", "later"])
    expect(rethrown).toMatchObject([{ message: "boom" }])
  })

  it("lets an expiry set a deadline of its own", () => {
    const { host, advance } = fakeHost()
    const deadlines = Deadlines.make(host)
    const expired: Array<number> = []
    deadlines.set(100, () => {
      expired.push(host.now())
      deadlines.set(100, () => expired.push(host.now()))
    })
    advance(1000)
    expect(expired).toEqual([100, 200])
  })

  it("expires on the host's real timers", async () => {
    const deadlines = Deadlines.make()
    const started = performance.now()
    const elapsed = await new Promise<number>((resolve) => {
      deadlines.set(30, () => resolve(performance.now() - started))
    })
    expect(elapsed).toBeGreaterThanOrEqual(30)
    expect(elapsed).toBeLessThan(5_000)
  })

  it("does not keep a process alive by itself: one with only a pending deadline exits", () => {
    const module = pathToFileURL(
      fileURLToPath(new URL("../dist/internal/deadlines.js", import.meta.url))
    ).href
    const started = performance.now()
    const child = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(module)}); m.make().set(60000, () => {})`
      ],
      { timeout: 30_000 }
    )
    expect(child.status).toBe(0)
    expect(performance.now() - started).toBeLessThan(20_000)
  })
})
