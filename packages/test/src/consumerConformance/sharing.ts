/**
 * Consumer conformance, sharing the work: members share entries without overlap, a dead member's
 * entries are taken over by the living (with the time it took and the entries handled twice
 * measured), acknowledged entries never come back, and a slow but live handler keeps its lease.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { makeCheck, measuredCheck, repeated, runProbe } from "../internal/consumerProbe.js"
import { show } from "../internal/probe.js"
import type { Check } from "./environment.js"

/**
 * Three members joined before the work arrives: each entry is handled by exactly one of them,
 * once, every member handles some, and the group ends with nothing pending.
 *
 * @since 0.2.0
 * @category checks
 */
export const membersShare: Check = makeCheck(
  "members share the entries without overlap while all are alive: three members, each entry handled once",
  "share",
  (probe) =>
    Effect.gen(function* () {
      const names = ["a", "b", "c"].map(probe.name)
      const members = yield* Effect.forEach(names, (name) =>
        probe.member(name, {
          concurrency: 2,
          minIdle: Duration.seconds(10),
          behaviour: () => Effect.sleep(Duration.millis(2))
        })
      )
      yield* probe.reading(...members)
      const ids = yield* probe.append(120)
      yield* probe.until("every entry handled", () => probe.journal.finished.length >= ids.length)
      yield* probe.nothingPending
      const twice = repeated(probe.journal.started)
      yield* probe.require(
        twice.length === 0,
        () => `${twice.length} entries delivered twice: ${show(twice)}`
      )
      yield* probe.same(
        "the entries handled",
        probe.journal.finished.map((step) => step.id).sort(),
        [...ids].sort()
      )
      const by = names.map((name) => probe.journal.finished.filter((step) => step.member === name).length)
      yield* probe.require(
        by.every((n) => n > 0),
        () => `a member handled nothing while all were alive: ${show(by)}`
      )
    })
)

/**
 * What a member's crash cost: how long after it the entries it held were handled by the others,
 * and how many entries were handled to the end twice (by the dead member, whose ack did not
 * reach the server, and again by another).
 *
 * @since 0.2.0
 * @category models
 */
export interface CrashRecovery {
  /** Entries the dead member held unfinished when it died. */
  readonly held: number
  /** Milliseconds from the crash until the last of them was handled by another member. */
  readonly recoveryMillis: number
  /** Entries handled to the end more than once. */
  readonly handledTwice: number
  /** The members' `minIdle`, in milliseconds. */
  readonly minIdleMillis: number
}

const crashMinIdle = 200

/**
 * Three members handle 120 entries; one dies mid-handling, holding four (on a server: its
 * connections killed, its fiber interrupted with no drain): the others claim them after `minIdle`
 * and handle them, and the group ends with nothing pending. Gives what the crash cost.
 *
 * @since 0.2.0
 * @category measurements
 */
export const measureCrashRecovery = runProbe("crash recovery", "crash", (probe) =>
  Effect.gen(function* () {
    const minIdle = Duration.millis(crashMinIdle)
    const work = () => Effect.sleep(Duration.millis(5))
    const survivors = yield* Effect.forEach(["a", "b"], (role) =>
      probe.member(probe.name(role), { concurrency: 4, minIdle, behaviour: work })
    )
    // The victim finishes its first three entries, then hangs on every one it takes.
    const victim = yield* probe.member(probe.name("victim"), {
      concurrency: 4,
      minIdle,
      drainTimeout: Duration.zero,
      behaviour: (_, n) => (n <= 3 ? work() : Effect.never)
    })
    yield* probe.reading(victim, ...survivors)
    const ids = yield* probe.append(120)
    const finishedByVictim = () =>
      new Set(probe.journal.finished.filter((step) => step.member === victim.name).map((step) => step.id))
    const hanging = () => {
      const done = finishedByVictim()
      return probe.journal.started.filter((step) => step.member === victim.name && !done.has(step.id))
    }
    yield* probe.until(
      "the victim has finished three entries and hangs on four",
      () => finishedByVictim().size === 3 && hanging().length === 4
    )
    const held = hanging().map((step) => step.id)
    const crashedAt = yield* Clock.currentTimeMillis
    yield* probe.crash(victim)

    const takenOver = (id: string) =>
      probe.journal.finished.find((step) => step.id === id && step.member !== victim.name)
    yield* probe.until("the dead member's entries handled by the others", () =>
      held.every((id) => takenOver(id) !== undefined)
    )
    yield* probe.until("every entry handled", () => {
      const finished = new Set(probe.journal.finished.map((step) => step.id))
      return ids.every((id) => finished.has(id))
    })
    yield* probe.nothingPending
    const claimedBy = held.map((id) => takenOver(id)!)
    yield* probe.require(
      claimedBy.every((step) => step.deliveryCount >= 2),
      () => `an entry taken over came with delivery count 1: ${show(claimedBy)}`
    )
    // A figure, not a requirement: an entry the dead member finished without its ack reaching the
    // server is handled again, as is one a living member held through a stall of the process
    // longer than minIdle (at-least-once).
    const twice = repeated(probe.journal.finished)
    return {
      held: held.length,
      recoveryMillis: Math.max(...claimedBy.map((step) => step.at)) - crashedAt,
      handledTwice: twice.length,
      minIdleMillis: crashMinIdle
    } satisfies CrashRecovery
  })
)

