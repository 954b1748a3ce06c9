/**
 * The tools the consumer conformance checks are written with: a probe per check (a fresh stream
 * and group, the shared backend to inspect them, raw faults), members run as `EventConsumer`s on
 * backends of their own with a recording handler, a journal of what each member started, finished
 * and was told of, and waits for conditions on the live clock.
 *
 * @internal
 */
import { isDeepStrictEqual } from "node:util"
import { EventConsumer, GroupBackend, StreamBackend } from "@maf/events"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { ConformanceError } from "../Conformance.js"
import { type Check, type Environment, Faults, Members } from "../consumerConformance/environment.js"
import { GroupRaw } from "../GroupConformance.js"
import { patience, show } from "./probe.js"

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)
let streamCount = 0

/** The member options every check starts from: short idle times and reads, quick retries. */
export const quick = {
  from: "0",
  minIdle: Duration.millis(150),
  block: Duration.millis(50),
  drainTimeout: Duration.seconds(5),
  failureSchedule: Schedule.spaced(Duration.millis(20)),
  retrySchedule: Schedule.exponential(Duration.millis(10), 1)
} as const

/** One step of a member's handling, as the journal keeps it. */
export interface Step {
  readonly id: string
  readonly member: string
  readonly deliveryCount: number
  /** Milliseconds on the live clock. */
  readonly at: number
}

/** What the members of a check started, finished (their handler succeeded) and were told of. */
export interface Journal {
  readonly started: Array<Step>
  readonly finished: Array<Step>
  readonly gaps: Array<{ readonly member: string; readonly ids: ReadonlyArray<string> }>
}

/** What a member's handler does with a delivery, the recording aside; `n` counts its own deliveries. */
export type Behaviour = (
  message: EventConsumer.Delivery,
  n: number
) => // biome-ignore lint/suspicious/noConfusingVoidType: the handler's own result type
Effect.Effect<EventConsumer.Outcome | void, unknown>

/** A member running in the check's scope. */
export interface Member {
  readonly name: string
  readonly fiber: Fiber.RuntimeFiber<never, GroupBackend.GroupBackendError | GroupBackend.MissingGroup>
  /** How many operations of the group port it has called so far (reads included). */
  readonly calls: () => number
  /** How many reads of new entries it has begun. */
  readonly reads: () => number
}

export type MemberOptions = Omit<
  EventConsumer.ConsumeOptions<any, never>,
  "group" | "handler" | "stream" | "consumer"
> & { readonly behaviour?: Behaviour | undefined }

export interface Probe {
  readonly check: string
  /** The check's stream (fresh) and group. */
  readonly stream: string
  readonly group: string
  /** The shared backend's group port, to look at the group. */
  readonly groups: GroupBackend.GroupBackendService
  readonly raw: GroupRaw["Type"]
  readonly faults: Option.Option<Faults["Type"]>
  readonly journal: Journal
  /** A name no other member of any check has (connection names are server-wide). */
  readonly name: (role: string) => string
  readonly error: (message: string) => ConformanceError
  readonly require: (ok: boolean, message: () => string) => Effect.Effect<void, ConformanceError>
  readonly same: (what: string, actual: unknown, expected: unknown) => Effect.Effect<void, ConformanceError>
  /** `effect`, its failure described as the check's. */
  readonly call: <A, R = never>(
    what: string,
    effect: Effect.Effect<A, unknown, R>
  ) => Effect.Effect<A, ConformanceError, R>
  /** Appends `n` entries (well-formed events of an unknown kind) to the check's stream: their ids. */
  readonly append: (n: number) => Effect.Effect<ReadonlyArray<string>, ConformanceError>
  /** Runs a member named `name` until the check ends or it is stopped. */
  readonly member: (
    name: string,
    options?: MemberOptions
  ) => Effect.Effect<Member, ConformanceError, Scope.Scope>
  /**
   * Kills a member as a crash would: its connections killed (where the backend offers the fault)
   * and its fiber interrupted, without waiting for its end.
   */
  readonly crash: (member: Member) => Effect.Effect<void, ConformanceError>
  /** Waits until `condition` holds, polling every 10 ms, at most `within` (default: the suite's patience). */
  readonly until: (
    what: string,
    condition: Effect.Effect<boolean, ConformanceError> | (() => boolean),
    within?: Duration.DurationInput
  ) => Effect.Effect<void, ConformanceError>
  readonly info: Effect.Effect<GroupBackend.GroupInfo, ConformanceError>
  /** Waits until each of `members` has begun its first read of new entries. */
  readonly reading: (...members: ReadonlyArray<Member>) => Effect.Effect<void, ConformanceError>
  /** Whether the group exists. */
  readonly groupExists: Effect.Effect<boolean>
  /** The entries of a plain stream (the dead letters) from its start. */
  readonly entriesOf: (
    stream: string
  ) => Effect.Effect<ReadonlyArray<StreamBackend.StreamEntry>, ConformanceError>
  /** Waits until the group has nothing pending. */
  readonly nothingPending: Effect.Effect<void, ConformanceError>
}

