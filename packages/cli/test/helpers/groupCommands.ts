/**
 * What the consumer-group command tests share: the server's password and URL, fresh streams, handler
 * scripts of their own, and readers of the group's state on the server.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import * as Net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, expect } from "@effect/vitest"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Bin from "./bin.js"

export const password = "pw-Group-Secret-777"

let streamCounter = 0
export const freshStream = () => `test:cli-groups:${process.pid}:${++streamCounter}`

export type Server = RedisTestServer.RedisTestServer["Type"]
export const urlOf = (server: Server) => `redis://:${password}@127.0.0.1:${server.port}/0`
export const withUrl = (server: Server, args: ReadonlyArray<string>) => [
  ...args,
  "--redis-url",
  urlOf(server)
]
export const consumeArgs = (server: Server, stream: string, group: string, args: ReadonlyArray<string>) =>
  withUrl(server, ["consume", "--stream", stream, "--group", group, ...args])

const dir = mkdtempSync(join(tmpdir(), "maf-events-groups-"))
let scriptCounter = 0
/** A handler script of its own in the test's directory; `$DIR` in it is a directory of its own. */
export const script = (text: string) => {
  const n = ++scriptCounter
  const own = mkdtempSync(join(dir, `h${n}-`))
  const path = join(own, "handler.sh")
  writeFileSync(path, `DIR=${own}\n${text}\n`)
  return { command: `sh ${path}`, dir: own }
}

/** A process that exists and is not a zombie (one killed whose parent died is reaped by init, later). */
export const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"))
}

export const freePort = Effect.async<number>((resume) => {
  const probe = Net.createServer()
  probe.listen(0, "127.0.0.1", () => {
    const address = probe.address() as Net.AddressInfo
    probe.close(() => resume(Effect.succeed(address.port)))
  })
})

export const hasStackTrace = (text: string) => /\n\s+at\s/.test(text)
export const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l))

export const eventData = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    schema_version: "1",
    kind: "agent.signal",
    arena: "trading",
    arena_id: "run-1",
    phase: "gather",
    ts: "2026-05-14T11:22:33.123456+00:00",
    correlation_id: "0123456789abcdef0123456789abcdef",
    payload: { i, ...extra }
  })

export const xadd = (server: Server, stream: string, data: string) =>
  Effect.map(server.command("XADD", stream, "*", "data", data), String)

/** `XPENDING stream group`: how many entries the group has delivered and not acknowledged. */
export const pendingOf = (server: Server, stream: string, group: string) =>
  Effect.map(server.command("XPENDING", stream, group), (reply) => Number((reply as Array<unknown>)[0]))

/** `XINFO GROUPS`: the group's fields. */
export const groupFields = (server: Server, stream: string, group: string) =>
  Effect.map(server.command("XINFO", "GROUPS", stream), (reply) => {
    for (const fields of reply as Array<Array<unknown>>) {
      const map = new Map<string, unknown>()
      for (let i = 0; i + 1 < fields.length; i += 2) map.set(String(fields[i]), fields[i + 1])
      if (map.get("name") === group) return map
    }
    return undefined
  })

/** Each command line exits 2 with one line naming the problem, and touches nothing. */
export const refused = (cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]>) =>
  Effect.gen(function* () {
    const server = yield* RedisTestServer.RedisTestServer
    const results = yield* Effect.forEach(cases, ([args]) => Bin.run(withUrl(server, args)), {
      concurrency: 4
    })
    for (const [i, [args, message]] of cases.entries()) {
      const result = results[i]!
      expect({ args, code: result.code }).toEqual({ args, code: 2 })
      expect(result.stdout).toBe("")
      expect(result.stderr.trimEnd().split("\n")).toHaveLength(1)
      expect(result.stderr).toContain(message)
      expect(hasStackTrace(result.stderr)).toBe(false)
    }
    const streams = new Set(cases.map(([args]) => args[args.indexOf("--stream") + 1]!))
    for (const stream of streams) expect(yield* server.command("EXISTS", stream)).toBe(0)
  })

/** The file's guards: the CLI built before any test, and the password in no output of any process. */
export const guardOutputs = () => {
  beforeAll(() => Bin.assertBuilt())
  afterAll(() => {
    for (const output of Bin.allOutput) expect(output).not.toContain(password)
  })
}
