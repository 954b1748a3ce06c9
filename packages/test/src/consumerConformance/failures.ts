/**
 * Consumer conformance, what goes wrong: an entry that keeps failing is dead-lettered after exactly
 * `maxDeliveries` deliveries with its data intact; entries trimmed while pending come out as a
 * `Gap`; a destroyed group follows the member's policy without a hot loop.
 *
 * @since 0.2.0
 */
import { EventConsumer, GroupBackend } from "@maf/events"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { makeCheck } from "../internal/consumerProbe.js"
import { patience, show } from "../internal/probe.js"
import type { Check } from "./environment.js"

/** A body whose bytes a careless copy would change: spacing, escapes, characters outside ASCII. */
const oddJson = `{"kind" : "conformance.poison","payload":{"text":"é ü 😀 \\" ' \\\\ \\u0000 \\ttab"} , "n":[1, 2.50, 1e3]}`
const notJson = "not json at all: \u00ff\u0001 😀 \t end "

/**
 * A handler that always fails: each entry is delivered exactly `maxDeliveries` times (counts 1, 2,
 * 3), then moved to the dead-letter stream with its `data` field byte for byte, and the fields
 * `original_id`, `group`, `consumer`, `delivery_count` and `error`; it leaves the pending list.
 *
 * @since 0.2.0
 * @category checks
 */
export const deadLetterAfterMaxDeliveries: Check = makeCheck(
  "a failing entry reaches the dead-letter stream after exactly maxDeliveries deliveries, its data byte for byte, and leaves the pending list",
  "dead",
  (probe) =>
    Effect.gen(function* () {
      const dead = `${probe.stream}:dead`
      const ids: Array<string> = []
      for (const data of [oddJson, notJson]) {
        ids.push(
          yield* probe.call("appending an entry", probe.raw.appendFields(probe.stream, ["data", data]))
        )
      }
      const member = yield* probe.member(probe.name("a"), {
        maxDeliveries: 3,
        behaviour: (message) => Effect.fail(new Error(`boom at delivery ${message.deliveryCount}`))
      })
      yield* probe.until(
        "both entries in the dead-letter stream",
        Effect.map(probe.entriesOf(dead), (entries) => entries.length >= 2)
      )
      yield* probe.nothingPending
      yield* probe.same(
        "the deliveries (id:count)",
        probe.journal.started.map((step) => `${step.id}:${step.deliveryCount}`).sort(),
        ids.flatMap((id) => [1, 2, 3].map((n) => `${id}:${n}`)).sort()
      )
      const letters = yield* probe.entriesOf(dead)
      yield* probe.same(
        "the dead letters' fields, the error aside",
        letters.map((entry) => entry.fields.slice(0, 10)),
        [oddJson, notJson].map((data, i) => [
          "data",
          data,
          "original_id",
          ids[i],
          "group",
          probe.group,
          "consumer",
          member.name,
          "delivery_count",
          "3"
        ])
      )
      yield* probe.require(
        letters.every(
          (entry) =>
            entry.fields.length === 12 &&
            entry.fields[10] === "error" &&
            /boom at delivery 3/.test(entry.fields[11]!)
        ),
        () => `the dead letters' error fields: ${show(letters.map((entry) => entry.fields.slice(10)))}`
      )
    })
)

/**
 * Entries removed by `XTRIM` while pending: those a dead member held come out as a `Gap` at
 * another member's claim, and one trimmed between its holder's failure and its retry comes out as
 * a `Gap` to its holder; none is handed to a handler, and they leave the pending list.
 *
 * @since 0.2.0
 * @category checks
 */
