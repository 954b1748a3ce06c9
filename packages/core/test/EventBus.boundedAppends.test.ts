/**
 * A backend that bounds its own appends (`boundsAppends`, as the Redis one): an awaited publish on
 * the live clock hands it the publish timeout and the stream's `maxlen` (and the entry's traceparent
 * where spans are wanted) and runs it in the caller's fiber; under another clock, or with a bound
 * past a host timer's reach, the bus keeps the bound itself and gives none.
 */
import { describe, expect, it } from "@effect/vitest"
import { EventBus, MemoryStreamBackend, type PublishResult, StreamBackend } from "@maf/events"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as RecordingTracer from "./helpers/recordingTracer.js"

/** The memory backend saying it bounds its appends, recording the options of each append. */
const boundingBackend = (appends: Array<StreamBackend.AppendOptions>, append?: () => never) =>
  Layer.effect(
    StreamBackend.StreamBackend,
    Effect.map(MemoryStreamBackend.MemoryStreamBackend, (mem) => ({
      ...mem,
      boundsAppends: true,
      append: (stream: string, bodies: ReadonlyArray<string>, options: StreamBackend.AppendOptions) => {
        appends.push(options)
        if (append !== undefined) append()
        return mem.append(stream, bodies, options)
      }
    }))
  ).pipe(Layer.provideMerge(MemoryStreamBackend.layer))

const publishOne = Effect.flatMap(EventBus.EventBus, (bus) => bus.publish({ kind: "llm.call" }))

const busOn = (
  appends: Array<StreamBackend.AppendOptions>,
  options?: EventBus.Options,
  append?: () => never
) => EventBus.layer(options).pipe(Layer.provideMerge(boundingBackend(appends, append)))

describe("EventBus on a backend that bounds its appends", () => {
  it.live("on the live clock, an awaited publish gives it the publish timeout and maxlen", () => {
    const appends: Array<StreamBackend.AppendOptions> = []
    return Effect.gen(function* () {
      const result = yield* publishOne
      const mem = yield* MemoryStreamBackend.MemoryStreamBackend
      const info = yield* mem.info("maf:events")
      expect(result).toMatchObject({ _tag: "Written", id: info.lastId })
      expect(info.length).toBe(1)
      expect(appends).toStrictEqual([{ maxlen: 1000, timeoutMillis: 250 }])
    }).pipe(Effect.provide(busOn(appends, { maxlen: 1000, publishTimeout: "250 millis" })), Effect.scoped)
  })

  it.live("where spans are wanted, the entry's traceparent goes with the bound", () => {
    const appends: Array<StreamBackend.AppendOptions> = []
    const recording = RecordingTracer.make()
    return Effect.gen(function* () {
      yield* publishOne
      const [send] = recording.named("send maf:events")
      expect(appends).toStrictEqual([
        { maxlen: 100_000, timeoutMillis: 500, traceparents: [send!.traceparent] }
      ])
    }).pipe(Effect.provide(busOn(appends)), Effect.scoped, Effect.withTracer(recording.tracer))
  })

  it.live("with propagateTrace off, no traceparent goes, spans or not", () => {
    const appends: Array<StreamBackend.AppendOptions> = []
    const recording = RecordingTracer.make()
    return Effect.gen(function* () {
      yield* publishOne
      expect(appends).toStrictEqual([{ maxlen: 100_000, timeoutMillis: 500 }])
    }).pipe(
      Effect.provide(busOn(appends, { propagateTrace: false })),
      Effect.scoped,
      Effect.withTracer(recording.tracer)
    )
  })

  it.effect("under another clock (the TestClock), the bus keeps the bound: none is given", () => {
    const appends: Array<StreamBackend.AppendOptions> = []
    return Effect.gen(function* () {
      expect((yield* publishOne)._tag).toBe("Written")
      expect(appends).toStrictEqual([{ maxlen: 100_000 }])
    }).pipe(Effect.provide(busOn(appends)), Effect.scoped)
  })

  it.live("a bound past a host timer's reach is kept by the bus: none is given", () => {
    const appends: Array<StreamBackend.AppendOptions> = []
    return Effect.gen(function* () {
      expect((yield* publishOne)._tag).toBe("Written")
      expect(appends).toStrictEqual([{ maxlen: 100_000 }])
    }).pipe(Effect.provide(busOn(appends, { publishTimeout: "30 days" })), Effect.scoped)
  })

  it.live("an append that throws is a defect: the publish answers Rejected, naming it", () => {
    const appends: Array<StreamBackend.AppendOptions> = []
    const boom = (): never => {
      throw new Error("append exploded")
    }
    return Effect.gen(function* () {
      const result: PublishResult.PublishResult = yield* publishOne
      expect(result).toMatchObject({ _tag: "NotWritten", reason: "Rejected" })
      expect(result._tag === "NotWritten" ? result.message : "").toMatch(/backend defect: .*append exploded/)
      // Tried once, in the caller's fiber: the throw is the answer.
      expect(appends).toHaveLength(1)
    }).pipe(Effect.provide(busOn(appends, undefined, boom)), Effect.scoped)
  })
})
