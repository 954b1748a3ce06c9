/**
 * EventConsumer, a handler whose effect is already complete when it returns it (`Effect.void`,
 * `Effect.succeed(outcome)`, `Effect.fail`, a throw of the handler itself): the member settles it
 * without a turn of the runtime, and what follows is exactly what the same effect run suspended
 * gives: the deliveries, the acknowledgement, the retry and its delay, the dead letter and its
 * error, the handler's duration counted (memory backend, `TestClock`).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { ConsumerMetrics, type Event, EventConsumer } from "../src/index.js"
import { entriesOf, env, fieldsOf, fill, pendingOf, quiet } from "./helpers/consumerKit.js"

/** The handler's answer to the nth delivery (from 1); a function that throws is a handler that throws. */
type Behaviour = (delivery: number) => Effect.Effect<unknown, unknown> | "throw"

/** What a handler answers (as `EventConsumer.consume` takes it). */
type Answer = ReturnType<EventConsumer.ConsumeOptions<Event.Any, never>["handler"]>

/** How the handler returns it: the effect as it is, or the same effect suspended (run by the runtime). */
type Form = "complete" | "suspended"

/** What a member did with one entry: each delivery's count, what stays pending, the dead letters' errors. */
const observe = (stream: string, form: Form, behaviour: Behaviour) =>
  Effect.gen(function* () {
    yield* fill(stream, 1)
    const deliveries: Array<number> = []
    const durations = Metric.tagged(
      Metric.tagged(ConsumerMetrics.handlerDuration, "stream", stream),
      "group",
      "g"
    )
    const member = yield* Effect.fork(
      EventConsumer.consume({
        stream,
        group: "g",
        from: "0",
        maxDeliveries: 3,
        retrySchedule: Schedule.exponential(Duration.seconds(1), 1) as Schedule.Schedule<Duration.Duration>,
        handler: (m): Answer => {
          if (m._tag === "Gap") return Effect.void
          deliveries.push(m.deliveryCount)
          const answer = behaviour(m.deliveryCount)
          if (answer === "throw") {
            if (form === "complete") throw new Error(`thrown at ${m.deliveryCount}`)
            return Effect.suspend(() => {
              throw new Error(`thrown at ${m.deliveryCount}`)
            })
          }
          return (form === "complete" ? answer : Effect.suspend(() => answer)) as Answer
        }
      })
    )
    for (let i = 0; i < 4; i++) {
      yield* quiet
      yield* TestClock.adjust("1 second")
    }
    yield* quiet
    const dead = yield* entriesOf(`${stream}:dead`)
    const timed = (yield* Metric.value(durations)).count
    const pending = yield* pendingOf(stream, "g")
    yield* Fiber.interrupt(member)
    return {
      deliveries,
      pending,
      deadErrors: dead.map((entry) => fieldsOf(entry.fields).get("error")),
      timed
    }
  })

const cases: ReadonlyArray<readonly [string, Behaviour]> = [
  ["Effect.void: acknowledged", () => Effect.void],
  ["Outcome.Ack: acknowledged", () => Effect.succeed(EventConsumer.Outcome.Ack())],
  [
    "Outcome.Retry({ after }) at the first delivery: handled again a second later, then acknowledged",
    (n) => Effect.succeed(n === 1 ? EventConsumer.Outcome.Retry({ after: "1 second" }) : undefined)
  ],
  ["a typed failure each time: retried, then dead-lettered at the third", () => Effect.fail("refused")],
  ["a throw of the handler itself: a defect, retried, then dead-lettered", () => "throw"],
  [
    "Outcome.DeadLetter({ reason }): moved at once",
    () => Effect.succeed(EventConsumer.Outcome.DeadLetter({ reason: "not for us" }))
  ]
]

describe("EventConsumer, a handler whose effect is complete when returned (memory backend, TestClock)", () => {
  for (const [i, [name, behaviour]] of cases.entries()) {
    it.effect(`${name}: the same as the effect run suspended`, () =>
      Effect.gen(function* () {
        const complete = yield* observe(`now-${i}`, "complete", behaviour)
        const suspended = yield* observe(`run-${i}`, "suspended", behaviour)
        expect(complete).toEqual(suspended)
        // Each delivery's duration measured, in both forms.
        expect(complete.timed).toBe(complete.deliveries.length)
      }).pipe(Effect.provide(env))
    )
  }

  it.effect("what each case does (so that the comparison above compares something)", () =>
    Effect.gen(function* () {
      const results = []
      for (const [i, [, behaviour]] of cases.entries())
        results.push(yield* observe(`what-${i}`, "complete", behaviour))
      expect(
        results.map(({ deliveries, pending, deadErrors }) => ({ deliveries, pending, deadErrors }))
      ).toEqual([
        { deliveries: [1], pending: 0, deadErrors: [] },
        { deliveries: [1], pending: 0, deadErrors: [] },
        { deliveries: [1, 2], pending: 0, deadErrors: [] },
        { deliveries: [1, 2, 3], pending: 0, deadErrors: ["refused"] },
        { deliveries: [1, 2, 3], pending: 0, deadErrors: [expect.stringContaining("thrown at 3")] },
        { deliveries: [1], pending: 0, deadErrors: ["not for us"] }
      ])
    }).pipe(Effect.provide(env))
  )
})
