import * as Net from "node:net"
import { afterAll, beforeAll, describe, it as effectIt, expect, layer } from "@effect/vitest"
import { Partitions } from "@maf/events"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Bin from "./helpers/bin.js"
import { checkOnRedis, checkPartitionedDemo, shortDemo } from "./helpers/demo.js"

const password = "pw-Very-Secret-4242"
const wireKeys = ["schema_version", "kind", "arena", "arena_id", "phase", "ts", "correlation_id", "payload"]

let streamCounter = 0
const freshStream = () => `test:cli:${process.pid}:${++streamCounter}`

type Server = RedisTestServer.RedisTestServer["Type"]
const urlOf = (server: Server) => `redis://:${password}@127.0.0.1:${server.port}/0`
const withUrl = (server: Server, args: ReadonlyArray<string>) => [...args, "--redis-url", urlOf(server)]

const freePort = Effect.async<number>((resume) => {
  const probe = Net.createServer()
  probe.listen(0, "127.0.0.1", () => {
    const address = probe.address() as Net.AddressInfo
    probe.close(() => resume(Effect.succeed(address.port)))
  })
})

const isStreamId = (s: string) => /^\d+-\d+$/.test(s)
const hasStackTrace = (text: string) => /\n\s+at\s/.test(text)

beforeAll(() => Bin.assertBuilt())

afterAll(() => {
  // The password given in --redis-url or REDIS_URL never shows, in any output of any test.
  for (const output of Bin.allOutput) expect(output).not.toContain(password)
})