const describeFailure = (error: unknown): string => {
  if (error instanceof GroupBackend.MissingGroup) return `MissingGroup: ${error.message}`
  if (error instanceof StreamBackend.StreamBackendError) return `${error.reason}: ${error.message}`
  return error instanceof Error ? error.message : show(error)
}

/** The group port with every call counted. */
const counted = (
  groups: GroupBackend.GroupBackendService,
  count: { n: number; reads: number }
): GroupBackend.GroupBackendService => {
  const tick = <A, E>(effect: Effect.Effect<A, E>, read = false) =>
    Effect.suspend(() => {
      count.n++
      if (read) count.reads++
      return effect
    })
  return {
    create: (...args) => tick(groups.create(...args)),
    openCursor: Effect.map(groups.openCursor, (cursor) => ({
      read: (...args) => tick(cursor.read(...args), true)
    })),
    ack: (...args) => tick(groups.ack(...args)),
    claim: (...args) => tick(groups.claim(...args)),
    renew: (...args) => tick(groups.renew(...args)),
    redeliver: (...args) => tick(groups.redeliver(...args)),
    deadLetter: (...args) => tick(groups.deadLetter(...args)),
    info: (...args) => tick(groups.info(...args)),
    removeIdleConsumer: (...args) => tick(groups.removeIdleConsumer(...args))
  }
}

/** A well-formed event of a kind no catalog knows: it reaches handlers as `UnknownKind`. */
const body = (n: number) =>
  `{"schema_version":"1","kind":"conformance.work","arena":"","arena_id":"","phase":"","ts":"2026-12-07T00:00:00.000000+00:00","correlation_id":"","payload":{"n":${n}}}`

/** Builds a check: a probe on fresh streams, run in a scope of its own on the live clock. */
export const makeCheck = (
  name: string,
  label: string,
  body: (probe: Probe) => Effect.Effect<void, ConformanceError, Scope.Scope>,
  requires?: "faults"
): Check => ({ name, requires, run: runProbe(name, label, body) })

let bodies = 0
let members = 0

/** A measurement as a check: its figures, described by `describe`, are logged. */
export const measuredCheck = <A>(
  name: string,
  measurement: Effect.Effect<A, ConformanceError, Environment>,
  describe: (figures: A) => string,
  requires?: "faults"
): Check => ({
  name,
  requires,
  run: measurement.pipe(
    Effect.tap((figures) => Effect.logInfo(describe(figures))),
    Effect.asVoid
  )
})

