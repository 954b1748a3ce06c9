import { describe, expect, layer } from "@effect/vitest"
import { EventBus, PublishMetrics, PublishResult, StreamBackend, WireCodec } from "@maf/events"
import { RedisEventBus, RedisStreamBackend } from "@maf/events-redis"
import { RedisTestServer, TcpProxy } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"

type Entry = [string, Array<string>]

/** Milliseconds an effect took, on the real clock. */
const elapsed = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const start = Date.now()
    const value = yield* self
    return [value, Date.now() - start] as const
  })

const entriesOf = (server: RedisTestServer.RedisTestServer["Type"], stream: string) =>
  Effect.map(server.command("XRANGE", stream, "-", "+"), (reply) => reply as Array<Entry>)

const payloadIndexes = (entries: Array<Entry>) =>
  entries.map(([, fields]) => (JSON.parse(fields[1]!).payload as { i: number }).i)

let streamCounter = 0
/** A stream of its own for each test: the server is shared by the file. */
const freshStream = () => `test:bus:${++streamCounter}`

/** A port where nothing listens. */
const deadUrl = "redis://127.0.0.1:1/0"

layer(RedisTestServer.layer(), { excludeTestServices: true })(
  "RedisEventBus on a real redis-server",
  (it) => {
    it.scoped(
      "round trip: the entry has one field, data, with the wire body in the reference's key order",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const result = yield* EventBus.publish({
            kind: "phase.complete",
            arena: "trading_intelligence",
            arenaId: "a-1",
            phase: "analysis",
            correlationId: "0123456789abcdef0123456789abcdef",
            payload: { score: 0.9, tags: ["a", "b"] }
          }).pipe(Effect.provide(RedisEventBus.layer({ url: server.url, stream })))
          const entries = yield* entriesOf(server, stream)
          expect(entries).toHaveLength(1)
          const [id, fields] = entries[0]!
          expect(result).toEqual(PublishResult.Written({ id }))
          expect(fields).toHaveLength(2)
          expect(fields[0]).toBe("data")
          const body = JSON.parse(fields[1]!)
          expect(Object.keys(body)).toEqual([...WireCodec.bodyKeys])
          expect(body).toMatchObject({
            schema_version: "1",
            kind: "phase.complete",
            arena: "trading_intelligence",
            arena_id: "a-1",
            phase: "analysis",
            correlation_id: "0123456789abcdef0123456789abcdef",
            payload: { score: 0.9, tags: ["a", "b"] }
          })
          expect(body.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/)
        })
    )

    for (const appendMode of ["script", "pipeline"] as const) {
      it.scoped(`one publisher's events keep their order, awaited and buffered (${appendMode} batches)`, () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          yield* Effect.scoped(
            Effect.gen(function* () {
              const bus = yield* EventBus.EventBus
              for (let i = 0; i < 100; i++) yield* bus.publish({ kind: "agent.signal", payload: { i } })
              for (let i = 100; i < 5100; i++)
                yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })
              yield* bus.flush
              for (let i = 5100; i < 5200; i++) yield* bus.publish({ kind: "agent.signal", payload: { i } })
            }).pipe(
              Effect.provide(RedisEventBus.layer({ url: server.url, stream, appendMode, batchSize: 256 }))
            )
          )
          const entries = yield* entriesOf(server, stream)
          expect(payloadIndexes(entries)).toEqual(Array.from({ length: 5200 }, (_, i) => i))
        })
      )
    }

    it.scoped(
      "a server that lost the append script (SCRIPT FLUSH) is given it again: nothing lost, nothing twice",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          yield* Effect.scoped(
            Effect.gen(function* () {
              const bus = yield* EventBus.EventBus
              for (let round = 0; round < 3; round++) {
                for (let i = 0; i < 1000; i++) {
                  yield* bus.publishNowait({ kind: "llm.call", payload: { i: round * 1000 + i } })
                }
                yield* bus.flush
                yield* server.command("SCRIPT", "FLUSH")
              }
            }).pipe(Effect.provide(RedisEventBus.layer({ url: server.url, stream, appendMode: "script" })))
          )
          expect(payloadIndexes(yield* entriesOf(server, stream))).toEqual(
            Array.from({ length: 3000 }, (_, i) => i)
          )
        })
    )

    it.scoped(
      "a batch whose bound passed before the server answered NOSCRIPT is not sent again: given up is not written",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const stream = freshStream()
          const backend = yield* RedisStreamBackend.make({ url: server.url, appendMode: "script" })
          const bodies = (from: number) =>
            [0, 1].map((i) =>
              JSON.stringify({ kind: "llm.call", ts: "2026-05-14T11:22:33Z", payload: { i: from + i } })
            )
          // The script is on the server and the connection knows it: the next batch goes by EVALSHA.
          expect(yield* backend.append(stream, bodies(0), { maxlen: 0 })).toHaveLength(2)
          yield* server.command("SCRIPT", "FLUSH")
          // The server hangs: the EVALSHA's NOSCRIPT comes after the batch's bound has passed.
          yield* server.hang("600 millis")
          const error = yield* Effect.flip(
            backend.append(stream, bodies(2), { maxlen: 0, timeoutMillis: 200 })
          )
          expect(error.reason).toBe("Timeout")
          yield* Effect.sleep("900 millis")
          expect(payloadIndexes(yield* entriesOf(server, stream))).toEqual([0, 1])
          // The next batch gets the script again, in full.
          expect(yield* backend.append(stream, bodies(4), { maxlen: 0 })).toHaveLength(2)
          expect(payloadIndexes(yield* entriesOf(server, stream))).toEqual([0, 1, 4, 5])
        })
    )

    it.scoped("maxlen trims approximately; 0 turns trimming off", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const trimmed = freshStream()
        const untrimmed = freshStream()
        const fill = (stream: string, maxlen: number) =>
          Effect.scoped(
            Effect.gen(function* () {
              const bus = yield* EventBus.EventBus
              for (let i = 0; i < 3000; i++) yield* bus.publishNowait({ kind: "llm.call", payload: { i } })
              yield* bus.flush
            }).pipe(Effect.provide(RedisEventBus.layer({ url: server.url, stream, maxlen })))
          )
        yield* fill(trimmed, 1000)
        yield* fill(untrimmed, 0)
        const trimmedLength = Number(yield* server.command("XLEN", trimmed))
        expect(trimmedLength).toBeGreaterThanOrEqual(1000)
        expect(trimmedLength).toBeLessThan(3000)
        expect(Number(yield* server.command("XLEN", untrimmed))).toBe(3000)
      })
    )

    it.scoped("closing the scope drains the buffered events into Redis", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        yield* Effect.scoped(
          Effect.gen(function* () {
            const bus = yield* EventBus.EventBus
            for (let i = 0; i < 20_000; i++) yield* bus.publishNowait({ kind: "llm.call", payload: { i } })
          }).pipe(Effect.provide(RedisEventBus.layer({ url: server.url, stream, bufferCapacity: 20_000 })))
        )
        expect(payloadIndexes(yield* entriesOf(server, stream))).toEqual(
          Array.from({ length: 20_000 }, (_, i) => i)
        )
      })
    )

    it.scoped("an ACL user allowed only XADD on its one stream can publish, one event or batches", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        yield* server.command("ACL", "SETUSER", "publisher", "reset", "on", ">s3cret", `~${stream}`, "+xadd")
        const url = Redacted.make(`redis://publisher:s3cret@127.0.0.1:${server.port}/0`)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const bus = yield* EventBus.EventBus
            expect(
              PublishResult.isWritten(yield* bus.publish({ kind: "arena.start", payload: { i: -1 } }))
            ).toBe(true)
            // Batches: the script is refused (no EVALSHA for this user); the bus falls back to pipelines.
            for (let i = 0; i < 1000; i++) yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })
            yield* bus.flush
          }).pipe(Effect.provide(RedisEventBus.layer({ url, stream })))
        )
        expect(payloadIndexes(yield* entriesOf(server, stream))).toEqual([
          -1,
          ...Array.from({ length: 1000 }, (_, i) => i)
        ])
        // And the user really is that limited.
        const other = yield* EventBus.publish({ kind: "arena.start" }).pipe(
          Effect.provide(RedisEventBus.layer({ url, stream: `${stream}:other` }))
        )
        expect(other).toMatchObject({ _tag: "NotWritten", reason: "Rejected" })
      })
    )

    it.scoped("a password in the URL never reaches a log", () =>
      Effect.gen(function* () {
        const lines: Array<string> = []
        const logger = Logger.make(({ message, annotations }) => {
          lines.push(`${JSON.stringify(message)} ${JSON.stringify([...annotations])}`)
        })
        yield* Effect.scoped(
          Effect.gen(function* () {
            const bus = yield* EventBus.EventBus
            for (let i = 0; i < 3; i++) yield* bus.publish({ kind: "arena.start" })
            yield* bus.publishNowait({ kind: "arena.start" })
          }).pipe(
            Effect.provide(
              RedisEventBus.layer({
                url: Redacted.make("redis://user:hunter2@127.0.0.1:1/0"),
                drainTimeout: "100 millis"
              })
            )
          )
        ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
        expect(lines.length).toBeGreaterThan(0)
        expect(lines.join("\n")).not.toContain("hunter2")
      })
    )
  }
)

