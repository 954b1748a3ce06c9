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
import { type LoadRun, report, steadyLoad, summarize, taggedEntries } from "./helpers/steadyLoad.js"

type Sentinel = RedisTestSentinel.RedisTestSentinel["Type"]

let streams = 0
const freshStream = () => `failover:${process.pid}:${++streams}`

const entriesOf = (sentinel: Sentinel, stream: string) =>
  Effect.map(sentinel.command("XRANGE", stream, "-", "+"), taggedEntries)

/** Every awaited publish written with a replica's acknowledgement is in the stream after the failover. */
const expectAcknowledgedKept = (run: LoadRun) => {
  const acknowledged = run.awaited.filter((a) => a.result._tag === "Written" && a.result.replicas === 1)
  expect(acknowledged.length).toBeGreaterThan(0)
  const inStream = new Set(run.stream.map((e) => e.tag))
  expect(acknowledged.filter((a) => !inStream.has(a.tag)).map((a) => a.tag)).toEqual([])
}

/**
 * The steady load through a graceful failover or a SIGKILLed master (started again after), with or
 * without `waitForReplicas`; what holds in every case checked, the figures printed.
 */
const underLoad = (fault: "graceful" | "sigkill", wait: boolean) =>
  Effect.gen(function* () {
    const sentinel = yield* RedisTestSentinel.RedisTestSentinel
    const stream = freshStream()
    const master = yield* sentinel.master
    const run = yield* steadyLoad({
      connection: {
        url: sentinel.url,
        ...(wait ? { waitForReplicas: { replicas: 1, timeout: Duration.millis(500) } } : {})
      },
      stream,
      fault:
        fault === "graceful"
          ? Effect.zipRight(sentinel.failover, sentinel.awaitSettled)
          : sentinel.killMaster,
      entries: entriesOf(sentinel, stream),
      after: Duration.seconds(3)
    })
    if (fault === "sigkill") yield* Effect.zipRight(sentinel.start(master), sentinel.awaitSettled)
    const figures = summarize(run)
    yield* report(`sentinel-${fault}${wait ? "-wait" : ""}`, figures)
    // An event answered "not sent" is never in the stream; every publish answered within its bound.
    expect(figures.notSentButWritten).toEqual([])
    expect(figures.maxPublishMillis).toBeLessThan(2_500)
    return { run, figures }
  })

layer(RedisTestSentinel.layer(), { excludeTestServices: true, timeout: 120_000 })(
  "a master watched by Sentinel under a steady load",
  (it) => {
    it.scoped(
      "a graceful failover with waitForReplicas: no Written event that a replica acknowledged is lost",
      () => Effect.map(underLoad("graceful", true), ({ run }) => expectAcknowledgedKept(run)),
      120_000
    )

    it.scoped(
      "a graceful failover without waitForReplicas: publishing goes on; what the old master took after the promotion is measured",
      () => Effect.map(underLoad("graceful", false), ({ figures }) => expect(figures.handledAll).toBe(true)),
      120_000
    )

    it.scoped(
      "a SIGKILLed master with waitForReplicas: no Written event that a replica acknowledged is lost",
      () => Effect.map(underLoad("sigkill", true), ({ run }) => expectAcknowledgedKept(run)),
      120_000
    )

    it.scoped(
      "a SIGKILLed master without waitForReplicas: publishing and reading go on; what was lost is measured",
      () =>
        Effect.map(underLoad("sigkill", false), ({ figures }) => {
          // Publishing went on on the new master (-1: never written again), nothing read twice.
          expect(figures.unavailableMillis).toBeGreaterThanOrEqual(0)
          expect(figures.readDuplicates).toBe(0)
        }),
      120_000
    )
  }
)
