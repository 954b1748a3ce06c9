/**
 * The commands on a master watched by Sentinel, through a `redis+sentinel://` URL, as a user runs
 * them: `publish --input` from standard input through a graceful failover, then `tail` from the new
 * master. Without the library's WAIT option, what the former master took after the switch and before
 * it was made a replica is lost though counted as written: the test measures it (`SENTINEL-CLI …`)
 * and holds what is promised (every event of before the failover kept, the order, the counts).
 */
import { beforeAll, expect, layer } from "@effect/vitest"
import { RedisTestSentinel } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Bin from "./helpers/bin.js"
import { eventLines } from "./helpers/inputs.js"

beforeAll(() => Bin.assertBuilt())

layer(RedisTestSentinel.layer(), { excludeTestServices: true, timeout: 120_000 })(
  "the commands on a master watched by Sentinel",
  (it) => {
    it.scoped(
      "publish --input through a graceful failover: every line counted, the events of before it kept, the order kept; tail reads them",
      () =>
        Effect.gen(function* () {
          const sentinel = yield* RedisTestSentinel.RedisTestSentinel
          const stream = `test:cli-sentinel:${process.pid}`
          const former = yield* sentinel.master
          const publish = yield* Bin.start(
            ["publish", "--input", "-", "--stream", stream],
            { REDIS_URL: sentinel.url },
            "pipe"
          )
          const stdin = publish.child.stdin!
          stdin.write(`${eventLines(5_000).join("\n")}\n`)
          const before = yield* Effect.repeat(Effect.map(sentinel.command("XLEN", stream), Number), {
            until: (n) => n > 0
          })
          // The failover while the events go, and more come.
          const failover = yield* Effect.fork(sentinel.failover)
          stdin.write(`${eventLines(5_000, { from: 5_000 }).join("\n")}\n`)
          stdin.end()
          expect((yield* failover).port).not.toBe(former.port)
          const result = yield* publish.exit
          const summary = JSON.parse(result.stdout) as { written: number; not_written: number }
          expect(summary.written + summary.not_written).toBe(10_000)
          expect(result.code).toBe(summary.not_written === 0 ? 0 : 1)
          yield* sentinel.awaitSettled

          const length = Number(yield* sentinel.command("XLEN", stream))
          const tail = yield* Bin.run(
            ["tail", "--stream", stream, "--from", "0", "--limit", String(length), "--format", "json"],
            { REDIS_URL: sentinel.url }
          )
          expect(tail.code).toBe(0)
          const read = tail.stdout
            .trim()
            .split("\n")
            .map((line) => (JSON.parse(line) as { payload: { i: number } }).payload.i)
          // Each event at most... once or twice (a batch re-sent after the switch), first occurrences in order.
          const seen = new Set<number>()
          const firsts = read.filter((i) => !seen.has(i) && seen.add(i) !== undefined)
          expect(firsts.every((i, k) => k === 0 || i > firsts[k - 1]!)).toBe(true)
          // Written before the failover began: replicated, kept.
          expect(firsts.slice(0, before)).toEqual(Array.from({ length: before }, (_, i) => i))
          const lost = summary.written - firsts.length
          yield* Effect.sync(() =>
            console.log(
              `SENTINEL-CLI ${JSON.stringify({ written: summary.written, not_written: summary.not_written, in_stream: firsts.length, duplicates: read.length - firsts.length, lost, before_failover: before })}`
            )
          )
          expect(lost).toBeGreaterThanOrEqual(0)
        }),
      120_000
    )
  }
)
