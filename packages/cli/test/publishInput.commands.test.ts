/**
 * `maf-events publish --input FILE|-` as a user runs it: the built command as a process against a
 * real redis-server (with a password, which no output shows): bad lines numbered on stderr and
 * counted, the events in the stream in order, standard input read as it comes, a `tail` export
 * replayed exactly, a server down (every event counted not written, within the drain deadline), a
 * server gone while the buffer is full (the rest counted as never sent), and a server restarted
 * mid-input (every event written, or counted).
 */
import { afterAll, beforeAll, expect, layer } from "@effect/vitest"
import { Event, WireCodec } from "@maf/events"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Bin from "./helpers/bin.js"
import { eventLines, files } from "./helpers/inputs.js"
import { freePort } from "./helpers/net.js"

const password = "pw-Replay-Secret-5150"

let streamCounter = 0
const freshStream = () => `test:cli-input:${process.pid}:${++streamCounter}`

type Server = RedisTestServer.RedisTestServer["Type"]
const urlOf = (server: Server) => `redis://:${password}@127.0.0.1:${server.port}/0`
const withUrl = (server: Server, args: ReadonlyArray<string>) => [...args, "--redis-url", urlOf(server)]

const file = files("maf-events-input-")

const summaryOf = (stdout: string) => {
  const lines = stdout.trim().split("\n")
  expect(lines).toHaveLength(1)
  return JSON.parse(lines[0]!) as Record<string, number | string>
}

/** The stream's entries: id and parsed `data` body. */
const entries = (server: Server, stream: string) =>
  Effect.map(server.command("XRANGE", stream, "-", "+"), (reply) =>
    (reply as Array<[string, Array<string>]>).map(([id, fields]) => ({
      id,
      body: JSON.parse(fields[1]!) as Record<string, unknown>
    }))
  )

/** The payloads' `i`, in stream order, and whether their first occurrences are in increasing order. */
const order = (bodies: ReadonlyArray<{ readonly body: Record<string, unknown> }>) => {
  const seen: Array<number> = []
  const distinct = new Set<number>()
  for (const { body } of bodies) {
    const i = (body.payload as { i: number }).i
    if (!distinct.has(i)) seen.push(i)
    distinct.add(i)
  }
  return {
    firsts: seen,
    distinct: distinct.size,
    increasing: seen.every((v, k) => k === 0 || v > seen[k - 1]!)
  }
}

/** `publish --input -` to a stream, its standard input open for the test to write. */
const publishPiped = (server: Server, stream: string) =>
  Bin.start(withUrl(server, ["publish", "--input", "-", "--stream", stream]), {}, "pipe")

const xlen = (server: Server, stream: string) => Effect.map(server.command("XLEN", stream), Number)

beforeAll(() => Bin.assertBuilt())

afterAll(() => {
  for (const output of Bin.allOutput) expect(output).not.toContain(password)
})

