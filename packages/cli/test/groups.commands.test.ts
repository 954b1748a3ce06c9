/**
 * `consume` as a user runs it: the built `maf-events` as a process against a real redis-server,
 * handlers as real shell scripts, signals as real signals. (`group info` and `dead-letters`:
 * `groupInfo.commands.test.ts`.)
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { expect, layer } from "@effect/vitest"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Bin from "./helpers/bin.js"
import {
  consumeArgs,
  eventData,
  freshStream,
  groupFields,
  guardOutputs,
  isRunning,
  jsonLines,
  password,
  pendingOf,
  refused,
  script,
  xadd
} from "./helpers/groupCommands.js"

guardOutputs()

layer(RedisTestServer.layer({ args: ["--requirepass", password], password }), { excludeTestServices: true })(
  "consume against a real redis-server",
  (it) => {
    it.effect(
      "consume --exec: each entry handled by the command; failures retried as new deliveries, then dead-lettered with the exit code and the last stderr line; the others acked once; --limit exits 0 once all are settled",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const ids: Array<string> = []
          for (let i = 0; i < 6; i++)
            ids.push(yield* xadd(server, stream, eventData(i, { fail: i % 3 === 0 })))
          const failing = [ids[0]!, ids[3]!]
          const handler = script(`line=$(cat)
printf '%s\\n' "$line" >> "$DIR/seen"
case "$line" in
  *'"fail":true'*) echo "first line" >&2; echo "boom at $MAF_EVENTS_STREAM_ID" >&2; exit 3 ;;
esac
echo "ok $MAF_EVENTS_STREAM_ID $MAF_EVENTS_GROUP $MAF_EVENTS_CONSUMER"`)
          const result = yield* Bin.run(
            consumeArgs(server, stream, "workers", [
              "--consumer",
              "w1",
              "--from",
              "0",
              "--max-deliveries",
              "2",
              "--limit",
              "6",
              "--exec",
              handler.command
            ])
          )
          expect(result.code).toBe(0)
          // Each entry that succeeded was handled once; the command's output is ours.
          const ok = result.stdout
            .split("\n")
            .filter((l) => l.startsWith("ok "))
            .sort()
          expect(ok).toEqual(
            ids
              .filter((id) => !failing.includes(id))
              .map((id) => `ok ${id} workers w1`)
              .sort()
          )
          // The command got the entry's JSON line; a retry is a new delivery.
          const seen = jsonLines(readFileSync(join(handler.dir, "seen"), "utf8"))
          expect(seen).toHaveLength(4 + 2 * 2)
          for (const id of failing) {
            expect(seen.filter((l) => l.stream_id === id).map((l) => l.delivery_count)).toEqual([1, 2])
          }
          expect(seen.find((l) => l.stream_id === ids[1])).toMatchObject({
            stream_id: ids[1],
            variant: "event",
            kind: "agent.signal",
            arena: "trading",
            payload: { i: 1, fail: false },
            delivery_count: 1,
            group: "workers",
            consumer: "w1"
          })
          // Its standard error is passed on; failures are said before each retry.
          expect(result.stderr).toContain(`boom at ${failing[0]}`)
          expect(result.stderr).toContain(
            `entry ${failing[0]} failed (exit code 3: boom at ${failing[0]}) at delivery 1 of 2`
          )
          // Nothing is left pending; the failing entries are dead letters, data intact.
          expect(yield* pendingOf(server, stream, "workers")).toBe(0)
          const dead = (yield* server.command("XRANGE", `${stream}:dead`, "-", "+")) as Array<
            [string, Array<string>]
          >
          expect(dead).toHaveLength(2)
          for (const [n, [, fields]] of dead.entries()) {
            expect(fields).toEqual([
              "data",
              eventData(n * 3, { fail: true }),
              "original_id",
              failing[n],
              "group",
              "workers",
              "consumer",
              "w1",
              "delivery_count",
              "2",
              "error",
              `exit code 3: boom at ${failing[n]}`
            ])
          }
        })
    )

    it.effect(
      "consume prints JSON lines as tail does, with delivery_count, group and consumer, and acks what it printed; an entry claimed from a dead member shows its second delivery",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const first = yield* xadd(server, stream, eventData(0))
          yield* server.command("XGROUP", "CREATE", stream, "audit", "0")
          // A member that took the first entry and died holding it.
          yield* server.command(
            "XREADGROUP",
            "GROUP",
            "audit",
            "dead-member",
            "COUNT",
            "1",
            "STREAMS",
            stream,
            ">"
          )
          const second = yield* xadd(server, stream, eventData(1))
          const third = yield* xadd(server, stream, "{not json")
          const result = yield* Bin.run(
            consumeArgs(server, stream, "audit", [
              "--consumer",
              "a1",
              "--min-idle",
              "50",
              "--limit",
              "3",
              "--format",
              "json"
            ])
          )
          expect(result.code).toBe(0)
          expect(result.stderr).toBe("")
          const lines = jsonLines(result.stdout)
          expect(lines.map((l) => l.stream_id).sort()).toEqual([first, second, third].sort())
          const claimed = lines.find((l) => l.stream_id === first)
          expect(Object.keys(claimed)).toEqual([
            "stream_id",
            "variant",
            "schema_version",
            "kind",
            "arena",
            "arena_id",
            "phase",
            "ts",
            "correlation_id",
            "payload",
            "delivery_count",
            "group",
            "consumer"
          ])
          expect(claimed).toMatchObject({
            payload: { i: 0 },
            delivery_count: 2,
            group: "audit",
            consumer: "a1"
          })
          expect(lines.find((l) => l.stream_id === second)).toMatchObject({ delivery_count: 1 })
          expect(lines.find((l) => l.stream_id === third)).toEqual({
            stream_id: third,
            variant: "malformed",
            reason: "json_decode",
            raw: "{not json",
            delivery_count: 1,
            group: "audit",
            consumer: "a1"
          })
          expect(yield* pendingOf(server, stream, "audit")).toBe(0)
          // Pretty lines are tail's.
          yield* xadd(server, stream, eventData(7))
          const pretty = yield* Bin.run(consumeArgs(server, stream, "audit", ["--limit", "1"]))
          expect(pretty.code).toBe(0)
          expect(pretty.stdout).toMatch(/^\d+-\d+ {2}.*agent\.signal.*trading.*gather.*i=7\n$/)
          expect(pretty.stderr).toContain(`consuming ${stream} on 127.0.0.1:${server.port}`)
        })
    )

    it.effect(
      "--limit N settles exactly N entries whatever the concurrency; the rest stays for the group",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          for (let i = 0; i < 6; i++) yield* xadd(server, stream, eventData(i))
          const result = yield* Bin.run(
            consumeArgs(server, stream, "g", [
              "--from",
              "0",
              "--concurrency",
              "5",
              "--limit",
              "2",
              "--format",
              "json"
            ])
          )
          expect(result.code).toBe(0)
          expect(jsonLines(result.stdout).map((l) => l.payload.i)).toEqual([0, 1])
          expect(yield* pendingOf(server, stream, "g")).toBe(0)
          expect((yield* groupFields(server, stream, "g"))?.get("lag")).toBe(4)
          const rest = yield* Bin.run(consumeArgs(server, stream, "g", ["--limit", "4", "--format", "json"]))
          expect(jsonLines(rest.stdout).map((l) => l.payload.i)).toEqual([2, 3, 4, 5])
        })
    )

    it.scoped("a closed standard output acknowledges nothing", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        yield* xadd(server, stream, eventData(0))
        const consume = yield* Bin.start(
          consumeArgs(server, stream, "g", ["--from", "0", "--format", "json"])
        )
        consume.child.stdout!.destroy()
        const result = yield* consume.exit
        expect(result.code).toBe(0)
        const info = yield* groupFields(server, stream, "g")
        expect(info?.get("entries-read")).toBe(1)
        expect(yield* pendingOf(server, stream, "g")).toBe(1)
      })
    )

    it.scoped(
      "SIGTERM during handling: reading stops, the running handlers finish and are acked, nothing else is taken, exit 0; the rest is there for the next member",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          for (let i = 0; i < 5; i++) yield* xadd(server, stream, eventData(i))
          const handler = script(`echo "started $MAF_EVENTS_STREAM_ID"
while [ ! -f "$DIR/release" ]; do sleep 0.02; done
echo "done $MAF_EVENTS_STREAM_ID"`)
          const consume = yield* Bin.start(
            consumeArgs(server, stream, "g", ["--from", "0", "--concurrency", "2", "--exec", handler.command])
          )
          yield* consume.until("two handlers started", () => consume.lines().length === 2)
          consume.child.kill("SIGTERM")
          // Released only after the signal: the drain waits for them, they finish and are acked.
          writeFileSync(join(handler.dir, "release"), "")
          const result = yield* consume.exit
          expect(result.code).toBe(0)
          const lines = consume.lines()
          expect(lines.filter((l) => l.startsWith("started"))).toHaveLength(2)
          expect(lines.filter((l) => l.startsWith("done"))).toHaveLength(2)
          expect(yield* pendingOf(server, stream, "g")).toBe(0)
          const info = yield* groupFields(server, stream, "g")
          expect(info?.get("entries-read")).toBe(2)
          expect(info?.get("lag")).toBe(3)
        })
    )

    it.scoped(
      "Ctrl+C (SIGINT) as SIGTERM: a handler still running at the drain deadline is stopped with what it started, its entry left pending; exit 1",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const id = yield* xadd(server, stream, eventData(0))
          const handler = script(`echo "started $$"
sleep 30 &
echo $! > "$DIR/child"
wait`)
          const consume = yield* Bin.start(
            consumeArgs(server, stream, "g", [
              "--consumer",
              "c1",
              "--from",
              "0",
              "--drain-timeout",
              "300",
              "--exec",
              handler.command
            ])
          )
          yield* consume.until("the handler started", () => consume.lines().length === 1)
          const shell = Number(consume.lines()[0]!.split(" ")[1])
          consume.child.kill("SIGINT")
          const result = yield* consume.exit
          expect(result.code).toBe(1)
          expect(result.stderr).toContain("1 handlers did not finish within --drain-timeout 300 ms")
          const pending = (yield* server.command("XPENDING", stream, "g", "-", "+", 10)) as Array<
            Array<unknown>
          >
          expect(pending.map(([pendingId, owner]) => [pendingId, owner])).toEqual([[id, "c1"]])
          // The shell and the process it started are gone.
          const child = Number(readFileSync(join(handler.dir, "child"), "utf8").trim())
          for (const pid of [shell, child])
            expect({ pid, running: isRunning(pid) }).toEqual({ pid, running: false })
        })
    )

    it.effect("--exec-timeout: a command running past it is stopped and counts as a failure", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        const id = yield* xadd(server, stream, eventData(0))
        const result = yield* Bin.run(
          consumeArgs(server, stream, "g", [
            "--from",
            "0",
            "--max-deliveries",
            "1",
            "--limit",
            "1",
            "--exec-timeout",
            "200",
            "--exec",
            "sleep 20"
          ])
        )
        expect(result.code).toBe(0)
        const dead = (yield* server.command("XRANGE", `${stream}:dead`, "-", "+")) as Array<
          [string, Array<string>]
        >
        expect(dead[0]![1].slice(2)).toEqual([
          "original_id",
          id,
          "group",
          "g",
          "consumer",
          dead[0]![1][7],
          "delivery_count",
          "1",
          "error",
          "timed out after 200 ms (stopped)"
        ])
        expect(result.millis).toBeLessThan(15_000)
      })
    )

    it.effect(
      "consume: bad input is one line on stderr and exit 2, before anything is done",
      () => {
        const stream = freshStream()
        const consume = (...args: ReadonlyArray<string>) => ["consume", "--stream", stream, ...args]
        return refused([
          [consume(), "--group <name> is required"],
          [consume("--group", " "), "--group must not be empty"],
          [consume("--group", "g", "--consumer", ""), "--consumer must not be empty"],
          [consume("--group", "g", "--limit", "-1"), "--limit must be 0 or more, got -1"],
          [consume("--group", "g", "--from", "yesterday"), "--from must be $, 0 or an entry id"],
          [consume("--group", "g", "--concurrency", "0"), "--concurrency must be 1 or more, got 0"],
          [consume("--group", "g", "--max-deliveries", "-2"), "--max-deliveries must be 0 or more"],
          [consume("--group", "g", "--min-idle", "1"), "--min-idle must be 3 or more"],
          [consume("--group", "g", "--exec", ""), "--exec must not be empty"],
          [consume("--group", "g", "--exec-timeout", "0"), "--exec-timeout must be 1 or more"],
          [consume("--group", "g", "--drain-timeout", "-1"), "--drain-timeout must be 0 or more"]
        ])
      },
      180_000
    )
  }
)