layer(RedisTestServer.layer({ args: ["--requirepass", password], password }), { excludeTestServices: true })(
  "the maf-events command against a real redis-server",
  (it) => {
    it.effect("publish prints the stream id and exits 0; tail --format json --limit N prints N lines", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        const published = yield* Bin.run(
          withUrl(server, [
            "publish",
            "llm.call",
            "--stream",
            stream,
            "--arena",
            "trading",
            "--arena-id",
            "run-1",
            "--phase",
            "analysis",
            "--correlation-id",
            "0123456789abcdef0123456789abcdef",
            "--payload",
            '{"model":"m","tokens":12}'
          ])
        )
        expect(published.code).toBe(0)
        expect(published.stderr).toBe("")
        const id = published.stdout.trim()
        expect(isStreamId(id)).toBe(true)
        // The URL from REDIS_URL works the same.
        const second = yield* Bin.run(["publish", "agent.start", "--stream", stream], {
          REDIS_URL: urlOf(server)
        })
        expect(second.code).toBe(0)
        yield* server.command(
          "XADD",
          stream,
          "*",
          "data",
          JSON.stringify({ kind: "trade.fill", ts: "2026-05-14T11:22:33Z", x: 1 })
        )
        yield* server.command("XADD", stream, "*", "data", "{not json")
        yield* server.command("XADD", stream, "*", "other", "field")

        const tail = yield* Bin.run(
          withUrl(server, ["tail", "--stream", stream, "--from", "0", "--limit", "5", "--format", "json"])
        )
        expect(tail.code).toBe(0)
        const lines = tail.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l))
        expect(lines).toHaveLength(5)
        expect(Object.keys(lines[0])).toEqual(["stream_id", "variant", ...wireKeys])
        expect(lines[0]).toMatchObject({
          stream_id: id,
          variant: "event",
          schema_version: "1",
          kind: "llm.call",
          arena: "trading",
          arena_id: "run-1",
          phase: "analysis",
          correlation_id: "0123456789abcdef0123456789abcdef",
          payload: { model: "m", tokens: 12 }
        })
        expect(lines[1]).toMatchObject({ variant: "event", kind: "agent.start", arena: "", payload: {} })
        expect(lines[2]).toEqual({
          stream_id: lines[2].stream_id,
          variant: "unknown",
          kind: "trade.fill",
          ts: "2026-05-14T11:22:33Z",
          x: 1
        })
        expect(lines[3]).toEqual({
          stream_id: lines[3].stream_id,
          variant: "malformed",
          reason: "json_decode",
          raw: "{not json"
        })
        expect(lines[4]).toEqual({
          stream_id: lines[4].stream_id,
          variant: "malformed",
          reason: "no_data_field",
          raw: null
        })

        const filtered = yield* Bin.run(
          withUrl(server, [
            "tail",
            "--stream",
            stream,
            "--from",
            "0",
            "--limit",
            "1",
            "--format",
            "json",
            "--kind",
            "agent.*"
          ])
        )
        expect(JSON.parse(filtered.stdout).kind).toBe("agent.start")

        const pretty = yield* Bin.run(
          withUrl(server, ["tail", "--stream", stream, "--from", "0", "--limit", "3"])
        )
        expect(pretty.code).toBe(0)
        const prettyLines = pretty.stdout.trim().split("\n")
        expect(prettyLines[0]).toContain("llm.call")
        expect(prettyLines[0]).toContain("model=m tokens=12")
        expect(prettyLines[2]).toContain("?trade.fill")
        expect(pretty.stdout).not.toContain(String.fromCharCode(27))
        expect(pretty.stderr).toContain(`127.0.0.1:${server.port}`)
      })
    )

    it.effect("publish to a dead Redis exits 1 with a one-line reason within a couple of seconds", () =>
      Effect.gen(function* () {
        const port = yield* freePort
        const result = yield* Bin.run([
          "publish",
          "arena.start",
          "--redis-url",
          `redis://user:${password}@127.0.0.1:${port}/0`
        ])
        expect(result.code).toBe(1)
        expect(result.stdout).toBe("")
        const stderr = result.stderr.trimEnd()
        expect(stderr.split("\n")).toHaveLength(1)
        expect(stderr).toMatch(/^maf-events: not written to maf:events on 127\.0\.0\.1:\d+ \(Unavailable\)/)
        // Within a couple of seconds of what a process takes to start and refuse bad input at once
        // (the start of a process alone takes one to two seconds on a loaded machine).
        const started = yield* Bin.run(["publish", "arena.start", "--payload", "[1]"])
        expect(started.code).toBe(2)
        expect(result.millis - started.millis).toBeLessThan(2500)
      })
    )

    it.effect("a bad --payload is a clear error, not a stack trace", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        for (const [payload, message] of [
          ["{bad json", "--payload is not valid JSON"],
          ["[1,2]", "--payload must be a JSON object"],
          ["42", "--payload must be a JSON object"]
        ] as const) {
          const result = yield* Bin.run(
            withUrl(server, ["publish", "llm.call", "--stream", stream, "--payload", payload])
          )
          expect(result.code).toBe(2)
          expect(result.stdout).toBe("")
          expect(result.stderr.trimEnd().split("\n")).toHaveLength(1)
          expect(result.stderr).toContain(message)
          expect(hasStackTrace(result.stderr)).toBe(false)
        }
        expect(yield* server.command("EXISTS", stream)).toBe(0)
        const badFrom = yield* Bin.run(withUrl(server, ["tail", "--from", "yesterday"]))
        expect(badFrom.code).toBe(2)
        expect(badFrom.stderr).toContain("--from must be $, 0 or an entry id")
      })
    )

    it.scoped("tail survives a restart of the server mid-tail, without duplicates", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        const xadd = (i: number) =>
          server.command(
            "XADD",
            stream,
            "*",
            "data",
            JSON.stringify({ kind: "agent.signal", ts: "2026-05-14T11:22:33Z", payload: { i } })
          )
        yield* xadd(0)
        yield* xadd(1)
        const tail = yield* Bin.start(
          withUrl(server, ["tail", "--stream", stream, "--from", "0", "--limit", "4", "--format", "json"])
        )
        yield* tail.until("the first two lines", () => tail.lines().length >= 2)
        yield* server.restart
        yield* xadd(2)
        yield* xadd(3)
        const result = yield* tail.exit
        expect(result.code).toBe(0)
        const lines = result.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l))
        expect(lines.map((l) => l.payload.i)).toEqual([0, 1, 2, 3])
        expect(new Set(lines.map((l) => l.stream_id)).size).toBe(4)
      })
    )

    it.scoped("serve prints the dashboard's address and serves the page; the password never shows", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const serve = yield* Bin.start(["serve", "--port", "0", "--stream", freshStream()], {
          REDIS_URL: urlOf(server)
        })
        yield* serve.until("the dashboard's address", () => serve.stdout().includes("\n"))
        const match = /^Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(serve.stdout())
        expect(match).not.toBeNull()
        const page = yield* Effect.promise(() =>
          fetch(match![1]!).then(async (r) => ({ status: r.status, text: await r.text() }))
        )
        expect(page.status).toBe(200)
        expect(page.text).toContain("maf-events")
        expect(page.text).not.toContain(password)
        serve.child.kill("SIGINT")
        const result = yield* serve.exit
        expect(result.code).toBe(130)
        expect(result.stderr).toContain(`127.0.0.1:${server.port}`)
      })
    )

    it.effect("a wrong password is refused without showing it", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const result = yield* Bin.run([
          "publish",
          "arena.start",
          "--redis-url",
          `redis://:${password}-wrong@127.0.0.1:${server.port}/0`
        ])
        expect(result.code).toBe(1)
        expect(result.stderr).not.toContain(password)
      })
    )

    it.effect(
      "demo publishes a simulated run on Redis while showing the tail and serving the dashboard",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const result = yield* Bin.run(
            withUrl(server, ["demo", "--stream", stream, "--runs", "1", "--interval", "0", "--port", "0"])
          )
          expect(result.code).toBe(0)
          expect(result.stdout).toMatch(/^Dashboard: http:\/\/127\.0\.0\.1:\d+\/\n/)
          const length = Number(yield* server.command("XLEN", stream))
          expect(length).toBeGreaterThan(30)
          const shown = result.stdout.trim().split("\n").slice(1)
          expect(shown).toHaveLength(length)
          expect(shown[0]).toContain("arena.start")
          expect(shown.at(-1)).toContain("arena.complete")
          expect(result.stdout).toContain("?memory.write")
          expect(result.stdout).toContain("llm.call")
        })
    )

    it.effect(
      "demo --partitions 3 on Redis: each arena on its partition key, every key's events shown and taken by the archiver, both groups on each key",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const result = yield* Bin.run(withUrl(server, shortDemo(stream, "--partitions", "3")))
          const reported = checkPartitionedDemo(result, stream)
          yield* checkOnRedis(server.command, reported)
          // The stream's own key is not written: only its partitions are.
          expect(Number(yield* server.command("EXISTS", stream))).toBe(0)
        })
    )
  }
)

