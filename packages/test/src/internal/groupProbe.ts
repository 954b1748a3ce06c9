/**
 * The probe of a group-port conformance check (`GroupConformance`): the backend's two ports, the raw
 * operations for faults, fresh streams, cursors per consumer, and assertions that fail with a
 * `ConformanceError` saying what differs.
 *
 * @internal
 */
import { isDeepStrictEqual } from "node:util"
import { GroupBackend, StreamBackend } from "@maf/events"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { ConformanceError } from "../Conformance.js"
import type { GroupRaw } from "../GroupConformance.js"
import { describeDifference, show } from "./probe.js"

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)
let streamCount = 0

export interface Probe {
  readonly groups: GroupBackend.GroupBackendService
  readonly raw: GroupRaw["Type"]
  readonly fresh: (label: string) => Effect.Effect<string>
  readonly error: (message: string) => ConformanceError
  readonly require: (ok: boolean, message: () => string) => Effect.Effect<void, ConformanceError>
  readonly same: (what: string, actual: unknown, expected: unknown) => Effect.Effect<void, ConformanceError>
  readonly sameIds: (
    what: string,
    actual: ReadonlyArray<string>,
    expected: ReadonlyArray<string>
  ) => Effect.Effect<void, ConformanceError>
  /** `effect`, its failure described as the check's. */
  readonly call: <A, R = never>(
    what: string,
    effect: Effect.Effect<A, unknown, R>
  ) => Effect.Effect<A, ConformanceError, R>
  /** Appends `n` well-formed entries through the `StreamBackend` port: their ids. */
  readonly append: (stream: string, n: number) => Effect.Effect<ReadonlyArray<string>, ConformanceError>
  /** A read of new entries by `consumer` on a cursor of its own (opened in the check's scope). */
  readonly read: (
    stream: string,
    group: string,
    consumer: string,
    count?: number
  ) => Effect.Effect<ReadonlyArray<GroupBackend.GroupEntry>, ConformanceError, Scope.Scope>
  /** Creates the group, requiring `"created"`. */
  readonly create: (stream: string, group: string, start: string) => Effect.Effect<void, ConformanceError>
  readonly info: (stream: string, group: string) => Effect.Effect<GroupBackend.GroupInfo, ConformanceError>
  /** Requires `effect` to fail with `MissingGroup`. */
  readonly missing: (
    what: string,
    effect: Effect.Effect<unknown, unknown>
  ) => Effect.Effect<void, ConformanceError>
  /** The entries of a plain stream from its start (the `StreamBackend` port's read). */
  readonly entries: (
    stream: string
  ) => Effect.Effect<ReadonlyArray<StreamBackend.StreamEntry>, ConformanceError>
}

export const describeFailure = (error: unknown): string => {
  if (error instanceof GroupBackend.MissingGroup) return `MissingGroup: ${error.message}`
  if (error instanceof StreamBackend.StreamBackendError) return `${error.reason}: ${error.message}`
  return error instanceof Error ? error.message : show(error)
}

export const idsOf = (entries: ReadonlyArray<{ readonly id: string }>) => entries.map((entry) => entry.id)
export const countsOf = (entries: ReadonlyArray<GroupBackend.GroupEntry>) =>
  entries.map((entry) => `${entry.id}:${entry.deliveryCount}`)
export const withCount = (ids: ReadonlyArray<string>, count: number) => ids.map((id) => `${id}:${count}`)

/**
 * Runs a check's `body` with its probe, on the live clock, in a scope of its own: the backend's ports
 * from the environment, `raw` for the faults.
 */
export const run = (
  name: string,
  label: string,
  raw: GroupRaw["Type"],
  body: (probe: Probe) => Effect.Effect<void, ConformanceError, Scope.Scope>
): Effect.Effect<void, ConformanceError, GroupBackend.GroupBackend | StreamBackend.StreamBackend> =>
  Effect.gen(function* () {
    const groups = yield* GroupBackend.GroupBackend
    const backend = yield* StreamBackend.StreamBackend
    const error = (message: string) => new ConformanceError({ check: name, message })
    const require = (ok: boolean, message: () => string) => (ok ? Effect.void : Effect.fail(error(message())))
    const call = <A, R>(what: string, effect: Effect.Effect<A, unknown, R>) =>
      Effect.mapError(effect, (e) => error(`${what} failed: ${describeFailure(e)}`))
    const cursors = new Map<string, GroupBackend.GroupCursor>()
    const cursorOf = (consumer: string) =>
      Effect.suspend(() => {
        const known = cursors.get(consumer)
        if (known !== undefined) return Effect.succeed(known)
        return Effect.tap(call(`opening ${consumer}'s cursor`, groups.openCursor), (cursor) =>
          Effect.sync(() => cursors.set(consumer, cursor))
        )
      })
    let bodies = 0
    const probe: Probe = {
      groups,
      raw,
      fresh: (part) =>
        Effect.sync(
          () =>
            `conformance:groups:${label}:${part}:${process.pid}-${Date.now().toString(36)}-${++streamCount}`
        ),
      error,
      require,
      same: (what, actual, expected) =>
        require(isDeepStrictEqual(actual, expected), () =>
          `${what}: got ${show(actual)}, expected ${show(expected)}`),
      sameIds: (what, actual, expected) => {
        const difference = describeDifference(actual, expected)
        return difference === undefined ? Effect.void : Effect.fail(error(`${what}: ${difference}`))
      },
      call,
      append: (stream, n) =>
        call(
          `appending ${n} entries`,
          backend.append(
            stream,
            Array.from({ length: n }, () => `{"n":${++bodies}}`),
            { maxlen: 0, timeoutMillis: 10_000 }
          )
        ),
      read: (stream, group, consumer, count = 100) =>
        Effect.flatMap(cursorOf(consumer), (cursor) =>
          call(
            `${consumer}'s read`,
            cursor.read(stream, group, consumer, { count, blockMillis: undefined, timeoutMillis: 10_000 })
          )
        ),
      create: (stream, group, start) =>
        Effect.flatMap(call(`create ${group} from ${start}`, groups.create(stream, group, start)), (answer) =>
          require(answer === "created", () => `create ${group} from ${start} answered ${answer}, not created`)
        ),
      info: (stream, group) => call(`info of ${group}`, groups.info(stream, group)),
      missing: (what, effect) =>
        Effect.flatMap(Effect.either(effect), (result) =>
          require(result._tag === "Left" && result.left instanceof GroupBackend.MissingGroup, () =>
            `${what} on a missing group answered ${
              result._tag === "Left" ? describeFailure(result.left) : `${show(result.right)}`
            }, not MissingGroup`)
        ),
      entries: (stream) =>
        Effect.scoped(
          Effect.gen(function* () {
            const cursor = yield* call("opening a stream cursor", backend.openCursor)
            const batch = yield* call(
              `reading ${stream}`,
              cursor.read(stream, "0-0", { count: 1000, blockMillis: undefined, timeoutMillis: 10_000 })
            )
            return batch.entries
          })
        )
    }
    yield* body(probe)
  }).pipe(Effect.scoped, Effect.withClock(liveClock))
