/**
 * Failovers and slot migrations of a real Redis Cluster under a steady load (an awaited and a
 * fire-and-forget publisher, a reader from "0", a group member): a graceful failover of the stream's
 * master, a SIGKILLed master (with `waitForReplicas`: no Written event lost), and a migration of the
 * stream's slot (ASK, then MOVED). Each run's figures are printed (`FAILOVER …`) for the notes.
 */
import { expect, layer } from "@effect/vitest"
import { RedisTestCluster } from "@maf/events-test"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { type Connection, report, steadyLoad, summarize, taggedEntries } from "./helpers/steadyLoad.js"

type Cluster = RedisTestCluster.RedisTestCluster["Type"]

let streams = 0
const freshStream = () => `failover:${process.pid}:${++streams}`

/** The stream's entries, from its master, tagged by publisher and number. */
const entriesOf = (cluster: Cluster, stream: string) =>
  Effect.flatMap(cluster.masterOf(stream), (master) =>
    Effect.map(cluster.command({ port: master.port }, "XRANGE", stream, "-", "+"), taggedEntries)
  )

/** What every fault must leave true. */
const expectPromisesKept = (figures: ReturnType<typeof summarize>) => {
  expect(figures.writtenLost).toEqual([])
  expect(figures.notSentButWritten).toEqual([])
  expect(figures.bufferedLost).toBe(0)
  expect(figures.readInOrderOnce).toBe(true)
  expect(figures.handledAll).toBe(true)
  // Every awaited publish answered within its bound (2 s) and a little scheduling.
  expect(figures.maxPublishMillis).toBeLessThan(2_500)
  expect(figures.written).toBeGreaterThan(0)
}

/**
 * The steady load on a fresh stream of the cluster through `fault` (`settings`: more connection options,
 * the load's time after the fault);
 * the promises every fault must keep checked, the figures printed.
 */
const underLoad = <E>(
  name: string,
  fault: (cluster: Cluster, stream: string) => Effect.Effect<void, E>,
  settings: { readonly connection?: Partial<Connection>; readonly after?: Duration.DurationInput } = {}
) =>
  Effect.gen(function* () {
    const cluster = yield* RedisTestCluster.RedisTestCluster
    const stream = freshStream()
    const run = yield* steadyLoad({
      connection: { url: cluster.url, cluster: true, ...settings.connection },
      stream,
      fault: fault(cluster, stream),
      entries: entriesOf(cluster, stream),
      ...(settings.after !== undefined ? { after: settings.after } : {})
    })
    const figures = summarize(run)
    yield* report(name, figures)
    expectPromisesKept(figures)
    return run
  })

/** The stream's slot migrated to another master: half done for 300 ms (`ASK`), then finished (`MOVED`). */
const migrateStreamSlot = (cluster: Cluster, stream: string) =>
  Effect.gen(function* () {
    const master = yield* cluster.masterOf(stream)
    const other = (yield* cluster.topology).find(
      (node) => node.role === "master" && node.running && node.port !== master.port
    )!
    const migration = yield* cluster.beginMigration(cluster.slotOf(stream), { port: other.port })
    // Half done for a moment: the stream's key still on its old master, clients asked to ASK.
    yield* Effect.sleep(Duration.millis(300))
    yield* migration.finish
  })

layer(RedisTestCluster.layer({ nodeTimeout: Duration.millis(1_000) }), {
  excludeTestServices: true,
  timeout: 120_000
})("a Redis Cluster under a steady load", (it) => {
  it.scoped(
    "a graceful failover of the stream's master: every Written event kept, buffered events arrive, readers and members go on",
    () =>
      underLoad("graceful", (cluster, stream) =>
        Effect.flatMap(cluster.masterOf(stream), (master) => cluster.failover({ port: master.port }))
      ),
    120_000
  )

  it.scoped(
    "a migration of the stream's slot to another master (ASK while it moves, MOVED after): nothing lost, nothing read twice",
    () => underLoad("migration", migrateStreamSlot),
    120_000
  )

  it.scoped(
    "a migration of the stream's slot with waitForReplicas (XADDs then WAIT in one pipeline, which ioredis does not redirect): the writer follows MOVED to the new master",
    () =>
      Effect.gen(function* () {
        const run = yield* underLoad("migration-wait", migrateStreamSlot, {
          connection: { waitForReplicas: { replicas: 1, timeout: Duration.millis(500) } },
          after: Duration.seconds(2)
        })
        // Publishing did not stop at the old master: the last awaited publishes were written.
        const last = run.awaited.slice(-20)
        expect(last.length).toBe(20)
        expect(last.filter((a) => a.result._tag !== "Written")).toEqual([])
        expect(run.unavailableMillis).toBeLessThan(2_000)
      }),
    120_000
  )

  it.scoped(
    "a SIGKILLed master with waitForReplicas: every Written event survives the hard failover",
    () =>
      Effect.gen(function* () {
        const cluster = yield* RedisTestCluster.RedisTestCluster
        let killed = 0
        const run = yield* underLoad(
          "sigkill-wait",
          (cluster, stream) =>
            Effect.flatMap(cluster.masterOf(stream), (master) => {
              killed = master.port
              return cluster.kill({ port: master.port })
            }),
          {
            connection: { waitForReplicas: { replicas: 1, timeout: Duration.millis(500) } },
            after: Duration.seconds(3)
          }
        )
        yield* cluster.start({ port: killed })
        // A Written result that says one replica has it was not lost with the master.
        const replicated = run.awaited.filter((a) => a.result._tag === "Written" && a.result.replicas === 1)
        expect(replicated.length).toBeGreaterThan(0)
      }),
    120_000
  )
})
