/**
 * Failovers of a master watched by Sentinel under a steady load (an awaited and a fire-and-forget
 * publisher, a reader from "0", a group member), through a `redis+sentinel://` URL: a graceful
 * failover and a SIGKILLed master, each with `waitForReplicas` (no Written event that a replica
 * acknowledged is lost) and without it (what asynchronous replication lost is measured, not
 * promised: Sentinel promotes the replica while the old master still takes writes, and those are
 * gone when it becomes a replica). Figures printed (`FAILOVER …`).
 */
import { expect, layer } from "@effect/vitest"
import { RedisTestSentinel } from "@maf/events-test"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { type LoadRun, steadyLoad, summarize, type Tagged } from "./helpers/steadyLoad.js"

type Sentinel = RedisTestSentinel.RedisTestSentinel["Type"]

let streams = 0
const freshStream = () => `failover:${process.pid}:${++streams}`

const entriesOf = (sentinel: Sentinel, stream: string) =>
  Effect.map(sentinel.command("XRANGE", stream, "-", "+"), (reply) =>
    (reply as ReadonlyArray<[string, ReadonlyArray<string>]>).map(([id, fields]): Tagged => {
      const data = JSON.parse(fields[fields.indexOf("data") + 1]!) as {
        payload?: { src?: string; n?: number }
      }
      return { id, tag: `${data.payload?.src}:${data.payload?.n}` }
    })
  )

/** Every awaited publish written with a replica's acknowledgement is in the stream after the failover. */
const expectAcknowledgedKept = (run: LoadRun) => {
  const acknowledged = run.awaited.filter((a) => a.result._tag === "Written" && a.result.replicas === 1)
  expect(acknowledged.length).toBeGreaterThan(0)
  const inStream = new Set(run.stream.map((e) => e.tag))
  expect(acknowledged.filter((a) => !inStream.has(a.tag)).map((a) => a.tag)).toEqual([])
}

const report = (name: string, figures: ReturnType<typeof summarize>) =>
  Effect.sync(() => console.log(`FAILOVER ${name} ${JSON.stringify(figures)}`))

layer(RedisTestSentinel.layer(), { excludeTestServices: true, timeout: 120_000 })(
  "a master watched by Sentinel under a steady load",
  (it) => {
    it.scoped(
      "a graceful failover with waitForReplicas: no Written event that a replica acknowledged is lost",
      () =>
        Effect.gen(function* () {
          const sentinel = yield* RedisTestSentinel.RedisTestSentinel
          const stream = freshStream()
          const run = yield* steadyLoad({
            connection: {
              url: sentinel.url,
              waitForReplicas: { replicas: 1, timeout: Duration.millis(500) }
            },
            stream,
            fault: Effect.zipRight(sentinel.failover, sentinel.awaitSettled),
            entries: entriesOf(sentinel, stream),
            after: Duration.seconds(3)
          })
          const figures = summarize(run)
          yield* report("sentinel-graceful-wait", figures)
          expectAcknowledgedKept(run)
          expect(figures.notSentButWritten).toEqual([])
          expect(figures.maxPublishMillis).toBeLessThan(2_500)
        }),
      120_000
    )

    it.scoped(
      "a graceful failover without waitForReplicas: publishing goes on; what the old master took after the promotion is measured",
      () =>
        Effect.gen(function* () {
          const sentinel = yield* RedisTestSentinel.RedisTestSentinel
          const stream = freshStream()
          const run = yield* steadyLoad({
            connection: { url: sentinel.url },
            stream,
            fault: Effect.zipRight(sentinel.failover, sentinel.awaitSettled),
            entries: entriesOf(sentinel, stream),
            after: Duration.seconds(3)
          })
          const figures = summarize(run)
          yield* report("sentinel-graceful", figures)
          expect(figures.notSentButWritten).toEqual([])
          expect(figures.maxPublishMillis).toBeLessThan(2_500)
          expect(figures.handledAll).toBe(true)
        }),
      120_000
    )

    it.scoped(
      "a SIGKILLed master with waitForReplicas: no Written event that a replica acknowledged is lost",
      () =>
        Effect.gen(function* () {
          const sentinel = yield* RedisTestSentinel.RedisTestSentinel
          const stream = freshStream()
          const killed = yield* sentinel.master
          const run = yield* steadyLoad({
            connection: {
              url: sentinel.url,
              waitForReplicas: { replicas: 1, timeout: Duration.millis(500) }
            },
            stream,
            fault: sentinel.killMaster,
            entries: entriesOf(sentinel, stream),
            after: Duration.seconds(3)
          })
          yield* sentinel.start(killed)
          yield* sentinel.awaitSettled
          const figures = summarize(run)
          yield* report("sentinel-sigkill-wait", figures)
          expectAcknowledgedKept(run)
          expect(figures.notSentButWritten).toEqual([])
          expect(figures.maxPublishMillis).toBeLessThan(2_500)
        }),
      120_000
    )

    it.scoped(
      "a SIGKILLed master without waitForReplicas: publishing and reading go on; what was lost is measured",
      () =>
        Effect.gen(function* () {
          const sentinel = yield* RedisTestSentinel.RedisTestSentinel
          const stream = freshStream()
          const killed = yield* sentinel.master
          const run = yield* steadyLoad({
            connection: { url: sentinel.url },
            stream,
            fault: sentinel.killMaster,
            entries: entriesOf(sentinel, stream),
            after: Duration.seconds(3)
          })
          yield* sentinel.start(killed)
          yield* sentinel.awaitSettled
          const figures = summarize(run)
          yield* report("sentinel-sigkill", figures)
          expect(figures.notSentButWritten).toEqual([])
          expect(figures.maxPublishMillis).toBeLessThan(2_500)
          // Publishing went on on the new master.
          expect(figures.unavailableMillis).toBeGreaterThanOrEqual(0)
          expect(figures.readDuplicates).toBe(0)
        }),
      120_000
    )
  }
)