describe("maf-events demo on the embedded in-memory backend", () => {
  effectIt.effect(
    "demo --partitions 3: each arena on its partition key, every key's events shown and taken by the archiver; bad partitions (flag or MAF_EVENTS_PARTITIONS) refused in one line",
    () =>
      Effect.gen(function* () {
        const stream = freshStream()
        const refusals: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
          [
            ["demo", "--partitions", String(Partitions.maxPartitions + 1)],
            `--partitions (MAF_EVENTS_PARTITIONS) must be from 1 to 1024, got ${Partitions.maxPartitions + 1}`
          ]
        ]
        const fromEnv = [["demo", "--stream", "a{b}"], "--stream with --partitions 2:"] as const
        // (All at once: a process starts slowly.)
        const [demo, ...refused] = yield* Effect.all(
          [
            Bin.run(shortDemo(stream, "--partitions", "3")),
            ...refusals.map(([args]) => Bin.run(args)),
            Bin.run(fromEnv[0], { MAF_EVENTS_PARTITIONS: "2" })
          ],
          { concurrency: "unbounded" }
        )
        checkPartitionedDemo(demo!, stream)
        for (const [i, [args, message]] of [...refusals, fromEnv].entries()) {
          const result = refused[i]!
          expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: "" })
          expect(result.stderr.trimEnd().split("\n")).toHaveLength(1)
          expect(result.stderr).toContain(message)
        }
      }),
    { timeout: 60_000 }
  )
})
