/**
 * EventConsumer over a partitioned stream (memory backend, `TestClock`): the partitions' members
 * share one `concurrency`; at shutdown a handler still waiting for its turn never starts (its entry
 * stays pending for the group), and the drain waits only for the handlers that run.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { EventConsumer, Partitions } from "../src/index.js"
import { append, body, env, eventually, pendingOf, quiet } from "./helpers/consumerKit.js"

describe("EventConsumer on a partitioned stream (memory backend, TestClock)", () => {
  it.effect(
    "at shutdown, a handler waiting for the shared concurrency never starts; the drain waits only for the one running",
    () =>
      Effect.gen(function* () {
        const keys = Partitions.keys("pc1", 2)
        yield* append(keys[0]!, body(0))
        yield* append(keys[1]!, body(1))
        const started: Array<string> = []
        const member = yield* Effect.fork(
          EventConsumer.consume({
            stream: "pc1",
            partitions: 2,
            group: "g",
            from: "0",
            concurrency: 1,
            drainTimeout: Duration.seconds(10),
            handler: (m) =>
              Effect.zipRight(
                Effect.sync(() => void started.push((m as { readonly stream: string }).stream)),
                Effect.sleep("5 seconds")
              )
          })
        )
        yield* eventually(
          "one handler running, the other partition's entry waiting for its turn",
          Effect.sync(() => started.length === 1)
        )
        yield* quiet
        const stopping = yield* Effect.fork(Fiber.interrupt(member))
        yield* quiet
        yield* TestClock.adjust("5 seconds")
        yield* quiet
        // Closed once the running handler ended: not 5 s later (the waiting one run), nor at the
        // drain timeout.
        expect(Option.isSome(yield* Fiber.poll(stopping))).toBe(true)
        expect(started).toHaveLength(1)
        const [ran, waited] = started[0] === keys[0] ? [keys[0]!, keys[1]!] : [keys[1]!, keys[0]!]
        expect(yield* pendingOf(ran, "g")).toBe(0)
        expect(yield* pendingOf(waited, "g")).toBe(1)
      }).pipe(Effect.provide(env))
  )
})