/**
 * {@link measureCrashRecovery} as a check: its figures are logged.
 *
 * @since 0.2.0
 * @category checks
 */
export const killedMember: Check = measuredCheck(
  "a member killed mid-handling (connections killed, fiber interrupted): the others claim its entries after minIdle and handle them",
  measureCrashRecovery,
  (figures) =>
    `crash recovery: ${figures.held} entries held by the dead member handled again ${figures.recoveryMillis} ms after the crash (minIdle ${figures.minIdleMillis} ms); ${figures.handledTwice} handled twice`
)

/**
 * Entries handled and acknowledged are not delivered again: not by a claim scan, not to the member
 * restarted under the same name, not to a new member.
 *
 * @since 0.2.0
 * @category checks
 */
export const ackedNeverAgain: Check = makeCheck(
  "acknowledged entries are never delivered again, after a claim scan and a member's restart",
  "acked",
  (probe) =>
    Effect.gen(function* () {
      const name = probe.name("a")
      const first = yield* probe.member(name, { concurrency: 4 })
      const ids = yield* probe.append(20)
      yield* probe.until("every entry handled", () => probe.journal.finished.length >= ids.length)
      yield* probe.nothingPending
      const claimed = yield* probe.call(
        "a claim scan",
        probe.groups.claim(probe.stream, probe.group, probe.name("scanner"), {
          minIdleMillis: 0,
          start: "0-0",
          count: 100
        })
      )
      yield* probe.same(
        "a claim scan of idle entries after the acks (claimed, deleted)",
        [claimed.entries.map((entry) => entry.id), claimed.deleted],
        [[], []]
      )
      yield* Fiber.interrupt(first.fiber)
      const again = yield* probe.member(name, { concurrency: 4 })
      const other = yield* probe.member(probe.name("b"), { concurrency: 4 })
      const [sentinel] = yield* probe.append(1)
      yield* probe.until("an entry added after the restart handled", () =>
        probe.journal.finished.some((step) => step.id === sentinel)
      )
      // Several turns of both (each claims when due), so that a redelivery would have come.
      const since = [again.calls(), other.calls()]
      yield* probe.until(
        "both members have made several turns",
        () => again.calls() >= since[0]! + 8 && other.calls() >= since[1]! + 8
      )
      yield* probe.same(
        "what was delivered",
        probe.journal.started.map((step) => step.id).sort(),
        [...ids, sentinel].sort()
      )
    })
)

const leaseMinIdle = 400

/**
 * A handler that runs four times `minIdle` keeps its entry: another member claiming all the while
 * does not take it, the handler is not interrupted, and the entry is acknowledged once.
 *
 * @since 0.2.0
 * @category checks
 */
export const slowHandlerKeepsLease: Check = makeCheck(
  "a slow handler (4 × minIdle) keeps its lease: no other member takes its entry",
  "lease",
  (probe) =>
    Effect.gen(function* () {
      const minIdle = Duration.millis(leaseMinIdle)
      const holder = yield* probe.member(probe.name("holder"), {
        minIdle,
        behaviour: () => Effect.sleep(Duration.millis(4 * leaseMinIdle))
      })
      const [id] = yield* probe.append(1)
      yield* probe.until("the holder handling the entry", () => probe.journal.started.length === 1)
      const other = yield* probe.member(probe.name("other"), { minIdle })
      yield* probe.until("the entry handled", () => probe.journal.finished.length === 1)
      yield* probe.nothingPending
      yield* probe.same(
        "who got the entry, with which delivery count",
        probe.journal.started.map((step) => [step.id, step.member, step.deliveryCount]),
        [[id, holder.name, 1]]
      )
      yield* probe.require(
        other.calls() >= 5,
        () => `the other member made only ${other.calls()} calls while the handler ran`
      )
    })
)
