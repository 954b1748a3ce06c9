/**
 * A steady load across a fault, for the failover tests: one awaited publisher and one fire-and-forget
 * publisher (each event numbered), a reader from "0" and a consumer-group member, all through the
 * Redis backends of one topology; then what the stream holds, checked against what each side got.
 */
import { EventBus, EventConsumer, EventReader, PublishResult } from "@maf/events"
import { RedisEventBus, RedisEventConsumer, RedisEventReader } from "@maf/events-redis"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"

/** The connection options of the topology under test. */
export type Connection = RedisEventBus.Options

/** An entry of the stream, by who published it (`a` awaited, `f` fire-and-forget) and its number. */
export interface Tagged {
  readonly id: string
  readonly tag: string
}

/** An `XRANGE` reply of the load's stream, tagged by publisher and number. */
export const taggedEntries = (reply: unknown): ReadonlyArray<Tagged> =>
  (reply as ReadonlyArray<[string, ReadonlyArray<string>]>).map(([id, fields]) => ({
    id,
    tag: tagOf((JSON.parse(fields[fields.indexOf("data") + 1]!) as { payload?: unknown }).payload)
  }))

/** What the load saw, and what the stream holds at the end. */
export interface LoadRun {
  /** Awaited publishes: the number, its result, how long it took. */
  readonly awaited: ReadonlyArray<{
    readonly tag: string
    readonly result: PublishResult.PublishResult
    readonly at: number
    readonly millis: number
  }>
  /** Fire-and-forget events the buffer took. */
  readonly accepted: ReadonlyArray<string>
  /** What the reader delivered, in order. */
  readonly read: ReadonlyArray<Tagged>
  /** What the member handled (with repeats). */
  readonly handled: ReadonlyArray<Tagged>
  /** The stream at the end. */
  readonly stream: ReadonlyArray<Tagged>
  /**
   * The window without awaited publishes written: from the start of the first one not written to the
   * end of the first one written after the last one not written, in ms (0: none failed).
   */
  readonly unavailableMillis: number
  /** How long the fault itself took (its effect), in ms. */
  readonly faultMillis: number
}

const tagOf = (payload: unknown): string => {
  const p = payload as { src?: string; n?: number } | undefined
  return `${p?.src}:${p?.n}`
}

/**
 * Runs the load for `before`, then `fault`, then `after`; stops the publishers, flushes, waits until
 * the reader and the member have caught up with the stream (read by `entries`), and reports.
 */
