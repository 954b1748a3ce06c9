/**
 * The commands of one key (`dead-letters list|replay`, `serve` with its group watch, `demo`) on a Redis
 * Cluster (`--cluster`) and on a master watched by Sentinel (a `redis+sentinel://` URL), as a user
 * runs them: the built `maf-events` as a process.
 *
 * On a Cluster, a dead-letter stream named after its stream (`<stream>:dead`) is in another slot:
 * the replay adds then deletes, in steps; one that shares the stream's `{hash tag}` is replayed by
 * the one-step script. Either way every dead letter is listed, replayed once and deleted. A
 * partitioned stream (`--partitions 3`) has its partitions on three masters: each partition's dead
 * letters are listed and replayed on its own key (one slot: the one-step script), `serve`'s group
 * watch merges the group over the three, and `demo` publishes its runs on them and works through
 * each with its groups.
 */
import { beforeAll, expect, layer } from "@effect/vitest"
import { Partitions } from "@maf/events"
import { RedisTestCluster, RedisTestSentinel } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Bin from "./helpers/bin.js"
import { checkOnRedis, checkPartitionedDemo, shortDemo } from "./helpers/demo.js"

beforeAll(() => Bin.assertBuilt())

type Command = (...args: ReadonlyArray<string | number>) => Effect.Effect<unknown, unknown>

/** Where a command's key is: after `STREAMS` for `XREADGROUP`, after the subcommand for `XGROUP` and `XINFO`. */
const keyOf = (args: ReadonlyArray<string | number>): string =>
  String(
    args[args[0] === "XREADGROUP" ? args.length - 2 : args[0] === "XGROUP" || args[0] === "XINFO" ? 2 : 1]
  )

/** A raw command sent to the master of its key's slot. */
const onMasterOf =
  (cluster: RedisTestCluster.RedisTestCluster["Type"]): Command =>
  (...args) =>
    Effect.flatMap(cluster.masterOf(keyOf(args)), (master) => cluster.command({ port: master.port }, ...args))

const body = (i: number) =>
  JSON.stringify({
    schema_version: "1",
    kind: "agent.signal",
    arena: "trading",
    ts: "2026-05-14T11:22:33.123456+00:00",
    payload: { i }
  })

/** Two dead letters as a consumer writes them (the original's `data`, then the consumer's fields). */
const seedDeadLetters = (command: Command, deadStream: string) =>
  Effect.forEach([0, 1], (i) =>
    command(
      ...["XADD", deadStream, "*", "data", body(i), "original_id", `${i + 1}-0`, "group", "g"],
      ...["consumer", "c1", "delivery_count", 5, "error", "boom"]
    )
  )

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>)

/**
 * `dead-letters list` shows the two seeded letters; `replay --all` puts their `data` back on the
 * stream (a new id each, the original id said) and deletes them; a second list finds none.
 */
const listAndReplay = (
  command: Command,
  connection: { readonly args: ReadonlyArray<string>; readonly env: NodeJS.ProcessEnv },
  stream: string,
  deadStream: string
) =>
  Effect.gen(function* () {
    yield* seedDeadLetters(command, deadStream)
    const run = (args: ReadonlyArray<string>) => Bin.run([...args, ...connection.args], connection.env)
    const list = yield* run(["dead-letters", "list", "--stream", stream, "--format", "json"])
    expect(list.stderr).toBe("")
    expect(list.code).toBe(0)
    expect(
      jsonLines(list.stdout).map((l) => [l.original_id, l.error, (l.event as { payload: unknown }).payload])
    ).toEqual([
      ["1-0", "boom", { i: 0 }],
      ["2-0", "boom", { i: 1 }]
    ])

    const replay = yield* run(["dead-letters", "replay", "--stream", stream, "--all", "--format", "json"])
    expect(replay.stderr).toBe("")
    expect(replay.code).toBe(0)
    expect(jsonLines(replay.stdout).map((l) => l.original_id)).toEqual(["1-0", "2-0"])
    const entries = (yield* command("XRANGE", stream, "-", "+")) as ReadonlyArray<[string, Array<string>]>
    expect(entries.map(([, fields]) => fields)).toEqual([
      ["data", body(0)],
      ["data", body(1)]
    ])
    expect(Number(yield* command("XLEN", deadStream))).toBe(0)

    const after = yield* run(["dead-letters", "list", "--stream", stream])
    expect([after.code, after.stdout, after.stderr]).toEqual([0, "", `no dead letters in ${deadStream}\n`])
  })