/** Runs `checkBody` with a probe of its own: what it gives, or what broke. */
export const runProbe = <A>(
  check: string,
  label: string,
  checkBody: (probe: Probe) => Effect.Effect<A, ConformanceError, Scope.Scope>
): Effect.Effect<A, ConformanceError, Environment> =>
  Effect.gen(function* () {
    const groups = yield* GroupBackend.GroupBackend
    const backend = yield* StreamBackend.StreamBackend
    const raw = yield* GroupRaw
    const factory = yield* Members
    const faults = yield* Effect.serviceOption(Faults)
    const error = (message: string) => new ConformanceError({ check, message })
    const require = (ok: boolean, message: () => string) => (ok ? Effect.void : Effect.fail(error(message())))
    const call = <A, R>(what: string, effect: Effect.Effect<A, unknown, R>) =>
      Effect.mapError(effect, (e) => error(`${what} failed: ${describeFailure(e)}`))
    const stream = `conformance:consumer:${label}:${process.pid}-${Date.now().toString(36)}-${++streamCount}`
    const group = "g"
    const journal: Journal = { started: [], finished: [], gaps: [] }
    const info = call(`info of ${group}`, groups.info(stream, group))

    /** What was started and not finished in the same delivery: `id@member:count`. */
    const unfinished = () => {
      const done = new Set(journal.finished.map((step) => `${step.id}@${step.member}:${step.deliveryCount}`))
      return journal.started
        .map((step) => `${step.id}@${step.member}:${step.deliveryCount}`)
        .filter((step) => !done.has(step))
    }
    /** The members made so far, for what a failed wait says of them. */
    const made: Array<Member> = []
    /**
     * What a failed wait says besides the journal: each member running or ended with the port calls
     * it made, and the group's pending entries and consumers as the server tells them (or why not).
     */
    const state = Effect.gen(function* () {
      const members = made
        .map((m) => `${m.name} ${m.fiber.unsafePoll() === null ? "running" : "ended"}, ${m.calls()} calls`)
        .join("; ")
      const told = yield* groups.info(stream, group).pipe(
        Effect.timeout(Duration.seconds(2)),
        Effect.match({
          onFailure: (e) => `not told (${describeFailure(e)})`,
          onSuccess: (i) => `${i.pending} pending, consumers ${show(i.consumers)}`
        })
      )
      return `members: ${members}; the group: ${told}`
    })
    const until: Probe["until"] = (what, condition, within = patience) =>
      Effect.gen(function* () {
        const holds = typeof condition === "function" ? Effect.sync(condition) : condition
        const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(Duration.decode(within))
        while (!(yield* holds)) {
          if ((yield* Clock.currentTimeMillis) > deadline) {
            return yield* Effect.fail(
              error(
                `${what}: not so after ${Duration.format(within)} (started ${journal.started.length}, finished ${journal.finished.length}, gaps ${journal.gaps.length}; started, not finished: ${show(unfinished())}; ${yield* state})`
              )
            )
          }
          yield* Effect.sleep(Duration.millis(10))
        }
      })

    const member: Probe["member"] = (name, options = {}) =>
      Effect.gen(function* () {
        const count = { n: 0, reads: 0 }
        const own = yield* call(`${name}'s backend`, factory.backendOf(name))
        const consumer = EventConsumer.make(counted(own, count))
        const { behaviour, ...rest } = options
        let n = 0
        const fiber = yield* Effect.forkScoped(
          consumer.consume({
            ...quick,
            ...rest,
            stream,
            group,
            consumer: name,
            handler: (message) =>
              Effect.gen(function* () {
                const at = yield* Clock.currentTimeMillis
                if (message._tag === "Gap") {
                  journal.gaps.push({ member: name, ids: message.ids })
                  return
                }
                const step = { id: message.streamId, member: name, deliveryCount: message.deliveryCount, at }
                journal.started.push(step)
                const outcome = behaviour === undefined ? undefined : yield* behaviour(message, ++n)
                if (outcome === undefined || outcome._tag === "Ack") {
                  journal.finished.push({ ...step, at: yield* Clock.currentTimeMillis })
                }
                return outcome
              })
          })
        )
        const made1: Member = { name, fiber, calls: () => count.n, reads: () => count.reads }
        made.push(made1)
        return made1
      })

    const probe: Probe = {
      check,
      stream,
      group,
      groups,
      raw,
      faults,
      journal,
      name: (role) => `${label}-${role}-${++members}`,
      error,
      require,
      same: (what, actual, expected) =>
        require(isDeepStrictEqual(actual, expected), () =>
          `${what}: got ${show(actual)}, expected ${show(expected)}`),
      call,
      append: (n) =>
        call(
          `appending ${n} entries`,
          backend.append(
            stream,
            Array.from({ length: n }, () => body(++bodies)),
            { maxlen: 0, timeoutMillis: 10_000 }
          )
        ),
      member,
      crash: (target) =>
        Effect.zipRight(
          Option.match(faults, {
            onNone: () => Effect.void,
            onSome: (f) => call(`killing ${target.name}'s connections`, f.killConnections(target.name))
          }),
          Effect.asVoid(Effect.fork(Fiber.interrupt(target.fiber)))
        ),
      until,
      info,
      reading: (...running) =>
        until(`${running.map((m) => m.name).join(", ")} reading`, () => running.every((m) => m.reads() > 0)),
      groupExists: groups.info(stream, group).pipe(
        Effect.as(true),
        Effect.orElseSucceed(() => false)
      ),
      entriesOf: (of) =>
        Effect.scoped(
          Effect.gen(function* () {
            const cursor = yield* call("opening a stream cursor", backend.openCursor)
            const batch = yield* call(
              `reading ${of}`,
              cursor.read(of, "0-0", { count: 1000, blockMillis: undefined, timeoutMillis: 10_000 })
            )
            return batch.entries
          })
        ),
      nothingPending: until(
        "the group has nothing pending",
        Effect.map(info, (i) => i.pending === 0)
      )
    }
    return yield* checkBody(probe)
  }).pipe(Effect.scoped, Effect.withClock(liveClock))

/** How many times each id occurs in `steps`. */
const countsById = (steps: ReadonlyArray<Step>): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const step of steps) counts.set(step.id, (counts.get(step.id) ?? 0) + 1)
  return counts
}

/** The ids `steps` name more than once. */
export const repeated = (steps: ReadonlyArray<Step>): ReadonlyArray<string> =>
  [...countsById(steps)].filter(([, n]) => n > 1).map(([id]) => id)