layer(RedisTestServer.layer({ args: ["--requirepass", password], password }), { excludeTestServices: true })(
  "maf-events publish --input against a real redis-server",
  (it) => {
    it.effect(
      "a file of good and bad lines: bad ones numbered on stderr and counted, the events in the stream in order, exit 1",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const lines = [
            JSON.stringify({
              kind: "arena.start",
              arena: "trading",
              arena_id: "run-1",
              phase: "gather",
              correlation_id: "0123456789abcdef0123456789abcdef",
              ts: "2026-05-14T11:22:33.123456+00:00",
              payload: { i: 1 }
            }),
            "{not json",
            JSON.stringify({ arena: "x" }),
            "",
            JSON.stringify({ kind: "llm.call", payload: [1, 2] }),
            JSON.stringify({ kind: "llm.call", arena: 42 }),
            JSON.stringify({ kind: "agent.signal", payload: { i: 2 } }),
            "[1]",
            JSON.stringify({ kind: "agent.signal", ts: "yesterday" }),
            JSON.stringify({ stream_id: "1-0", variant: "gap", after: "0-0", lost: 3 }),
            JSON.stringify({ kind: "trade.fill", arena: null, payload: { i: 3 } })
          ]
          const result = yield* Bin.run(
            withUrl(server, ["publish", "--input", file(lines.join("\n")), "--stream", stream])
          )
          expect(result.code).toBe(1)
          expect(summaryOf(result.stdout)).toMatchObject({
            written: 3,
            not_written: 6,
            lines: 11,
            bad_lines: 6,
            skipped: 1,
            dropped: 0,
            unsent: 0
          })
          const stderr = result.stderr.trimEnd().split("\n")
          expect(stderr.slice(0, 6)).toEqual([
            expect.stringMatching(/^maf-events: line 2: not JSON: .*: not published$/),
            "maf-events: line 3: kind is missing: not published",
            "maf-events: line 5: payload must be a JSON object: not published",
            "maf-events: line 6: arena must be a string, got 42: not published",
            "maf-events: line 8: not a JSON object (an array): not published",
            "maf-events: line 9: ts is not an ISO-8601 timestamp (2026-05-14T11:22:33.123456+00:00): not published"
          ])
          expect(stderr[6]).toMatch(
            /^maf-events: 6 not written to .* 6 bad lines, 0 given up by the bus, 0 never sent$/
          )
          expect(stderr).toHaveLength(7)
          const written = yield* entries(server, stream)
          expect(written.map((e) => e.body.kind)).toEqual(["arena.start", "agent.signal", "trade.fill"])
          expect(written[0]!.body).toEqual({
            schema_version: "1",
            kind: "arena.start",
            arena: "trading",
            arena_id: "run-1",
            phase: "gather",
            ts: "2026-05-14T11:22:33.123456+00:00",
            correlation_id: "0123456789abcdef0123456789abcdef",
            payload: { i: 1 }
          })
          expect(written[2]!.body).toMatchObject({ arena: "", payload: { i: 3 } })
        })
    )

    it.effect("more events than the buffer holds: every one written, in order, exit 0", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        const n = 25_000
        const result = yield* Bin.run(
          withUrl(server, ["publish", "--input", file(`${eventLines(n).join("\n")}\n`), "--stream", stream])
        )
        expect(result.stderr).toBe("")
        expect(result.code).toBe(0)
        expect(summaryOf(result.stdout)).toMatchObject({ written: n, not_written: 0, lines: n, bad_lines: 0 })
        const written = yield* entries(server, stream)
        expect(written).toHaveLength(n)
        expect(order(written)).toMatchObject({ distinct: n, increasing: true })
      })
    )

    it.scoped("standard input (-) is published as it comes, before the input ends", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        const publish = yield* publishPiped(server, stream)
        publish.child.stdin!.write(`${eventLines(3).join("\n")}\n`)
        // Written while the input is still open: read as a stream, not whole.
        yield* Effect.repeat(xlen(server, stream), { until: (n) => n === 3 })
        publish.child.stdin!.write(`not json\n${eventLines(2, { from: 3 }).join("\n")}`)
        publish.child.stdin!.end()
        const result = yield* publish.exit
        expect(result.code).toBe(1)
        expect(summaryOf(result.stdout)).toMatchObject({ written: 5, not_written: 1, lines: 6, bad_lines: 1 })
        expect(result.stderr).toMatch(/^maf-events: line 4: not JSON/)
        expect(order(yield* entries(server, stream)).firsts).toEqual([0, 1, 2, 3, 4])
      })
    )

    it.effect(
      "tail --format json, then publish --input of its output: the same events on another stream",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const source = freshStream()
          const copy = freshStream()
          // Bodies as the library writes them (every envelope key, microsecond ts), and a kind the
          // reader does not know.
          const inputs: ReadonlyArray<Event.Input> = [
            { kind: "arena.start", arena: "trading", arenaId: "run-7", payload: { budget_usd: 2.5 } },
            {
              kind: "llm.call",
              arena: "trading",
              phase: "gather",
              correlationId: "fedcba9876543210fedcba9876543210"
            },
            { kind: "agent.signal", payload: { nested: { list: [1, "two", null], unicode: "é€𝄞" } } },
            {
              kind: "trade.fill",
              arena: "trading",
              ts: "2026-05-14T11:22:33.123456+00:00",
              payload: { qty: 30 }
            }
          ]
          for (const input of inputs) {
            const body = WireCodec.encode(yield* Event.make(input))
            yield* server.command("XADD", source, "*", "data", body)
          }
          const tailArgs = (stream: string) => [
            "tail",
            "--stream",
            stream,
            "--from",
            "0",
            "--limit",
            "4",
            "--format",
            "json"
          ]
          const exported = yield* Bin.run(withUrl(server, tailArgs(source)))
          expect(exported.code).toBe(0)
          const replay = yield* Bin.run(
            withUrl(server, ["publish", "--input", file(exported.stdout), "--stream", copy])
          )
          expect(replay.code).toBe(0)
          expect(summaryOf(replay.stdout)).toMatchObject({ written: 4, not_written: 0 })
          const replayed = yield* Bin.run(withUrl(server, tailArgs(copy)))
          const withoutIds = (stdout: string) =>
            stdout
              .trim()
              .split("\n")
              .map((line) => {
                const { stream_id: _, ...rest } = JSON.parse(line)
                return JSON.stringify(rest)
              })
          // Same keys, same order, same values: kinds, envelopes, ts, correlation ids and payloads.
          expect(withoutIds(replayed.stdout)).toEqual(withoutIds(exported.stdout))
          expect(withoutIds(replayed.stdout)[3]).toContain('"variant":"unknown"')
        })
    )

    it.effect(
      "a server that is down: every event counted not written, exit 1, within the drain deadline",
      () =>
        Effect.gen(function* () {
          const port = yield* freePort
          const drainMillis = 1500
          const result = yield* Bin.run([
            "publish",
            "--input",
            file(eventLines(10).join("\n")),
            "--drain-timeout",
            String(drainMillis),
            "--redis-url",
            `redis://:${password}@127.0.0.1:${port}/0`
          ])
          expect(result.code).toBe(1)
          expect(summaryOf(result.stdout)).toMatchObject({
            written: 0,
            not_written: 10,
            dropped: 10,
            unsent: 0
          })
          expect(result.stderr).toContain(`the drain deadline passed (--drain-timeout ${drainMillis} ms)`)
          expect(result.stderr).toMatch(
            /10 not written to maf:events on 127\.0\.0\.1:\d+: 0 bad lines, 10 given up/
          )
          // The deadline, then the bus's last second for batches in flight (the process' own start,
          // seconds on a loaded machine, is not counted).
          const elapsed = Number(summaryOf(result.stdout).elapsed_ms)
          expect(elapsed).toBeGreaterThanOrEqual(drainMillis)
          expect(elapsed).toBeLessThan(drainMillis + 1000 + 1000)
        })
    )

    it.effect(
      "a server gone while the buffer is full: it gives up after the drain deadline, the rest counted as never sent",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const input = file(eventLines(12_000).join("\n"))
          yield* server.stop
          const run = yield* Effect.exit(
            Bin.run(
              withUrl(server, ["publish", "--input", input, "--stream", stream, "--drain-timeout", "1000"])
            )
          )
          // Started again in any case, for the tests after this one (not as a finalizer: the start
          // races the process' exit against its PING, which must stay interruptible).
          yield* server.start
          const result = yield* run
          expect(result.code).toBe(1)
          // 10,000 events in the buffer (two windows of 5,000), given up; the 2,000 after never sent.
          expect(summaryOf(result.stdout)).toMatchObject({
            written: 0,
            not_written: 12_000,
            dropped: 10_000,
            unsent: 2_000,
            gave_up_at_line: 10_001
          })
          expect(result.stderr).toContain("giving up from line 10001")
          expect(summaryOf(result.stdout).elapsed_ms).toBeLessThan(1000 + 1000 + 1500)
          expect(yield* xlen(server, stream)).toBe(0)
        })
    )

    it.scoped("a server restarted mid-input: every event written in order, or counted as not written", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        const publish = yield* publishPiped(server, stream)
        const stdin = publish.child.stdin!
        stdin.write(`${eventLines(10_000).join("\n")}\n`)
        yield* Effect.repeat(xlen(server, stream), { until: (n) => n > 0 })
        // Restarted (SHUTDOWN SAVE: what it answered stays) while the events go and more come.
        const restart = yield* Effect.fork(server.restart)
        stdin.write(`${eventLines(10_000, { from: 10_000 }).join("\n")}\n`)
        stdin.end()
        yield* restart
        const result = yield* publish.exit
        const summary = summaryOf(result.stdout)
        expect(Number(summary.written) + Number(summary.not_written)).toBe(20_000)
        expect(result.code).toBe(summary.not_written === 0 ? 0 : 1)
        const written = order(yield* entries(server, stream))
        // Every event counted as written is there (a batch re-sent after the lost connection may be
        // there twice), first occurrences in order.
        expect(written.distinct).toBeGreaterThanOrEqual(Number(summary.written))
        expect(written.increasing).toBe(true)
        // The restart takes a fraction of the drain deadline: nothing is given up.
        expect(summary).toMatchObject({ written: 20_000, not_written: 0 })
        expect(written.distinct).toBe(20_000)
      })
    )
  }
)
