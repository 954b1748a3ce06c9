/**
 * `serve`, `group info`, `dead-letters list|replay` and `consume --limit` on a partitioned stream
 * (`--partitions N`, or `MAF_EVENTS_PARTITIONS`), as a user runs them: the built `maf-events` as a
 * process against a real redis-server. The dashboard's feed shows every partition's events, and its
 * group watch (the feed's `groups` messages and `/metrics`) each group once, merged over the
 * partition keys, as `group info` does after the group on each key; the dead letters of every
 * partition key (`<partition key>:dead`) are listed oldest first across them, each naming its
 * partition, and replayed each on its own key; `consume --limit N` takes and settles N over all the
 * keys. (On a Cluster: `topologies.commands.test.ts`.)
 */
import { expect, layer } from "@effect/vitest"
import { Partitions, StreamBackend } from "@maf/events"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Bin from "./helpers/bin.js"
import {
  eventData,
  freshStream,
  guardOutputs,
  jsonLines,
  password,
  refused,
  type Server,
  withUrl,
  xadd
} from "./helpers/groupCommands.js"
import * as Sse from "./helpers/sse.js"

guardOutputs()

/** A dead letter as a consumer writes it, with the id given (to order them across the partitions). */
const deadLetter = (server: Server, key: string, id: string, i: number) =>
  server.command(
    ...["XADD", Partitions.deadLetterKey(key), id, "data", eventData(i), "original_id", `${i}-1`],
    ...["group", "g", "consumer", "c1", "delivery_count", 5, "error", `boom ${i}`]
  )

const entriesOf = (server: Server, key: string) =>
  Effect.map(server.command("XRANGE", key, "-", "+"), (reply) =>
    (reply as ReadonlyArray<[string, ReadonlyArray<string>]>).map(([, fields]) => fields)
  )

/**
 * A fresh stream of 3 partitions with `perKey` events on each key (payload `i` 10 × partition + n),
 * the group "workers" made on each key from "0", then read as `reads` say: `[partition, consumer,
 * count]`. The stream's name and its keys.
 */
const partitionedGroup = (
  server: Server,
  perKey: number,
  reads: ReadonlyArray<readonly [number, string, number]>
) =>
  Effect.gen(function* () {
    const stream = freshStream()
    const keys = Partitions.keys(stream, 3)
    for (const [p, key] of keys.entries()) {
      for (let i = 0; i < perKey; i++) yield* xadd(server, key, eventData(10 * p + i))
      yield* server.command("XGROUP", "CREATE", key, "workers", "0")
    }
    for (const [p, consumer, count] of reads) {
      yield* server.command(
        "XREADGROUP",
        "GROUP",
        "workers",
        consumer,
        "COUNT",
        count,
        "STREAMS",
        keys[p]!,
        ">"
      )
    }
    return { stream, keys }
  })

