/**
 * What the publisher's tests share: a bus on the scripted backend (`scriptedBackend.ts`) in the
 * test's scope, events told apart by a label (their correlation id), what was sent and stored by
 * label, and the steps that put the outbox in a given state under the `TestClock`.
 */
import { expect } from "@effect/vitest"
import { EventBus, type PublishResult, StreamBackend } from "@maf/events"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as TestClock from "effect/TestClock"
import type { ScriptedBackend } from "./scriptedBackend.js"

/** An event told apart by its correlation id, its label. */
export const event = (label: string) => ({ kind: "llm.call", correlationId: label })

export const labelOf = (body: string): string =>
  (JSON.parse(body) as { correlation_id: string }).correlation_id

/** The labels of each append call, in the order the calls started. */
export const callLabels = (scripted: ScriptedBackend) =>
  scripted.calls.map((call) => call.bodies.map(labelOf))

/** The stream's entries, oldest first, as label and id. */
export const stored = (scripted: ScriptedBackend, stream: string) =>
  Effect.map(scripted.memory.entries(stream), (entries) =>
    entries.map((entry) => ({ label: labelOf(entry.fields[1]!), id: entry.id }))
  )

export const storedLabels = (scripted: ScriptedBackend, stream: string) =>
  Effect.map(stored(scripted, stream), (entries) => entries.map((entry) => entry.label))

/** The id of the entry holding `label`'s event (it must be there once). */
export const idOf = (
  entries: ReadonlyArray<{ readonly label: string; readonly id: string }>,
  label: string
) => {
  const holding = entries.filter((entry) => entry.label === label)
  expect(holding, `entries holding ${label}`).toHaveLength(1)
  return holding[0]!.id
}

export const labels = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

/**
 * A publisher on the scripted backend, in the test's scope. Closing the scope drains the bus within
 * its deadline by the `TestClock`: the clock is moved meanwhile, so that a test that fails with
 * events still unwritten ends as a failure, not as a time-out of its own.
 */
export const busOn = (scripted: ScriptedBackend, options: EventBus.Options) =>
  Effect.gen(function* () {
    let driver: Fiber.RuntimeFiber<unknown> | undefined
    // Finalizers run last added first: this one after the bus's drain, the one below before it.
    yield* Effect.addFinalizer(() => (driver === undefined ? Effect.void : Fiber.interrupt(driver)))
    const bus = yield* EventBus.make(options).pipe(
      Effect.provideService(StreamBackend.StreamBackend, scripted.backend)
    )
    yield* Effect.addFinalizer(() =>
      // (Finalizers run uninterruptibly, and so would the fiber forked there.)
      Effect.map(
        Effect.forkDaemon(Effect.interruptible(Effect.forever(TestClock.adjust("1 second")))),
        (fiber) => {
          driver = fiber
        }
      )
    )
    return bus
  })

/** Lets every fiber of the test run until it waits, without moving the clock. */
export const letFibersRun = TestClock.adjust(0)

/** Publishes in a fiber of its own, and lets it run until it waits (its ticket queued, if it has one). */
export const forkPublish = (bus: EventBus.EventBusService, label: string) =>
  Effect.tap(Effect.fork(bus.publish(event(label))), () => letFibersRun)

/** The answer of a publish fiber if it has one now, else `undefined`. */
export const answerNow = (fiber: Fiber.RuntimeFiber<PublishResult.PublishResult>) => {
  const exit = fiber.unsafePoll()
  return exit === null ? undefined : Exit.isSuccess(exit) ? exit.value : exit
}

export const countOf = (metric: Metric.Metric.Counter<number>, stream: string) =>
  Effect.map(Metric.value(metric.pipe(Metric.tagged("stream", stream))), (state) => state.count)

export const notWritten = (reason: PublishResult.NotWrittenReason) => ({ _tag: "NotWritten", reason })

/**
 * Puts `n` fire-and-forget events (`x0`, `x1`, …) in flight as one full batch, in one step: with
 * `bufferCapacity` and `batchSize` both `n`, nothing more is sent until that batch is answered (at most
 * `bufferCapacity` events in flight), so what is published next waits in the outbox.
 */
export const occupy = (bus: EventBus.EventBusService, scripted: ScriptedBackend, n: number) =>
  Effect.gen(function* () {
    for (const label of labels("x", n)) yield* bus.publishNowait(event(label))
    yield* letFibersRun
    expect(callLabels(scripted), "the batch that occupies the outbox").toEqual([labels("x", n)])
  })
