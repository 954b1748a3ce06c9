/**
 * The tools the conformance checks are written with: a probe per check (the backend, a reader, fresh
 * streams, assertions that fail with a message saying what differs), background readers, and bounded
 * waits on the live clock.
 *
 * @internal
 */
import { EventBus, type EventReader, type PublishResult, type ReadResult, StreamBackend } from "@maf/events"
import type * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/** How long a check waits for something that should happen (readers catching up, a flush). */
export const patience = Duration.seconds(20)
/** Retries paced for tests: a restart should not cost seconds of back-off. */
export const quickRetry = Schedule.spaced(Duration.millis(20))

export interface Probe<E extends Cause.YieldableError> {
  readonly check: string
  readonly backend: StreamBackend.StreamBackendService
  readonly reader: EventReader.EventReaderService
  /** A stream no other check (nor an earlier run on the same server) uses. */
  readonly freshStream: (label: string) => Effect.Effect<string>
  readonly error: (message: string) => E
  readonly require: (ok: boolean, message: () => string) => Effect.Effect<void, E>
  /** Fails with a compact account of the differences when the sequences differ. */
  readonly sameSequence: (
    what: string,
    actual: ReadonlyArray<string>,
    expected: ReadonlyArray<string>
  ) => Effect.Effect<void, E>
  readonly sameValue: (what: string, actual: unknown, expected: unknown) => Effect.Effect<void, E>
}

export const show = (value: unknown): string => {
  if (value === undefined) return "nothing"
  const text = typeof value === "string" ? value : JSON.stringify(value)
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}

export const sample = (items: ReadonlyArray<string>): string =>
  items.length <= 5 ? items.join(", ") : `${items.slice(0, 5).join(", ")}, …`

/** `undefined` when the sequences are equal; otherwise what differs, in a line. */
export const describeDifference = (
  actual: ReadonlyArray<string>,
  expected: ReadonlyArray<string>
): string | undefined => {
  const n = Math.max(actual.length, expected.length)
  let first = -1
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      first = i
      break
    }
  }
  if (first === -1) return undefined
  const counts = new Map<string, number>()
  for (const item of expected) counts.set(item, (counts.get(item) ?? 0) - 1)
  for (const item of actual) counts.set(item, (counts.get(item) ?? 0) + 1)
  const expectedSet = new Set(expected)
  const missing: Array<string> = []
  const repeated: Array<string> = []
  const unexpected: Array<string> = []
  for (const [item, surplus] of counts) {
    if (surplus < 0) missing.push(item)
    else if (surplus > 0) (expectedSet.has(item) ? repeated : unexpected).push(item)
  }
  const parts = [
    `${actual.length} instead of ${expected.length}`,
    `first difference at #${first}: ${show(actual[first])} where ${show(expected[first])} was expected`
  ]
  if (missing.length > 0) parts.push(`${missing.length} missing (${sample(missing)})`)
  if (repeated.length > 0) parts.push(`${repeated.length} repeated (${sample(repeated)})`)
  if (unexpected.length > 0) parts.push(`${unexpected.length} unexpected (${sample(unexpected)})`)
  if (missing.length + repeated.length + unexpected.length === 0)
    parts.push("the same items in another order")
  return parts.join("; ")
}

export const compareIds = (a: string, b: string): number => {
  const x = StreamBackend.parseEntryId(a)
  const y = StreamBackend.parseEntryId(b)
  if (x === undefined || y === undefined) return a < b ? -1 : a > b ? 1 : 0
  return StreamBackend.compareEntryIds(x, y)
}

export const reached = (id: string | undefined, target: string): boolean =>
  target === "0-0" || (id !== undefined && compareIds(id, target) >= 0)

/** The index of the first id not greater than the one before it; -1 when they increase strictly. */
export const firstNotIncreasing = (ids: ReadonlyArray<string>): number => {
  for (let i = 1; i < ids.length; i++) if (compareIds(ids[i]!, ids[i - 1]!) <= 0) return i
  return -1
}

/** Polls `condition` every 5 ms until it holds (`true`) or `within` has passed (`false`). */
export const eventually = (
  condition: () => boolean,
  within: Duration.DurationInput = patience
): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(within)
    while (!condition()) {
      if ((yield* Clock.currentTimeMillis) > deadline) return false
      yield* Effect.sleep(Duration.millis(5))
    }
    return true
  })

/** A publisher for a check: no trimming, quick retries, a drain bounded by the suite's patience. */
export const publisher = (stream: string, options: EventBus.Options = {}) =>
  EventBus.make({
    stream,
    maxlen: 0,
    retrySchedule: quickRetry,
    drainTimeout: Duration.seconds(5),
    ...options
  })

export const written =
  <E extends Cause.YieldableError>(probe: Probe<E>, what: string) =>
  (result: PublishResult.PublishResult): Effect.Effect<string, E> =>
    result._tag === "Written"
      ? Effect.succeed(result.id)
      : Effect.fail(probe.error(`${what}: publish answered NotWritten (${result.reason}: ${result.message})`))

export const taken =
  <E extends Cause.YieldableError>(probe: Probe<E>, what: string) =>
  (accepted: boolean) =>
    probe.require(accepted, () => `${what}: publishNowait refused an event (buffer full or bus closed)`)