export const steadyLoad = <E>(options: {
  readonly connection: Connection
  readonly stream: string
  readonly fault: Effect.Effect<void, E>
  readonly entries: Effect.Effect<ReadonlyArray<Tagged>, unknown>
  readonly before?: Duration.DurationInput
  readonly after?: Duration.DurationInput
  readonly publishTimeout?: Duration.DurationInput
}): Effect.Effect<LoadRun, E> =>
  Effect.scoped(
    Effect.gen(function* () {
      const { connection, stream } = options
      const publishTimeout = options.publishTimeout ?? Duration.seconds(2)
      // Built in this scope: the bus lives until the run's end.
      const bus = Context.get(
        yield* Layer.build(
          RedisEventBus.layer({ ...connection, stream, publishTimeout, drainTimeout: Duration.seconds(20) })
        ),
        EventBus.EventBus
      )
      const stopped = yield* Ref.make(false)
      const awaited: Array<LoadRun["awaited"][number]> = []
      const accepted: Array<string> = []
      const read: Array<Tagged> = []
      const handled: Array<Tagged> = []

      const awaitedLoop = Effect.gen(function* () {
        for (let n = 0; !(yield* Ref.get(stopped)); n++) {
          const started = performance.now()
          const result = yield* bus.publish({ kind: "agent.signal", payload: { src: "a", n } })
          awaited.push({ tag: `a:${n}`, result, at: started, millis: performance.now() - started })
          yield* Effect.sleep(Duration.millis(5))
        }
      })
      const nowaitLoop = Effect.gen(function* () {
        for (let n = 0; !(yield* Ref.get(stopped)); n++) {
          if (yield* bus.publishNowait({ kind: "agent.signal", payload: { src: "f", n } }))
            accepted.push(`f:${n}`)
          yield* Effect.sleep(Duration.millis(3))
        }
      })
      const reader = EventReader.stream({ stream, from: "0", block: Duration.millis(100) }).pipe(
        Stream.runForEach((result) =>
          Effect.sync(() => {
            if (result._tag === "KnownEvent")
              read.push({ id: result.streamId, tag: tagOf(result.event.payload) })
          })
        ),
        Effect.provide(RedisEventReader.layer({ ...connection, stream })),
        Effect.orDie
      )
      const member = EventConsumer.consume({
        stream,
        group: "failover",
        consumer: "m1",
        from: "0",
        block: Duration.millis(100),
        minIdle: Duration.seconds(1),
        handler: (message) =>
          Effect.sync(() => {
            if (message._tag === "KnownEvent")
              handled.push({ id: message.streamId, tag: tagOf(message.event.payload) })
          })
      }).pipe(Effect.provide(RedisEventConsumer.layer({ ...connection, stream })), Effect.orDie)

      const fibers = yield* Effect.all([awaitedLoop, nowaitLoop, reader, member].map((f) => Effect.fork(f)))
      yield* Effect.sleep(options.before ?? Duration.seconds(1))
      const faultStart = performance.now()
      yield* options.fault
      const faultMillis = performance.now() - faultStart
      yield* Effect.sleep(options.after ?? Duration.seconds(2))
      yield* Ref.set(stopped, true)
      yield* Fiber.join(fibers[0]!)
      yield* Fiber.join(fibers[1]!)
      yield* bus.flush

      const failures = awaited.filter((a) => !PublishResult.isWritten(a.result))
      const lastFailure = failures.at(-1)
      const writtenAgain =
        lastFailure === undefined
          ? undefined
          : awaited.find((a) => a.at > lastFailure.at && PublishResult.isWritten(a.result))
      const unavailableMillis =
        failures[0] === undefined
          ? 0
          : writtenAgain === undefined
            ? Number.POSITIVE_INFINITY
            : writtenAgain.at + writtenAgain.millis - failures[0].at

      // Caught up: the reader and the member have seen the stream's last entry.
      const final = yield* Effect.orDie(options.entries)
      const last = final.at(-1)?.id
      yield* Effect.gen(function* () {
        for (let i = 0; i < 200; i++) {
          const readUp = last === undefined || read.some((r) => r.id === last)
          const handledUp = last === undefined || handled.some((h) => h.id === last)
          if (readUp && handledUp) return
          yield* Effect.sleep(Duration.millis(50))
        }
      })
      yield* Fiber.interrupt(fibers[2]!)
      yield* Fiber.interrupt(fibers[3]!)
      return {
        awaited,
        accepted,
        read,
        handled,
        stream: final,
        unavailableMillis,
        faultMillis
      }
    })
  )

/** Figures of a run: what a note and the assertions need. */
export const summarize = (run: LoadRun) => {
  const inStream = new Map<string, number>()
  for (const entry of run.stream) inStream.set(entry.tag, (inStream.get(entry.tag) ?? 0) + 1)
  const written = run.awaited.filter((a) => PublishResult.isWritten(a.result))
  const notWritten = run.awaited.filter((a) => !PublishResult.isWritten(a.result))
  const readIds = run.read.map((r) => r.id)
  const handledIds = new Set(run.handled.map((h) => h.id))
  return {
    awaited: run.awaited.length,
    written: written.length,
    notWritten: notWritten.length,
    notWrittenReasons: [
      ...new Set(notWritten.map((a) => (a.result._tag === "NotWritten" ? a.result.reason : "")))
    ],
    writtenLost: written.filter((a) => !inStream.has(a.tag)).map((a) => a.tag),
    notSentButWritten: notWritten
      .filter((a) => a.result._tag === "NotWritten" && a.result.reason === "NotSent" && inStream.has(a.tag))
      .map((a) => a.tag),
    maxPublishMillis: Math.round(Math.max(0, ...run.awaited.map((a) => a.millis))),
    buffered: run.accepted.length,
    bufferedLost: run.accepted.filter((tag) => !inStream.has(tag)).length,
    duplicatesInStream: [...inStream.values()].filter((count) => count > 1).length,
    streamEntries: run.stream.length,
    readInOrderOnce:
      readIds.length === run.stream.length && readIds.every((id, i) => id === run.stream[i]!.id),
    readDuplicates: readIds.length - new Set(readIds).size,
    handledAll: run.stream.every((entry) => handledIds.has(entry.id)),
    handledTwice: run.handled.length - handledIds.size,
    unavailableMillis: Number.isFinite(run.unavailableMillis) ? Math.round(run.unavailableMillis) : -1,
    faultMillis: Math.round(run.faultMillis)
  }
}

/** Prints a run's figures (`FAILOVER <name> {…}`), for the notes. */
export const report = (name: string, figures: ReturnType<typeof summarize>) =>
  Effect.sync(() => console.log(`FAILOVER ${name} ${JSON.stringify(figures)}`))