describe("RedisEventBus when Redis is down, goes away or hangs", () => {
  layer(RedisTestServer.layer(), { excludeTestServices: true })("Redis down at start", (it) => {
    it.scoped("the layer builds, the program runs, and publish answers NotWritten within the bound", () =>
      Effect.gen(function* () {
        const [result, ms] = yield* elapsed(
          EventBus.publish({ kind: "arena.start" }).pipe(
            Effect.provide(RedisEventBus.layer({ url: deadUrl, publishTimeout: "300 millis" }))
          )
        )
        expect(result).toMatchObject({ _tag: "NotWritten", reason: "Unavailable" })
        expect(ms).toBeLessThan(1000)
      })
    )

    it.scoped("started later, the server is found by itself: buffered events arrive", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        yield* server.stop
        yield* Effect.scoped(
          Effect.gen(function* () {
            const bus = yield* EventBus.EventBus
            expect(yield* bus.publish({ kind: "arena.start" })).toMatchObject({ _tag: "NotWritten" })
            for (let i = 0; i < 100; i++) yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })
            yield* server.start
            yield* bus.flush
          }).pipe(
            Effect.provide(
              RedisEventBus.layer({ url: server.url, stream, retrySchedule: Schedule.spaced("50 millis") })
            )
          )
        )
        expect(payloadIndexes(yield* entriesOf(server, stream))).toEqual(
          Array.from({ length: 100 }, (_, i) => i)
        )
      })
    )
  })

  layer(RedisTestServer.layer(), { excludeTestServices: true })(
    "server stopped mid-run, then restarted",
    (it) => {
      it.scoped(
        "awaited publishes stay within the bound; buffered events up to capacity arrive in order; overflow is counted",
        () =>
          Effect.gen(function* () {
            const server = yield* RedisTestServer.RedisTestServer
            const stream = freshStream()
            const dropped = PublishMetrics.dropped.pipe(Metric.tagged("stream", stream))
            const capacity = 500
            yield* Effect.scoped(
              Effect.gen(function* () {
                const bus = yield* EventBus.EventBus
                for (let i = 0; i < 10; i++)
                  yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })
                yield* bus.flush
                yield* server.stop
                for (let n = 0; n < 5; n++) {
                  const [result, ms] = yield* elapsed(bus.publish({ kind: "arena.error" }))
                  expect(result._tag).toBe("NotWritten")
                  expect(ms).toBeLessThan(600)
                }
                const taken: Array<boolean> = []
                for (let i = 10; i < 10 + 2000; i++) {
                  taken.push(yield* bus.publishNowait({ kind: "agent.signal", payload: { i } }))
                }
                const takenCount = taken.filter(Boolean).length
                // The buffer holds `capacity`; the writer holds at most one batch in flight besides.
                expect(takenCount).toBeGreaterThanOrEqual(capacity)
                expect(takenCount).toBeLessThanOrEqual(capacity + 100)
                expect((yield* Metric.value(dropped)).count).toBe(2000 - takenCount)
                yield* server.start
                yield* bus.flush
                const indexes = payloadIndexes(yield* entriesOf(server, stream))
                // Everything taken arrived, in order, after the 10 written before the outage.
                const expected = [
                  ...Array.from({ length: 10 }, (_, i) => i),
                  ...taken.flatMap((t, k) => (t ? [10 + k] : []))
                ]
                expect(indexes).toEqual(expected)
              }).pipe(
                Effect.provide(
                  RedisEventBus.layer({
                    url: server.url,
                    stream,
                    bufferCapacity: capacity,
                    batchSize: 100,
                    publishTimeout: "300 millis",
                    retrySchedule: Schedule.spaced("50 millis")
                  })
                )
              )
            )
          })
      )
    }
  )

  layer(RedisTestServer.layer(), { excludeTestServices: true })("server hung with DEBUG SLEEP", (it) => {
    it.scoped("publish returns within the bound; what was buffered arrives once it wakes", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        yield* Effect.scoped(
          Effect.gen(function* () {
            const bus = yield* EventBus.EventBus
            expect(PublishResult.isWritten(yield* bus.publish({ kind: "arena.start" }))).toBe(true)
            yield* server.hang("2 seconds")
            const [result, ms] = yield* elapsed(bus.publish({ kind: "arena.error" }))
            expect(result).toMatchObject({ _tag: "NotWritten", reason: "Timeout" })
            expect(ms).toBeLessThan(800)
            const [taken, nowaitMs] = yield* elapsed(
              bus.publishNowait({ kind: "agent.signal", payload: { i: 1 } })
            )
            expect(taken).toBe(true)
            expect(nowaitMs).toBeLessThan(50)
            yield* bus.flush
          }).pipe(
            Effect.provide(RedisEventBus.layer({ url: server.url, stream, publishTimeout: "300 millis" }))
          )
        )
        const kinds = (yield* entriesOf(server, stream)).map(([, fields]) => JSON.parse(fields[1]!).kind)
        // The timed-out publish may still land when the server wakes: the bus cannot know, and says Timeout.
        expect(kinds.filter((k) => k !== "arena.error")).toEqual(["arena.start", "agent.signal"])
      })
    )
  })

  layer(RedisTestServer.layer(), { excludeTestServices: true })("bounds past a host timer's reach", (it) => {
    it.scoped("a publish bounded to 30 days waits for a slow server and is written", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const stream = freshStream()
        const backend = yield* RedisStreamBackend.make({ url: server.url })
        const bus = yield* EventBus.make({ stream, publishTimeout: "30 days", batchTimeout: "30 days" }).pipe(
          Effect.provideService(StreamBackend.StreamBackend, backend)
        )
        expect(PublishResult.isWritten(yield* bus.publish({ kind: "arena.start" }))).toBe(true)
        // setTimeout fires at once past 2^31 - 1 ms: such a bound must not cut the publish short.
        yield* server.hang("300 millis")
        expect(PublishResult.isWritten(yield* bus.publish({ kind: "arena.complete" }))).toBe(true)
        expect(yield* bus.publishNowait({ kind: "agent.signal", payload: { i: 0 } })).toBe(true)
        yield* bus.flush
        const kinds = (yield* entriesOf(server, stream)).map(([, fields]) => JSON.parse(fields[1]!).kind)
        expect(kinds).toEqual(["arena.start", "arena.complete", "agent.signal"])
      })
    )
  })

  layer(RedisTestServer.layer(), { excludeTestServices: true })(
    "a server hung longer than a few bounds",
    (it) => {
      it.scoped(
        "the connection is kept (the server does not answer a probe either): what was in flight is written once",
        () =>
          Effect.gen(function* () {
            const server = yield* RedisTestServer.RedisTestServer
            const stream = freshStream()
            const backend = yield* RedisStreamBackend.make({ url: server.url })
            yield* Effect.orDie(backend.info(stream))
            const bus = yield* EventBus.make({ stream, publishTimeout: "300 millis" }).pipe(
              Effect.provideService(StreamBackend.StreamBackend, backend)
            )
            yield* server.hang("3 seconds")
            // Three publishes sent at once to the sleeping server: three time-outs in a row, each within
            // its bound; and a batch in flight behind them.
            const awaited = yield* Effect.forEach(
              [0, 1, 2],
              (i) => elapsed(bus.publish({ kind: "arena.error", payload: { i } })),
              { concurrency: "unbounded" }
            ).pipe(Effect.fork)
            yield* Effect.sleep("50 millis")
            for (let i = 0; i < 20; i++) {
              expect(yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })).toBe(true)
            }
            for (const [result, ms] of yield* Fiber.join(awaited)) {
              expect(result).toMatchObject({ _tag: "NotWritten", reason: "Timeout" })
              expect(ms).toBeLessThan(800)
            }
            yield* bus.flush
            const entries = yield* entriesOf(server, stream)
            expect(
              payloadIndexes(entries.filter(([, fields]) => fields[1]!.includes('"agent.signal"')))
            ).toEqual(Array.from({ length: 20 }, (_, i) => i))
          })
      )
    }
  )

  layer(TcpProxy.layerToTestServer().pipe(Layer.provideMerge(RedisTestServer.layer())), {
    excludeTestServices: true
  })("a connection left out of step by a network that dropped bytes", (it) => {
    it.scoped(
      "publishes time out in their bound; after a few, the connection is made anew, publishing goes on and the buffered events arrive",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const proxy = yield* TcpProxy.TcpProxy
          const stream = freshStream()
          const backend = yield* RedisStreamBackend.make({ url: proxy.url })
          // Connected before the first publish.
          yield* Effect.orDie(backend.info(stream))
          const bus = yield* EventBus.make({
            stream,
            publishTimeout: "200 millis",
            batchTimeout: "300 millis",
            retrySchedule: Schedule.spaced("100 millis")
          }).pipe(Effect.provideService(StreamBackend.StreamBackend, backend))
          expect(PublishResult.isWritten(yield* bus.publish({ kind: "arena.start" }))).toBe(true)
          yield* proxy.stall
          // Buffered during the stall: lost on the wire, then retried on the new connection.
          for (let i = 0; i < 5; i++) {
            expect(yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })).toBe(true)
          }
          // Sent into the void (the bytes are lost, so the connection is out of step for good), or
          // still waiting behind the buffered events when the bound runs out: never Written.
          const answers: Array<PublishResult.PublishResult> = []
          for (let i = 0; i < 3; i++) {
            const [result, ms] = yield* elapsed(bus.publish({ kind: "arena.error", payload: { i } }))
            expect(result).toMatchObject({ _tag: "NotWritten" })
            expect(["Timeout", "NotSent"]).toContain(result._tag === "NotWritten" ? result.reason : "")
            expect(ms).toBeLessThan(600)
            answers.push(result)
          }
          yield* proxy.restore
          // Within a few seconds (reconnection's back-off), a publish is written again.
          let written = false
          for (let attempt = 0; attempt < 40 && !written; attempt++) {
            written = PublishResult.isWritten(yield* bus.publish({ kind: "arena.complete" }))
            if (!written) yield* Effect.sleep("100 millis")
          }
          expect(written).toBe(true)
          yield* bus.flush
          const entries = yield* entriesOf(server, stream)
          const kinds = entries.map(([, fields]) => JSON.parse(fields[1]!).kind)
          expect(kinds[0]).toBe("arena.start")
          expect(kinds).toContain("arena.complete")
          // What was answered NotSent is not in the stream.
          const errors = payloadIndexes(entries.filter(([, fields]) => fields[1]!.includes('"arena.error"')))
          answers.forEach((answer, i) => {
            if (answer._tag === "NotWritten" && answer.reason === "NotSent") expect(errors).not.toContain(i)
          })
          // At least once: a batch whose reply was lost with the old connection can be written again.
          const signals = payloadIndexes(
            entries.filter(([, fields]) => fields[1]!.includes('"agent.signal"'))
          )
          expect([...new Set(signals)]).toEqual([0, 1, 2, 3, 4])
          expect(signals.length).toBeLessThanOrEqual(10)
        })
    )
  })
})