/** The stream's group as `serve`'s `/metrics` shows it (the group watch reads every 2 s). */
const servedGroupPending = (
  connection: { readonly args: ReadonlyArray<string>; readonly env: NodeJS.ProcessEnv },
  stream: string,
  group: string
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const serve = yield* Bin.start(
        ["serve", "--port", "0", "--stream", stream, ...connection.args],
        connection.env
      )
      yield* serve.until("the dashboard's address", () => /^Dashboard: \S+\n/m.test(serve.stdout()))
      const url = /^Dashboard: (\S+)$/m.exec(serve.stdout())![1]!
      const sample = `maf_events_group_pending{group="${group}",stream="${stream}"} `
      const text = yield* Effect.promise(() => fetch(`${url}metrics`).then((r) => r.text())).pipe(
        Effect.filterOrFail((t) => t.includes(sample)),
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("10 seconds"))),
        Effect.orElse(() =>
          Effect.die(new Error(`no ${sample.trim()} on /metrics; stderr: ${serve.stderr()}`))
        )
      )
      const line = text.split("\n").find((l) => l.startsWith(sample))!
      return Number(line.slice(sample.length))
    })
  )

/** A group on `stream` whose member took two entries and acknowledged none. */
const seedGroup = (command: Command, stream: string, group: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 3; i++) yield* command("XADD", stream, "*", "data", body(i))
    yield* command("XGROUP", "CREATE", stream, group, "0")
    yield* command("XREADGROUP", "GROUP", group, "w1", "COUNT", 2, "STREAMS", stream, ">")
  })

layer(RedisTestCluster.layer({ replicasPerMaster: 0 }), { excludeTestServices: true, timeout: 60_000 })(
  "the commands of one key on a Redis Cluster (--cluster)",
  (it) => {
    it.effect(
      "dead-letters list and replay, the dead-letter stream in another slot: added, then deleted",
      () =>
        Effect.gen(function* () {
          const cluster = yield* RedisTestCluster.RedisTestCluster
          const stream = `test:cli-dead:${process.pid}`
          expect(cluster.slotOf(stream)).not.toBe(cluster.slotOf(`${stream}:dead`))
          yield* listAndReplay(
            onMasterOf(cluster),
            { args: ["--redis-url", cluster.url, "--cluster"], env: {} },
            stream,
            `${stream}:dead`
          )
        })
    )

    it.effect(
      "dead-letters list and replay, the two streams under one hash tag: in one step (REDIS_CLUSTER)",
      () =>
        Effect.gen(function* () {
          const cluster = yield* RedisTestCluster.RedisTestCluster
          const stream = `{test:cli-dead-tagged:${process.pid}}`
          expect(cluster.slotOf(stream)).toBe(cluster.slotOf(`${stream}:dead`))
          yield* listAndReplay(
            onMasterOf(cluster),
            { args: [], env: { REDIS_URL: cluster.url, REDIS_CLUSTER: "true" } },
            stream,
            `${stream}:dead`
          )
        })
    )

    it.effect(
      "dead-letters list and replay --partitions 3, the partitions on three masters: each dead letter back on its own partition key",
      () =>
        Effect.gen(function* () {
          const cluster = yield* RedisTestCluster.RedisTestCluster
          const command = onMasterOf(cluster)
          const stream = `test:cli-dead-parts:${process.pid}`
          const keys = Partitions.keys(stream, 3)
          const masters = new Set<number>()
          for (const [i, key] of keys.entries()) {
            masters.add((yield* cluster.masterOf(key)).port)
            expect(cluster.slotOf(Partitions.deadLetterKey(key))).toBe(cluster.slotOf(key))
            yield* command(
              ...[
                "XADD",
                Partitions.deadLetterKey(key),
                `${i + 1}-0`,
                "data",
                body(i),
                "original_id",
                `${i}-1`
              ],
              ...["group", "g", "consumer", "c1", "delivery_count", 5, "error", "boom"]
            )
          }
          expect(masters.size).toBe(3)
          const run = (args: ReadonlyArray<string>) =>
            Bin.run([
              ...args,
              "--redis-url",
              cluster.url,
              "--cluster",
              "--partitions",
              "3",
              "--stream",
              stream
            ])
          const list = yield* run(["dead-letters", "list", "--format", "json"])
          expect([list.code, list.stderr]).toEqual([0, ""])
          expect(jsonLines(list.stdout).map((l) => [l.partition, l.id, l.original_id])).toEqual(
            keys.map((key, i) => [key, `${i + 1}-0`, `${i}-1`])
          )
          const replay = yield* run(["dead-letters", "replay", "--all", "--format", "json"])
          expect([replay.code, replay.stderr]).toEqual([0, ""])
          expect(jsonLines(replay.stdout).map((l) => [l.partition, l.original_id])).toEqual(
            keys.map((key, i) => [key, `${i}-1`])
          )
          for (const [i, key] of keys.entries()) {
            const entries = (yield* command("XRANGE", key, "-", "+")) as ReadonlyArray<
              [string, Array<string>]
            >
            expect(entries.map(([, fields]) => fields)).toEqual([["data", body(i)]])
            expect(Number(yield* command("XLEN", Partitions.deadLetterKey(key)))).toBe(0)
          }
        })
    )

    it.effect("serve --cluster --partitions 3: the group watch merges the group over the three masters", () =>
      Effect.gen(function* () {
        const cluster = yield* RedisTestCluster.RedisTestCluster
        const stream = `test:cli-serve-parts:${process.pid}`
        for (const key of Partitions.keys(stream, 3)) yield* seedGroup(onMasterOf(cluster), key, "workers")
        expect(
          yield* servedGroupPending(
            { args: ["--redis-url", cluster.url, "--cluster", "--partitions", "3"], env: {} },
            stream,
            "workers"
          )
        ).toBe(6)
      })
    )

    it.effect(
      "demo --cluster --partitions 3: each arena's run on its partition's master, shown by the tail, taken by the groups on each key",
      () =>
        Effect.gen(function* () {
          const cluster = yield* RedisTestCluster.RedisTestCluster
          const stream = `test:cli-demo-parts:${process.pid}`
          const result = yield* Bin.run(
            shortDemo(stream, "--partitions", "3", "--redis-url", cluster.url, "--cluster")
          )
          const reported = checkPartitionedDemo(result, stream)
          yield* checkOnRedis(onMasterOf(cluster), reported)
          // The partition keys are on three masters.
          const masters = yield* Effect.forEach(reported.keys(), (key) => cluster.masterOf(key))
          expect(new Set(masters.map((m) => m.port)).size).toBe(3)
        })
    )

    it.effect("serve --cluster: the group watch reads the stream's groups from the node that holds it", () =>
      Effect.gen(function* () {
        const cluster = yield* RedisTestCluster.RedisTestCluster
        const stream = `test:cli-serve:${process.pid}`
        yield* seedGroup(onMasterOf(cluster), stream, "workers")
        expect(
          yield* servedGroupPending(
            { args: ["--redis-url", cluster.url, "--cluster"], env: {} },
            stream,
            "workers"
          )
        ).toBe(2)
      })
    )
  }
)