export const flushed = <E extends Cause.YieldableError>(
  probe: Probe<E>,
  bus: EventBus.EventBusService,
  what: string
) =>
  bus.flush.pipe(
    Effect.timeoutFail({
      duration: patience,
      onTimeout: () => probe.error(`${what}: flush did not complete within ${Duration.format(patience)}`)
    })
  )

export const backendCall = <A, E extends Cause.YieldableError>(
  probe: Probe<E>,
  what: string,
  effect: Effect.Effect<A, StreamBackend.StreamBackendError>
) => Effect.mapError(effect, (e) => probe.error(`${what} failed: ${e.reason}: ${e.message}`))

export interface Follower {
  readonly label: string
  readonly results: Array<ReadResult.ReadResult>
  readonly fiber: Fiber.RuntimeFiber<void, StreamBackend.StreamBackendError>
  readonly last: () => string | undefined
}

export const readOptions = (options: EventReader.ReadOptions): EventReader.ReadOptions => ({
  block: Duration.seconds(1),
  retrySchedule: quickRetry,
  ...options
})

/** A reader consuming a stream in the background (until the scope closes), collecting what it reads. */
export const follow = <E extends Cause.YieldableError>(
  probe: Probe<E>,
  label: string,
  options: EventReader.ReadOptions
): Effect.Effect<Follower, never, Scope.Scope> =>
  Effect.gen(function* () {
    const results: Array<ReadResult.ReadResult> = []
    const fiber = yield* probe.reader.stream(readOptions(options)).pipe(
      Stream.runForEach((result) =>
        Effect.sync(() => {
          results.push(result)
        })
      ),
      Effect.forkScoped
    )
    return { label, results, fiber, last: () => results.at(-1)?.streamId }
  })

export const describeFollower = (f: Follower): string =>
  `${f.label}: ${f.results.length} delivered, the last ${f.last() ?? "(none)"}`

/** Waits until every follower has delivered the entry `target` (or one after it). */
export const awaitThrough = <E extends Cause.YieldableError>(
  probe: Probe<E>,
  followers: ReadonlyArray<Follower>,
  target: string
) =>
  Effect.gen(function* () {
    let ended: Follower | undefined
    const done = yield* eventually(() => {
      ended = followers.find((f) => f.fiber.unsafePoll() !== null)
      return ended !== undefined || followers.every((f) => reached(f.last(), target))
    })
    if (ended !== undefined && !reached(ended.last(), target)) {
      const exit = ended.fiber.unsafePoll()
      return yield* probe.error(
        `${describeFollower(ended)}; its stream ended before reaching ${target}: ${show(
          exit === null ? "" : String(exit)
        )}`
      )
    }
    if (!done) {
      return yield* probe.error(
        `readers did not reach ${target} within ${Duration.format(patience)}: ${followers
          .filter((f) => !reached(f.last(), target))
          .map(describeFollower)
          .join("; ")}`
      )
    }
  })

/** What a reader delivers from `from` through the entry `target`, read by a reader opened now. */
export const readThrough = <E extends Cause.YieldableError>(
  probe: Probe<E>,
  label: string,
  options: EventReader.ReadOptions,
  target: string
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const follower = yield* follow(probe, label, options)
      yield* awaitThrough(probe, [follower], target)
      yield* Fiber.interrupt(follower.fiber)
      return follower.results.slice()
    })
  )

export const lastIdOf = <E extends Cause.YieldableError>(probe: Probe<E>, stream: string) =>
  Effect.map(backendCall(probe, `info of ${stream}`, probe.backend.info(stream)), (info) => info.lastId)

export const idsOf = (results: ReadonlyArray<ReadResult.ReadResult>) => results.map((r) => r.streamId)

export interface Tagged {
  readonly p?: number
  readonly i: number
}

/** An event's identity in the checks (`p3/i17`, publisher 3's 17th), or the variant's tag. */
export const keyOf = (result: ReadResult.ReadResult): string => {
  if (result._tag !== "KnownEvent") return result._tag
  const payload = result.event.payload as Partial<Tagged>
  if (payload.i === undefined) return result.event.kind
  return payload.p === undefined ? `i${payload.i}` : `p${payload.p}/i${payload.i}`
}

export const range = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)

/** Strictly increasing ids, each delivered once. */
export const requireIncreasing = <E extends Cause.YieldableError>(
  probe: Probe<E>,
  what: string,
  results: ReadonlyArray<ReadResult.ReadResult>
) =>
  Effect.suspend(() => {
    const ids = idsOf(results)
    const at = firstNotIncreasing(ids)
    return probe.require(
      at === -1,
      () =>
        `${what}: ids do not increase at #${at}: ${ids[at - 1]} then ${ids[at]} (repeated or out of order)`
    )
  })

export const requireCount = <E extends Cause.YieldableError>(
  probe: Probe<E>,
  stream: string,
  expected: number,
  what: string
) =>
  Effect.gen(function* () {
    const info = yield* backendCall(probe, `info of ${stream}`, probe.backend.info(stream))
    yield* probe.require(
      info.length === expected,
      () => `${what}: the stream holds ${info.length} entries, ${expected} were written`
    )
    yield* probe.require(
      info.entriesAdded === undefined || info.entriesAdded === expected,
      () => `${what}: the stream reports ${info.entriesAdded} entries added, ${expected} were written`
    )
  })