export const trimmedWhilePending: Check = makeCheck(
  "entries trimmed (XTRIM) while pending come out as a Gap, at a claim and at a retry, and leave the pending list",
  "trimmed",
  (probe) =>
    Effect.gen(function* () {
      const holder = yield* probe.member(probe.name("holder"), {
        concurrency: 3,
        drainTimeout: Duration.zero,
        behaviour: () => Effect.never
      })
      const held = yield* probe.append(3)
      yield* probe.until("the holder handling three entries", () => probe.journal.started.length === 3)
      yield* probe.crash(holder)
      yield* probe.same("entries trimmed", yield* probe.call("XTRIM", probe.raw.trim(probe.stream, 0)), 3)
      // The other member: at a retry, the entry is trimmed after its first delivery's failure.
      const other = yield* probe.member(probe.name("other"), {
        behaviour: (message) =>
          message.deliveryCount > 1
            ? Effect.void
            : Effect.as(Effect.orDie(probe.raw.trim(probe.stream, 0)), EventConsumer.Outcome.Retry({}))
      })
      const gapIds = () => probe.journal.gaps.flatMap((gap) => gap.ids)
      yield* probe.until("the held entries reported as a Gap", () =>
        held.every((id) => gapIds().includes(id))
      )
      yield* probe.nothingPending
      const [retried] = yield* probe.append(1)
      yield* probe.until("the entry trimmed before its retry reported as a Gap", () =>
        gapIds().includes(retried!)
      )
      yield* probe.nothingPending
      yield* probe.same("the Gaps' ids", [...gapIds()].sort(), [...held, retried].sort())
      yield* probe.same(
        "who was told of the Gaps",
        probe.journal.gaps.map((gap) => gap.member).filter((name) => name !== other.name),
        []
      )
      yield* probe.same(
        "the deliveries (id:count)",
        probe.journal.started.map((step) => `${step.id}:${step.deliveryCount}`).sort(),
        [...held.map((id) => `${id}:1`), `${retried}:1`].sort()
      )
    })
)

/** Calls over a window of `millis` of the live clock (a measurement, not a synchronisation). */
const callsOver = (calls: () => number, millis: number) =>
  Effect.gen(function* () {
    const before = calls()
    yield* Effect.sleep(Duration.millis(millis))
    return calls() - before
  })

const window = 500

/**
 * `onMissingGroup: "recreate"`: a destroyed group is made again and the work goes on, with no more
 * calls to the backend over half a second than a member running normally makes (plus a margin).
 * `onMissingGroup: "fail"`: the member fails with `MissingGroup`, after a handful of calls.
 *
 * @since 0.2.0
 * @category checks
 */
export const destroyedGroup: Check = makeCheck(
  "a destroyed group follows the policy without spinning: recreate (made again, work goes on), fail (the member fails with MissingGroup)",
  "destroyed",
  (probe) =>
    Effect.gen(function* () {
      const member = yield* probe.member(probe.name("recreating"), { from: "$", onMissingGroup: "recreate" })
      yield* probe.reading(member)
      const before = yield* probe.append(3)
      yield* probe.until("the entries handled", () => probe.journal.finished.length === 3)
      const normal = yield* callsOver(member.calls, window)
      yield* probe.require(
        yield* probe.call("XGROUP DESTROY", probe.raw.destroyGroup(probe.stream, probe.group)),
        () => "the group was not there to destroy"
      )
      const missing = yield* callsOver(member.calls, window)
      yield* probe.require(
        missing <= 3 * normal + 20,
        () => `${missing} calls in ${window} ms after the group was destroyed, ${normal} before: a hot loop`
      )
      yield* probe.until("the group made again", probe.groupExists)
      const after = yield* probe.append(3)
      yield* probe.until("the entries added after it handled", () => probe.journal.finished.length === 6)
      yield* probe.same(
        "the entries handled (from $: nothing replayed)",
        probe.journal.finished.map((step) => step.id).sort(),
        [...before, ...after].sort()
      )
      yield* Fiber.interrupt(member.fiber)

      const failing = yield* probe.member(probe.name("failing"), { onMissingGroup: "fail" })
      yield* probe.reading(failing)
      yield* probe.call("XGROUP DESTROY", probe.raw.destroyGroup(probe.stream, probe.group))
      const since = failing.calls()
      const exit = yield* Fiber.await(failing.fiber).pipe(
        Effect.timeoutFail({
          duration: patience,
          onTimeout: () => probe.error(`the member with onMissingGroup "fail" still runs`)
        })
      )
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      yield* probe.require(
        Option.isSome(failure) && failure.value instanceof GroupBackend.MissingGroup,
        () =>
          `the member ended with ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "success"}, not MissingGroup`
      )
      yield* probe.require(
        failing.calls() - since <= 5,
        () => `${failing.calls() - since} calls between the destroy and the failure`
      )
      const gone = yield* Effect.either(probe.groups.info(probe.stream, probe.group))
      yield* probe.require(
        gone._tag === "Left" && gone.left instanceof GroupBackend.MissingGroup,
        () => "the failing member made the group again"
      )
    })
)