layer(RedisTestSentinel.layer(), { excludeTestServices: true, timeout: 60_000 })(
  "the commands of one key on a master watched by Sentinel (redis+sentinel://)",
  (it) => {
    it.effect("dead-letters list and replay through the sentinels", () =>
      Effect.gen(function* () {
        const sentinel = yield* RedisTestSentinel.RedisTestSentinel
        const stream = `test:cli-dead:${process.pid}`
        yield* listAndReplay(
          sentinel.command,
          { args: [], env: { REDIS_URL: sentinel.url } },
          stream,
          `${stream}:dead`
        )
      })
    )

    it.effect("demo --redis-url redis+sentinel://…: a simulated run published on the master and shown", () =>
      Effect.gen(function* () {
        const sentinel = yield* RedisTestSentinel.RedisTestSentinel
        const stream = `test:cli-demo:${process.pid}`
        const result = yield* Bin.run([
          "demo",
          "--redis-url",
          sentinel.url,
          "--stream",
          stream,
          "--runs",
          "1",
          "--interval",
          "0",
          "--port",
          "0"
        ])
        expect(result.code).toBe(0)
        const length = Number(yield* sentinel.command("XLEN", stream))
        expect(length).toBeGreaterThan(30)
        expect(result.stdout.trim().split("\n").slice(1)).toHaveLength(length)
      })
    )

    it.effect("serve: the dashboard and its group watch on the master the sentinels name", () =>
      Effect.gen(function* () {
        const sentinel = yield* RedisTestSentinel.RedisTestSentinel
        const stream = `test:cli-serve:${process.pid}`
        yield* seedGroup(sentinel.command, stream, "workers")
        expect(
          yield* servedGroupPending({ args: ["--redis-url", sentinel.url], env: {} }, stream, "workers")
        ).toBe(2)
      })
    )
  }
)