layer(RedisTestServer.layer({ args: ["--requirepass", password], password }), { excludeTestServices: true })(
  "serve and dead-letters on a partitioned stream against a real redis-server",
  (it) => {
    it.scoped(
      "serve --partitions 3: the feed shows every partition's events; the group watch shows the group once, merged (pending and lag summed, members by name), on the feed and on /metrics",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const { stream, keys } = yield* partitionedGroup(server, 2, [
            [0, "a", 1],
            [1, "a", 1],
            [2, "b", 2]
          ])

          const serve = yield* Bin.start(
            withUrl(server, ["serve", "--port", "0", "--stream", stream, "--partitions", "3"])
          )
          yield* serve.until("the dashboard's address", () => /^Dashboard: \S+\n/m.test(serve.stdout()))
          yield* serve.until("the serving line", () =>
            serve.stderr().includes(`serving ${stream} (3 partitions) on`)
          )
          const url = /^Dashboard: (\S+)$/m.exec(serve.stdout())![1]!

          // The feed: the six events of the three partitions, and the groups.
          const feed = yield* Sse.open(`${url}events?from=0`)
          const events: Array<number> = []
          let groups: unknown
          while (events.length < 6 || groups === undefined) {
            const [message] = yield* feed.takeAny(1)
            if (message!.event === "groups") groups = JSON.parse(message!.data).groups
            else events.push(JSON.parse(message!.data).payload.i)
          }
          expect(events.sort((a, b) => a - b)).toEqual([0, 1, 10, 11, 20, 21])
          expect(groups).toEqual([
            {
              name: "workers",
              pending: 4,
              lag: 2,
              consumers: 2,
              last_delivered_id: expect.any(String),
              partitions: 3,
              members: [
                { name: "a", pending: 2, idle_ms: expect.any(Number) },
                { name: "b", pending: 2, idle_ms: expect.any(Number) }
              ]
            }
          ])

          // /metrics: the same merged figures, under the stream's name; the feed's readers by partition key.
          const samples = [
            `maf_events_group_pending{group="workers",stream="${stream}"} 4`,
            `maf_events_group_lag{group="workers",stream="${stream}"} 2`,
            ...keys.map((key) => `maf_events_read_total{stream="${key}"} 2`)
          ]
          yield* Effect.promise(() => fetch(`${url}metrics`).then((r) => r.text())).pipe(
            Effect.filterOrFail((text) => samples.every((s) => text.split("\n").includes(s))),
            Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("10 seconds"))),
            Effect.orElse(() => Effect.die(new Error(`no ${samples.join(", ")} on /metrics`)))
          )
        })
    )

    it.effect(
      "group info --partitions 3: the group on each partition key, then merged over them (pending and lag summed, members by name, the latest id)",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const { stream, keys } = yield* partitionedGroup(server, 3, [
            [0, "a", 1],
            [1, "a", 2],
            [2, "b", 1]
          ])
          const lastOf = (key: string) =>
            Effect.map(server.command("XINFO", "GROUPS", key), (reply) => {
              const fields = (reply as Array<Array<unknown>>)[0]!
              return String(fields[fields.indexOf("last-delivered-id") + 1])
            })
          const lasts = yield* Effect.forEach(keys, lastOf)
          const latest = lasts
            .slice()
            .sort((x, y) =>
              StreamBackend.compareEntryIds(StreamBackend.parseEntryId(x)!, StreamBackend.parseEntryId(y)!)
            )
          const [json, pretty] = yield* Effect.all(
            [
              Bin.run(
                withUrl(server, [
                  "group",
                  "info",
                  "--stream",
                  stream,
                  "--group",
                  "workers",
                  "--partitions",
                  "3",
                  "--format",
                  "json"
                ])
              ),
              Bin.run(
                withUrl(server, [
                  "group",
                  "info",
                  "--stream",
                  stream,
                  "--group",
                  "workers",
                  "--partitions",
                  "3"
                ])
              )
            ],
            { concurrency: "unbounded" }
          )
          expect(json.code, json.stderr).toBe(0)
          const lines = jsonLines(json.stdout) as Array<Record<string, unknown>>
          expect(lines.map((line) => [line.stream, line.pending, line.lag])).toEqual([
            [keys[0], 1, 2],
            [keys[1], 2, 1],
            [keys[2], 1, 2],
            [stream, 4, 5]
          ])
          expect(lines[3]).toMatchObject({
            group: "workers",
            partitions: 3,
            last_delivered_id: latest.at(-1),
            consumers: [
              { name: "a", pending: 3, idle_ms: expect.any(Number) },
              { name: "b", pending: 1, idle_ms: expect.any(Number) }
            ]
          })
          expect(pretty.code, pretty.stderr).toBe(0)
          expect(pretty.stdout).toContain(
            `group workers on ${stream} (3 partitions, merged)\n  pending            4\n  lag                5\n`
          )
          expect(pretty.stdout).toMatch(/\n +a +3 +\d[^\n]*\n +b +1 +\d[^\n]*\n$/)
        })
    )

    it.effect(
      "dead-letters list and replay --partitions 3: every partition's dead letters, oldest first, each naming its partition; each replayed on its own key",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const keys = Partitions.keys(stream, 3)
          // Two partitions hold a dead letter of the same id: `<partition index>:<id>` tells them apart.
          yield* deadLetter(server, keys[2]!, "1000-0", 20)
          yield* deadLetter(server, keys[0]!, "2000-0", 0)
          yield* deadLetter(server, keys[1]!, "3000-0", 10)
          yield* deadLetter(server, keys[0]!, "4000-0", 1)
          yield* deadLetter(server, keys[1]!, "5000-0", 11)
          yield* deadLetter(server, keys[2]!, "5000-0", 21)
          const env = { MAF_EVENTS_PARTITIONS: "3" }
          const run = (args: ReadonlyArray<string>) =>
            Bin.run(withUrl(server, [...args, "--stream", stream]), env)

          // (Both lists at once: a process starts slowly.)
          const [list, pretty] = yield* Effect.all(
            [
              run(["dead-letters", "list", "--format", "json"]),
              run(["dead-letters", "list", "--limit", "2"])
            ],
            { concurrency: 2 }
          )
          expect([list.code, list.stderr]).toEqual([0, ""])
          expect(
            jsonLines(list.stdout).map((l) => [l.partition, l.id, l.original_id, l.error, l.event.payload.i])
          ).toEqual([
            [keys[2], "1000-0", "20-1", "boom 20", 20],
            [keys[0], "2000-0", "0-1", "boom 0", 0],
            [keys[1], "3000-0", "10-1", "boom 10", 10],
            [keys[0], "4000-0", "1-1", "boom 1", 1],
            [keys[1], "5000-0", "11-1", "boom 11", 11],
            [keys[2], "5000-0", "21-1", "boom 21", 21]
          ])
          expect(pretty.code).toBe(0)
          expect(pretty.stdout).toContain(
            `dead letter 1000-0 of ${keys[2]}: group g, consumer c1, 5 deliveries: boom 20`
          )
          expect(pretty.stdout).toContain(`dead letter 2000-0 of ${keys[0]}:`)
          expect(pretty.stdout).not.toContain("3000-0")

          // One of the two 5000-0, by its partition; a bare id from whichever partition holds it.
          const one = yield* run([
            "dead-letters",
            "replay",
            "--id",
            "1:5000-0",
            "--id",
            "2000-0",
            "--id",
            "9-9",
            "--format",
            "json"
          ])
          expect(one.code).toBe(1)
          expect(one.stderr).toBe(
            `maf-events: not in any partition of ${stream} (<partition key>:dead of its 3 keys): 9-9\n`
          )
          expect(jsonLines(one.stdout).map((l) => [l.partition, l.id, l.original_id])).toEqual([
            [keys[0], "2000-0", "0-1"],
            [keys[1], "5000-0", "11-1"]
          ])
          expect(yield* entriesOf(server, keys[0]!)).toEqual([["data", eventData(0)]])
          expect(yield* entriesOf(server, keys[1]!)).toEqual([["data", eventData(11)]])
          expect(Number(yield* server.command("XLEN", Partitions.deadLetterKey(keys[2]!)))).toBe(2)

          const rest = yield* run(["dead-letters", "replay", "--all"])
          expect([rest.code, rest.stderr]).toEqual([0, ""])
          expect(rest.stdout).toContain(`replayed 1000-0 (originally 20-1) as `)
          expect(rest.stdout).toContain(` on ${keys[2]}`)
          expect(yield* entriesOf(server, keys[0]!)).toEqual([
            ["data", eventData(0)],
            ["data", eventData(1)]
          ])
          expect(yield* entriesOf(server, keys[1]!)).toEqual([
            ["data", eventData(11)],
            ["data", eventData(10)]
          ])
          expect(yield* entriesOf(server, keys[2]!)).toEqual([
            ["data", eventData(20)],
            ["data", eventData(21)]
          ])
          for (const key of keys)
            expect(Number(yield* server.command("XLEN", Partitions.deadLetterKey(key)))).toBe(0)
        })
    )

    it.scoped(
      "consume --partitions 3 --limit N settles N over all the keys, even when they hold entries of the same ids: nothing more is taken (none left pending), and entries on one key are not starved by reads blocked on the empty ones",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const keys = Partitions.keys(stream, 3)
          // The same two ids on every key.
          for (const [p, key] of keys.entries()) {
            for (const seq of [1, 2])
              yield* server.command("XADD", key, `1-${seq}`, "data", eventData(10 * p + seq))
          }
          const consume = (group: string, limit: number) =>
            Bin.run(
              withUrl(server, [
                ...["consume", "--stream", stream, "--partitions", "3", "--group", group, "--from", "0"],
                ...["--limit", String(limit), "--format", "json"]
              ])
            )
          const pendingOf = (group: string) =>
            Effect.forEach(keys, (key) =>
              Effect.map(server.command("XPENDING", key, group), (reply) => Number((reply as [number])[0]))
            )
          /** Entries of the stream a fresh member of `group` still gets (never delivered to the group). */
          const unread = (group: string) =>
            Effect.map(
              Effect.forEach(keys, (key) =>
                server.command("XREADGROUP", "GROUP", group, "late", "COUNT", 10, "STREAMS", key, ">")
              ),
              (replies) =>
                replies.reduce<number>(
                  (n, reply) =>
                    n +
                    ((reply as ReadonlyArray<[string, ReadonlyArray<unknown>]> | null)?.[0]?.[1].length ?? 0),
                  0
                )
            )

          for (const limit of [2, 5]) {
            const group = `limit-${limit}`
            const run = yield* consume(group, limit)
            expect([run.code, run.stderr]).toEqual([0, ""])
            const lines = jsonLines(run.stdout)
            expect(lines).toHaveLength(limit)
            // Each line's body is its own entry's (entries of the same id on two keys not mixed up).
            const payloads = lines.map((line) => (line.payload as { i: number }).i)
            expect(new Set(payloads).size).toBe(limit)
            for (const [n, line] of lines.entries())
              expect(payloads[n]! % 10).toBe(Number(String(line.stream_id).slice(2)))
            expect(yield* pendingOf(group)).toEqual([0, 0, 0])
            expect(yield* unread(group)).toBe(6 - limit)
          }

          // Entries on the last key alone: the reads blocked on the two empty keys do not hold it up.
          const lone = freshStream()
          const loneKeys = Partitions.keys(lone, 3)
          for (let i = 0; i < 4; i++) yield* xadd(server, loneKeys[2]!, eventData(i))
          const run = yield* Bin.run(
            withUrl(server, [
              ...["consume", "--stream", lone, "--partitions", "3", "--group", "g", "--from", "0"],
              ...["--limit", "4", "--format", "json"]
            ])
          )
          expect([run.code, run.stderr]).toEqual([0, ""])
          expect(jsonLines(run.stdout).map((line) => (line.payload as { i: number }).i)).toEqual([0, 1, 2, 3])
        }),
      { timeout: 60_000 }
    )

    it.effect(
      "--dead-letter with --partitions, an id of no partition, a name that cannot be partitioned: one line, exit 2",
      () =>
        Effect.gen(function* () {
          const stream = freshStream()
          const partitioned = ["--stream", stream, "--partitions", "3"]
          yield* refused([
            [
              ["dead-letters", "list", ...partitioned, "--dead-letter", `${stream}:dlq`],
              "--dead-letter cannot be given with --partitions"
            ],
            [
              ["dead-letters", "replay", ...partitioned, "--id", "3:1-0"],
              '--id 3:1-0 names partition "3": the stream has partitions 0 to 2'
            ],
            [
              ["dead-letters", "replay", ...partitioned, "--id", "1:last"],
              "--id must be an entry id like 1715680953123-0, or <partition index>:<entry id>"
            ],
            [
              ["serve", "--stream", `{${stream}}`, "--partitions", "3", "--port", "0"],
              `--stream with --partitions 3: a partitioned stream's name may not hold "{" or "}"`
            ],
            ...[
              ["tail"],
              ["publish", "arena.start"],
              ["consume", "--group", "g"],
              ["group", "info", "--group", "g"]
            ].map((command): [ReadonlyArray<string>, string] => [
              [...command, "--stream", `a{${stream}`, "--partitions", "3"],
              `--stream with --partitions 3: a partitioned stream's name may not hold "{" or "}"`
            ])
          ])
        })
    )
  }
)
