/**
 * `group info` and `dead-letters list|replay` as a user runs them: the built `maf-events` as a process
 * against a real redis-server. (`consume`: `groups.commands.test.ts`.)
 */
import { expect, layer } from "@effect/vitest"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Bin from "./helpers/bin.js"
import {
  consumeArgs,
  eventData,
  freePort,
  freshStream,
  guardOutputs,
  jsonLines,
  password,
  refused,
  withUrl,
  xadd
} from "./helpers/groupCommands.js"

guardOutputs()

layer(RedisTestServer.layer({ args: ["--requirepass", password], password }), { excludeTestServices: true })(
  "group info and dead-letters against a real redis-server",
  (it) => {
    it.effect(
      "group info: pending, lag, last delivered id and consumers, as JSON and for people; a missing group is one line, exit 1",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          for (let i = 0; i < 3; i++) yield* xadd(server, stream, eventData(i))
          yield* server.command("XGROUP", "CREATE", stream, "g", "0")
          const read = (yield* server.command(
            "XREADGROUP",
            "GROUP",
            "g",
            "c9",
            "COUNT",
            "1",
            "STREAMS",
            stream,
            ">"
          )) as Array<[string, Array<[string, Array<string>]>]>
          const delivered = read[0]![1][0]![0]
          const json = yield* Bin.run(
            withUrl(server, ["group", "info", "--stream", stream, "--group", "g", "--format", "json"])
          )
          expect(json.code).toBe(0)
          const info = JSON.parse(json.stdout)
          expect(info).toMatchObject({
            stream,
            group: "g",
            pending: 1,
            lag: 2,
            last_delivered_id: delivered,
            consumers: [{ name: "c9", pending: 1 }]
          })
          expect(info.consumers[0].idle_ms).toBeGreaterThanOrEqual(0)
          const pretty = yield* Bin.run(
            withUrl(server, ["group", "info", "--stream", stream, "--group", "g"])
          )
          expect(pretty.code).toBe(0)
          expect(pretty.stdout).toContain(`group g on ${stream}`)
          expect(pretty.stdout).toMatch(/pending +1\n/)
          expect(pretty.stdout).toMatch(/lag +2\n/)
          expect(pretty.stdout).toMatch(/c9 +1 +\d/)
          // A deletion in the middle: Redis 7.0 cannot tell the lag.
          const ids = (yield* server.command("XRANGE", stream, "-", "+")) as Array<[string]>
          yield* server.command("XDEL", stream, ids[2]![0])
          const unknown = yield* Bin.run(
            withUrl(server, ["group", "info", "--stream", stream, "--group", "g", "--format", "json"])
          )
          expect(JSON.parse(unknown.stdout).lag).toBeNull()
          for (const [missingStream, group] of [
            [stream, "nope"],
            [freshStream(), "g"]
          ] as const) {
            const missing = yield* Bin.run(
              withUrl(server, ["group", "info", "--stream", missingStream, "--group", group])
            )
            expect(missing.code).toBe(1)
            expect(missing.stdout).toBe("")
            expect(missing.stderr).toBe(
              `maf-events: no group ${group} on stream ${missingStream} (127.0.0.1:${server.port})\n`
            )
          }
        })
    )

    it.effect(
      "dead-letters list shows each dead letter with its original id, group, consumer, delivery count, error and event; replay puts it back on the main stream and deletes it",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const originals = [
            yield* xadd(server, stream, eventData(0)),
            yield* xadd(server, stream, eventData(1))
          ]
          const failed = yield* Bin.run(
            consumeArgs(server, stream, "g", [
              "--consumer",
              "c1",
              "--from",
              "0",
              "--max-deliveries",
              "1",
              "--limit",
              "2",
              "--exec",
              "echo nope >&2; exit 4"
            ])
          )
          expect(failed.code).toBe(0)
          const list = yield* Bin.run(
            withUrl(server, ["dead-letters", "list", "--stream", stream, "--format", "json"])
          )
          expect(list.code).toBe(0)
          const letters = jsonLines(list.stdout)
          expect(letters).toHaveLength(2)
          expect(letters[0]).toMatchObject({
            original_id: originals[0],
            group: "g",
            consumer: "c1",
            delivery_count: 1,
            error: "exit code 4: nope",
            event: { stream_id: originals[0], variant: "event", kind: "agent.signal", payload: { i: 0 } }
          })
          const limited = yield* Bin.run(
            withUrl(server, ["dead-letters", "list", "--stream", stream, "--limit", "1"])
          )
          expect(limited.stdout.split("\n").filter((l) => l !== "")).toHaveLength(2)
          expect(limited.stdout).toContain(
            `dead letter ${letters[0].id}: group g, consumer c1, 1 deliveries: exit code 4: nope`
          )

          const one = yield* Bin.run(
            withUrl(server, [
              "dead-letters",
              "replay",
              "--stream",
              stream,
              "--id",
              letters[0].id,
              "--format",
              "json"
            ])
          )
          expect(one.code).toBe(0)
          const [replayed] = jsonLines(one.stdout)
          expect(replayed).toMatchObject({ id: letters[0].id, original_id: originals[0] })
          const back = (yield* server.command("XRANGE", stream, replayed.new_id, replayed.new_id)) as Array<
            [string, Array<string>]
          >
          expect(back[0]![1]).toEqual(["data", eventData(0)])
          expect(yield* server.command("XLEN", `${stream}:dead`)).toBe(1)
          // Replayed, it is handled again by the group.
          const again = yield* Bin.run(consumeArgs(server, stream, "g", ["--limit", "1", "--format", "json"]))
          expect(jsonLines(again.stdout)[0]).toMatchObject({ stream_id: replayed.new_id, payload: { i: 0 } })

          const rest = yield* Bin.run(
            withUrl(server, ["dead-letters", "replay", "--stream", stream, "--all"])
          )
          expect(rest.code).toBe(0)
          expect(rest.stdout).toMatch(
            new RegExp(`^replayed ${letters[1].id} \\(originally ${originals[1]}\\) as \\d+-\\d+\\n$`)
          )
          expect(yield* server.command("XLEN", `${stream}:dead`)).toBe(0)
          expect(yield* server.command("XLEN", stream)).toBe(4)

          const unknown = yield* Bin.run(
            withUrl(server, ["dead-letters", "replay", "--stream", stream, "--id", letters[0].id])
          )
          expect(unknown.code).toBe(1)
          expect(unknown.stderr).toBe(`maf-events: not in ${stream}:dead: ${letters[0].id}\n`)
          expect(yield* server.command("XLEN", stream)).toBe(4)
        })
    )

    it.effect("group info and dead-letters on a server that is down: one line naming it, exit 1", () =>
      Effect.gen(function* () {
        const port = yield* freePort
        const url = `redis://:${password}@127.0.0.1:${port}/0`
        const results = yield* Effect.forEach(
          [
            ["group", "info", "--group", "g"],
            ["dead-letters", "list"],
            ["dead-letters", "replay", "--all"]
          ],
          (args) => Bin.run([...args, "--redis-url", url]),
          { concurrency: 3 }
        )
        for (const result of results) {
          expect(result.code).toBe(1)
          expect(result.stdout).toBe("")
          expect(result.stderr.trimEnd().split("\n")).toHaveLength(1)
          expect(result.stderr).toMatch(new RegExp(`^maf-events: .*127\\.0\\.0\\.1:${port}.*ECONNREFUSED`))
        }
      })
    )

    it.effect(
      "group info and dead-letters: bad input is one line on stderr and exit 2",
      () => {
        const stream = freshStream()
        return refused([
          [["group", "info", "--stream", stream], "--group <name> is required"],
          [["dead-letters", "list", "--stream", stream, "--limit", "-3"], "--limit must be 0 or more"],
          [["dead-letters", "replay", "--stream", stream], "--id <id> (repeatable) or --all"],
          [
            ["dead-letters", "replay", "--stream", stream, "--all", "--id", "1-0"],
            "--id <id> (repeatable) or --all"
          ],
          [["dead-letters", "replay", "--stream", stream, "--id", "last"], "--id must be an entry id"],
          [
            ["dead-letters", "replay", "--stream", stream, "--all", "--maxlen", "-1"],
            "--maxlen must be 0 or more"
          ]
        ])
      },
      180_000
    )
  }
)
