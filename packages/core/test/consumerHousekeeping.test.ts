/**
 * A member's housekeeping (`internal/consumerHousekeeping.ts`), driven by hand with the group's
 * info: the other consumers idle at least `removeIdleConsumersAfter` and holding nothing pending are
 * removed, each said in a line and counted; the member itself and consumers holding entries never
 * are. A refusal turns housekeeping off, said once; any other failure is a failure of the streak and
 * housekeeping goes on at the next scan.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type { ConsumerInfo, GroupBackendService, GroupInfo } from "../src/GroupBackend.js"
import * as Housekeeping from "../src/internal/consumerHousekeeping.js"
import { StreamBackendError } from "../src/StreamBackend.js"
import { captureLogs } from "./helpers/logs.js"

const infoOf = (...consumers: ReadonlyArray<ConsumerInfo>): GroupInfo => ({
  name: "g",
  pending: 0,
  lastDeliveredId: "0-0",
  lag: 0,
  consumers
})

/** The housekeeping of member `me`, its backend's removals answered by `answer`; what it did. */
const housekeeping = (
  removeIdleAfterMillis: number,
  answer: (consumer: string) => Effect.Effect<boolean, StreamBackendError> = () => Effect.succeed(true)
) => {
  const asked: Array<string> = []
  const failures: Array<string> = []
  const removed = Metric.counter(`removed-${Math.random()}`)
  const groups = {
    removeIdleConsumer: (stream: string, group: string, consumer: string) => {
      asked.push(`${stream}/${group}/${consumer}`)
      return answer(consumer)
    }
  } as unknown as GroupBackendService
  const step = Housekeeping.make({
    groups,
    stream: "s",
    group: "g",
    consumer: "me",
    removeIdleAfterMillis,
    removed,
    failures: {
      current: () => failures.length,
      failure: (message) => Effect.sync(() => void failures.push(message)),
      success: Effect.void
    },
    annotations: { stream: "s", group: "g" }
  })
  const logs = captureLogs({ annotations: true })
  const run = (info: GroupInfo) => step(info).pipe(Effect.provide(logs.layer))
  const count = Effect.map(Metric.value(removed), (state) => state.count)
  return { run, asked, failures, lines: logs.lines, count }
}

describe("a member's housekeeping", () => {
  it.effect(
    "removes the other consumers idle at least the threshold with nothing pending, each said and counted",
    () =>
      Effect.gen(function* () {
        const { run, asked, lines, count, failures } = housekeeping(60_000)
        yield* run(
          infoOf(
            { name: "me", pending: 0, idleMillis: 3_600_000 },
            { name: "old", pending: 0, idleMillis: 90_400 },
            { name: "exact", pending: 0, idleMillis: 60_000 },
            { name: "young", pending: 0, idleMillis: 59_999 },
            { name: "holding", pending: 2, idleMillis: 3_600_000 }
          )
        )
        expect(asked).toEqual(["s/g/old", "s/g/exact"])
        expect(lines).toEqual([
          'INFO EventConsumer: removed consumer old from the group (idle 90 s, nothing pending) {"stream":"s","group":"g"}',
          'INFO EventConsumer: removed consumer exact from the group (idle 60 s, nothing pending) {"stream":"s","group":"g"}'
        ])
        expect(yield* count).toBe(2)
        expect(failures).toEqual([])
      })
  )

  it.effect("a consumer the backend did not remove (it read meanwhile) is neither said nor counted", () =>
    Effect.gen(function* () {
      const { run, asked, lines, count } = housekeeping(0, (name) => Effect.succeed(name === "b"))
      yield* run(
        infoOf({ name: "a", pending: 0, idleMillis: 5 }, { name: "b", pending: 0, idleMillis: 1_500 })
      )
      expect(asked).toEqual(["s/g/a", "s/g/b"])
      expect(lines).toEqual([
        'INFO EventConsumer: removed consumer b from the group (idle 2 s, nothing pending) {"stream":"s","group":"g"}'
      ])
      expect(yield* count).toBe(1)
    })
  )

  it.effect("off (an infinite threshold): the backend is never asked", () =>
    Effect.gen(function* () {
      const { run, asked, lines } = housekeeping(Number.POSITIVE_INFINITY)
      yield* run(infoOf({ name: "a", pending: 0, idleMillis: Number.MAX_SAFE_INTEGER }))
      expect(asked).toEqual([])
      expect(lines).toEqual([])
    })
  )

  it.effect("a refusal turns housekeeping off for the member, said once as a warning", () =>
    Effect.gen(function* () {
      const refused = new StreamBackendError({ reason: "Rejected", message: "NOPERM no XGROUP DELCONSUMER" })
      const { run, asked, lines, failures } = housekeeping(0, () => Effect.fail(refused))
      const info = infoOf(
        { name: "a", pending: 0, idleMillis: 10 },
        { name: "b", pending: 0, idleMillis: 10 }
      )
      yield* run(info)
      yield* run(info)
      expect(asked).toEqual(["s/g/a"])
      expect(lines).toEqual([
        'WARN EventConsumer: removing idle consumers was refused (NOPERM no XGROUP DELCONSUMER); housekeeping is off for this member (allow XGROUP DELCONSUMER, or set removeIdleConsumersAfter to Duration.infinity) {"stream":"s","group":"g"}'
      ])
      expect(failures).toEqual([])
    })
  )

  it.effect("any other failure counts in the failure streak, and the next scan tries again", () =>
    Effect.gen(function* () {
      let down = true
      const { run, asked, lines, failures, count } = housekeeping(0, () =>
        down
          ? Effect.fail(new StreamBackendError({ reason: "Unavailable", message: "connection lost" }))
          : Effect.succeed(true)
      )
      const info = infoOf({ name: "a", pending: 0, idleMillis: 10 })
      yield* run(info)
      expect(failures).toEqual(["removing idle consumers failed (connection lost)"])
      expect(lines).toEqual([])
      down = false
      yield* run(info)
      expect(asked).toEqual(["s/g/a", "s/g/a"])
      expect(yield* count).toBe(1)
    })
  )
})
