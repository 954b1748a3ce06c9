/**
 * The conformance checks of partitioned streams: what `EventBus`, `EventReader` and `EventConsumer`
 * promise over a stream of three partitions (`partitions: 3`), on a backend's two ports — routing by
 * arena with each arena's order kept, a reader that delivers every entry once with each partition's
 * order and names the partition of every result and gap, a live tail and a resume per partition,
 * and a consumer group on every partition key with its acks and dead letters there. The repository
 * runs them against the in-memory backend, a real `redis-server` and a Redis Cluster.
 *
 * The environment is the group suite's (`GroupConformance.Environment`: the two ports and the raw
 * operations). Every check is also exported as an effect failing with a `ConformanceError`.
 *
 * @example
 * ```ts
 * import { GroupConformance, PartitionConformance } from "@maf/events-test"
 *
 * PartitionConformance.conformance("memory partitions", GroupConformance.layerMemory)
 * ```
 *
 * @since 0.3.0
 */
import { EventBus, EventConsumer, EventReader, Partitions, type ReadResult, StreamBackend } from "@maf/events"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ConformanceError } from "./Conformance.js"
import { type Environment, GroupRaw } from "./GroupConformance.js"
import * as GroupProbe from "./internal/groupProbe.js"
import { compareIds, patience, quickRetry, show } from "./internal/probe.js"
import { register } from "./internal/suite.js"

// ---------------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------------

/**
 * One check, as an effect: it succeeds when the partitioned stream keeps its promises on the
 * environment's backend, and fails with a `ConformanceError` saying what broke otherwise.
 *
 * @since 0.3.0
 * @category models
 */
export interface Check {
  readonly name: string
  readonly run: Effect.Effect<void, ConformanceError, Environment>
}

/**
 * Options of {@link conformance}.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** The bound on each check. Default 60 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

// ---------------------------------------------------------------------------------------------------
// internal helpers
// ---------------------------------------------------------------------------------------------------

/** The partitions of every check. */
const partitions = 3

/** An arena routed to each partition: `arenas[i]` goes to partition i. */
const arenas: ReadonlyArray<string> = Array.from({ length: partitions }, (_, p) => {
  for (let j = 0; ; j++) if (Partitions.partitionOf(`arena-${j}`, partitions) === p) return `arena-${j}`
})

interface Body {
  readonly arena: string
  readonly i: number
}

/** The arena and sequence number of an entry the checks wrote. */
const bodyOf = (fields: ReadonlyArray<string>): Body | undefined => {
  const at = fields.indexOf("data")
  try {
    const body = JSON.parse(fields[at + 1] ?? "") as { arena?: unknown; payload?: { i?: unknown } }
    return typeof body.arena === "string" && typeof body.payload?.i === "number"
      ? { arena: body.arena, i: body.payload.i }
      : undefined
  } catch {
    return undefined
  }
}

/** A result's arena and number, `undefined` for anything but a known event the checks wrote. */
const resultBody = (result: ReadResult.ReadResult): Body | undefined =>
  result._tag === "KnownEvent" && typeof (result.event.payload as { i?: unknown }).i === "number"
    ? { arena: result.event.arena, i: (result.event.payload as { i: number }).i }
    : undefined

const readOptions = { block: Duration.millis(200), retrySchedule: quickRetry, partitions } as const

/** A check with the group suite's probe, a bus over the partitioned stream and the keys. */
const makeCheck = (
  name: string,
  label: string,
  body: (
    probe: GroupProbe.Probe,
    ctx: {
      readonly stream: string
      readonly keys: ReadonlyArray<string>
      readonly bus: EventBus.EventBusService
      readonly reader: EventReader.EventReaderService
      /**
       * The entries of a key from its start (the probe's `entries`), tried again on a new cursor after
       * a failure, as a reader does: a cursor's failure is the single-key suites' to find.
       */
      readonly entries: (
        key: string
      ) => Effect.Effect<ReadonlyArray<StreamBackend.StreamEntry>, ConformanceError>
      /** Publishes `count` events to each of `arenas` (numbered from `from`), the even ones awaited. */
      readonly publish: (
        arenas: ReadonlyArray<string>,
        count: number,
        from?: number
      ) => Effect.Effect<void, ConformanceError>
    }
  ) => Effect.Effect<void, ConformanceError, Scope.Scope>
): Check => ({
  name,
  run: Effect.gen(function* () {
    const raw = yield* GroupRaw
    const backend = yield* StreamBackend.StreamBackend
    yield* GroupProbe.run(name, `partitions:${label}`, raw, (probe) =>
      Effect.gen(function* () {
        const stream = yield* probe.fresh(label)
        const keys = Partitions.keys(stream, partitions)
        const bus = yield* EventBus.make({
          stream,
          partitions,
          maxlen: 0,
          retrySchedule: quickRetry,
          publishTimeout: Duration.seconds(5)
        }).pipe(Effect.provideService(StreamBackend.StreamBackend, backend))
        const publishOne = (arena: string, i: number) => {
          const event = { kind: "agent.signal", arena, payload: { i } } as const
          return i % 2 === 0
            ? Effect.flatMap(bus.publish(event), (result) =>
                probe.require(
                  result._tag === "Written",
                  () => `publish of ${arena} #${i} answered ${show(result)}`
                )
              )
            : Effect.flatMap(bus.publishNowait(event), (taken) =>
                probe.require(taken, () => `publishNowait of ${arena} #${i} refused the event`)
              )
        }
        const publish = (to: ReadonlyArray<string>, count: number, from = 0) =>
          Effect.forEach(
            Array.from({ length: count }, (_, n) => from + n),
            (i) => Effect.forEach(to, (arena) => publishOne(arena, i), { discard: true }),
            { discard: true }
          ).pipe(
            Effect.zipRight(
              Effect.timeoutFail(bus.flush, {
                duration: patience,
                onTimeout: () => probe.error(`flush did not complete within ${Duration.format(patience)}`)
              })
            )
          )
        const entries = (key: string) =>
          Effect.retry(
            probe.entries(key),
            Schedule.intersect(Schedule.recurs(3), Schedule.spaced(Duration.millis(50)))
          )
        yield* body(probe, { stream, keys, bus, reader: EventReader.make(backend), publish, entries })
      })
    )
  })
})

/**
 * Polls `condition` every 10 ms until it holds, failing with `what` after the suite's patience. A
 * poll that fails counts as "not yet" (a backend call retried, as the services retry theirs); the
 * last such failure is told if the condition never holds.
 */
const until = (
  probe: GroupProbe.Probe,
  what: () => string,
  condition: Effect.Effect<boolean, ConformanceError>
): Effect.Effect<void, ConformanceError> => {
  let lastFailure: ConformanceError | undefined
  const poll = Effect.catchAll(condition, (failure) =>
    Effect.sync(() => {
      lastFailure = failure
      return false
    })
  )
  return Effect.flatMap(
    Effect.timeoutOption(
      Effect.repeat(poll, { until: (done) => done, schedule: Schedule.spaced(Duration.millis(10)) }),
      patience
    ),
    (done) =>
      Option.isSome(done)
        ? Effect.void
        : Effect.fail(
            probe.error(
              `${what()} within ${Duration.format(patience)}${lastFailure === undefined ? "" : ` (last failure: ${lastFailure.message})`}`
            )
          )
  )
}

/** The ids of a partition's results, in the order delivered. */
const idsIn = (results: ReadonlyArray<ReadResult.ReadResult>, key: string) =>
  results.filter((r) => r._tag !== "Gap" && r.partition === key).map((r) => r.streamId)

/** Every result names one of the keys, and each arena's numbers come in order. */
const requireNamedAndOrdered = (
  probe: GroupProbe.Probe,
  keys: ReadonlyArray<string>,
  results: ReadonlyArray<ReadResult.ReadResult>
) =>
  Effect.gen(function* () {
    const unnamed = results.find((r) => r.partition === undefined || !keys.includes(r.partition))
    yield* probe.require(
      unnamed === undefined,
      () => `a result names no partition of the stream: ${show(unnamed)}`
    )
    const last = new Map<string, number>()
    for (const result of results) {
      const body = resultBody(result)
      if (body === undefined) continue
      const before = last.get(body.arena) ?? -1
      yield* probe.require(
        body.i > before,
        () => `arena ${body.arena}: #${body.i} delivered after #${before} (out of order or repeated)`
      )
      last.set(body.arena, body.i)
    }
  })

const collect = (
  probe: GroupProbe.Probe,
  what: string,
  stream: Stream.Stream<ReadResult.ReadResult, StreamBackend.StreamBackendError>,
  n: number
) =>
  stream.pipe(
    Stream.take(n),
    Stream.runCollect,
    Effect.map((chunk) => Array.from(chunk)),
    Effect.mapError((e) => probe.error(`${what} failed: ${e.reason}: ${e.message}`)),
    Effect.timeoutFail({
      duration: patience,
      onTimeout: () => probe.error(`${what} did not deliver ${n} results within ${Duration.format(patience)}`)
    })
  )

// ---------------------------------------------------------------------------------------------------
// the checks
// ---------------------------------------------------------------------------------------------------

/**
 * Publishing: 40 events to an arena of each partition and to no arena (partition 0), half awaited,
 * half fire-and-forget. Each partition key holds exactly the events of the arenas routed to it,
 * each arena's in order; the stream's own key holds nothing.
 *
 * @since 0.3.0
 * @category checks
 */
export const routesByArena: Check = makeCheck(
  "publishing routes each event to its arena's partition, each arena in order",
  "routing",
  (probe, { stream, keys, publish, entries }) =>
    Effect.gen(function* () {
      const all = [...arenas, ""]
      yield* publish(all, 40)
      yield* probe.same(`entries in the stream's own key ${stream}`, (yield* entries(stream)).length, 0)
      let total = 0
      for (const [p, key] of keys.entries()) {
        const held = yield* entries(key)
        total += held.length
        const numbers = new Map<string, Array<number>>()
        for (const entry of held) {
          const body = bodyOf(entry.fields)
          if (body === undefined)
            return yield* probe.error(`${key}: an entry not written here: ${show(entry)}`)
          const routed = Partitions.partitionOf(body.arena, partitions)
          yield* probe.require(
            routed === p,
            () =>
              `${key} (partition ${p}) holds an event of arena "${body.arena}", which goes to partition ${routed}`
          )
          numbers.set(body.arena, [...(numbers.get(body.arena) ?? []), body.i])
        }
        for (const arena of all.filter((a) => Partitions.partitionOf(a, partitions) === p)) {
          yield* probe.same(
            `arena "${arena}" in ${key}`,
            numbers.get(arena),
            Array.from({ length: 40 }, (_, i) => i)
          )
        }
      }
      yield* probe.same("events in all partitions", total, all.length * 40)
    })
)

/**
 * Reading: 150 events over the three partitions, read from `"0"` by a reader of the partitioned
 * stream, 20 entries a read: every entry once, each partition's in its order, each arena's in order,
 * every result naming its partition. A reader given the positions of the first (`Partitions.advance`)
 * then delivers exactly the 30 events written since.
 *
 * @since 0.3.0
 * @category checks
 */
export const readerMerges: Check = makeCheck(
  "a reader delivers every partition's entries once, in order, naming their partition, and resumes from positions",
  "reader",
  (probe, { stream, keys, reader, publish, entries }) =>
    Effect.gen(function* () {
      yield* publish(arenas, 50)
      const results = yield* collect(
        probe,
        "the reader from 0",
        reader.stream({ ...readOptions, stream, from: "0", count: 20 }),
        150
      )
      yield* requireNamedAndOrdered(probe, keys, results)
      for (const key of keys) {
        const held = yield* entries(key)
        yield* probe.sameIds(`the entries of ${key}, as read`, idsIn(results, key), GroupProbe.idsOf(held))
      }
      const positions = results.reduce(Partitions.advance, {} as Partitions.Positions)
      yield* probe.same("partitions in the positions", Object.keys(positions).sort(), [...keys].sort())
      yield* publish(arenas, 10, 50)
      const resumed = yield* collect(
        probe,
        "the reader from the positions",
        reader.stream({ ...readOptions, stream, positions }),
        30
      )
      yield* requireNamedAndOrdered(probe, keys, resumed)
      for (const key of keys) {
        const held = yield* entries(key)
        yield* probe.sameIds(
          `the entries of ${key} after its position`,
          idsIn(resumed, key),
          GroupProbe.idsOf(held).slice(50)
        )
      }
    })
)

/**
 * The live tail: 20 events of history in each partition, then a reader from `"$"`, then markers in
 * every partition until it has delivered one of each, then 20 more: in each partition it delivers
 * exactly the entries from its first marker on, none of the history.
 *
 * @since 0.3.0
 * @category checks
 */
export const liveTail: Check = makeCheck(
  "a live tail pins every partition at its end: what is written after it started, in every partition",
  "tail",
  (probe, { stream, keys, reader, publish, entries }) =>
    Effect.gen(function* () {
      yield* publish(arenas, 20)
      const history = new Map<string, string>()
      for (const key of keys) history.set(key, GroupProbe.idsOf(yield* entries(key)).at(-1)!)
      const results: Array<ReadResult.ReadResult> = []
      yield* reader.stream({ ...readOptions, stream, from: "$" }).pipe(
        Stream.runForEach((result) => Effect.sync(() => results.push(result))),
        Effect.forkScoped
      )
      let marker = 1000
      yield* until(
        probe,
        () => `the tail did not deliver a marker of every partition (${results.length} results)`,
        Effect.suspend(() => publish(arenas, 1, marker++)).pipe(
          Effect.map(() => keys.every((key) => idsIn(results, key).length > 0))
        )
      )
      yield* publish(arenas, 20, 2000)
      const last = new Map<string, string>()
      for (const key of keys) last.set(key, GroupProbe.idsOf(yield* entries(key)).at(-1)!)
      yield* until(
        probe,
        () => `the tail did not reach the end of every partition (${results.length} results)`,
        Effect.sync(() => keys.every((key) => idsIn(results, key).at(-1) === last.get(key)))
      )
      yield* requireNamedAndOrdered(probe, keys, results)
      for (const key of keys) {
        const delivered = idsIn(results, key)
        yield* probe.require(
          compareIds(delivered[0]!, history.get(key)!) > 0,
          () =>
            `${key}: the tail delivered ${delivered[0]}, written before it started (history ends at ${history.get(key)})`
        )
        const ids = GroupProbe.idsOf(yield* entries(key))
        yield* probe.sameIds(
          `${key} from the tail's first entry`,
          delivered,
          ids.slice(ids.indexOf(delivered[0]!))
        )
      }
    })
)

/**
 * Gaps: 30 events in each partition, read from `"0"` five at a time; after the first chunk, partition
 * 1 is trimmed to its last 5 entries under the reader. It delivers one `Gap`, naming partition 1's
 * key, counting exactly the entries removed unread, then the rest; the other partitions whole.
 *
 * @since 0.3.0
 * @category checks
 */
export const gapNamesPartition: Check = makeCheck(
  "entries trimmed from one partition under a reader are a Gap naming that partition, counted",
  "gaps",
  (probe, { stream, keys, reader, publish, entries }) =>
    Effect.gen(function* () {
      yield* publish(arenas, 30)
      const before = new Map<string, ReadonlyArray<string>>()
      for (const key of keys) before.set(key, GroupProbe.idsOf(yield* entries(key)))
      const trimmed = keys[1]!
      const pull = yield* Stream.toPull(reader.stream({ ...readOptions, stream, from: "0", count: 5 }))
      const results: Array<ReadResult.ReadResult> = []
      const pullOnce = Effect.flatMap(
        pull.pipe(
          Effect.mapError((e) =>
            probe.error(Option.isSome(e) ? `the reader failed: ${e.value.message}` : "the reader ended")
          )
        ),
        (chunk) => Effect.sync(() => results.push(...chunk))
      )
      yield* pullOnce
      yield* probe.call(`trimming ${trimmed}`, probe.raw.trim(trimmed, 5))
      const done = () => keys.every((key) => idsIn(results, key).at(-1) === before.get(key)!.at(-1))
      yield* until(
        probe,
        () => `the reader did not reach the end of every partition (${results.length} results)`,
        Effect.suspend(() => (done() ? Effect.succeed(true) : Effect.map(pullOnce, done)))
      )
      yield* requireNamedAndOrdered(probe, keys, results)
      const gaps = results.filter((r): r is ReadResult.Gap => r._tag === "Gap")
      yield* probe.same(
        "the gaps' partitions",
        gaps.map((g) => g.partition),
        [trimmed]
      )
      const gap = gaps[0]!
      const ids = before.get(trimmed)!
      const lost = ids.filter((id) => compareIds(id, gap.after) > 0 && compareIds(id, gap.streamId) < 0)
      yield* probe.same(`the gap in ${trimmed}: first entry after it`, gap.streamId, ids[25])
      yield* probe.same(`the gap in ${trimmed}: entries lost`, gap.lost, lost.length)
      const read = idsIn(results, trimmed)
      yield* probe.sameIds(`${trimmed}, as read`, read, [
        ...ids.filter((id) => compareIds(id, gap.after) <= 0),
        ...ids.slice(25)
      ])
      for (const key of keys.filter((k) => k !== trimmed)) {
        yield* probe.sameIds(`${key}, as read`, idsIn(results, key), before.get(key)!)
      }
    })
)

/** The ids handled by a member, by partition key. */
const handledBy = () => {
  const handled = new Map<string, Array<string>>()
  return {
    handled,
    record: (key: string, id: string) =>
      Effect.sync(() => {
        handled.set(key, [...(handled.get(key) ?? []), id])
      })
  }
}

/**
 * A consumer group: 20 events in each partition and one poison event (its handler always fails), a
 * member of a group over the three partitions from `"0"` (at most 2 deliveries). Every other entry
 * is handled, each on its partition key; the group exists on every key, nothing is left pending on
 * any; each poison entry is dead-lettered to its own partition's `<key>:dead`, nothing to the
 * stream's own dead-letter key.
 *
 * @since 0.3.0
 * @category checks
 */
export const groupPerPartition: Check = makeCheck(
  "a group member handles every partition's entries, acks on each key, dead-letters to the partition's key",
  "group",
  (probe, { stream, keys, bus, publish, entries }) =>
    Effect.gen(function* () {
      yield* publish(arenas, 20)
      const poison = new Map<string, string>()
      for (const [p, arena] of arenas.entries()) {
        const result = yield* bus.publish({ kind: "agent.signal", arena, payload: { i: 100, poison: true } })
        if (result._tag !== "Written") return yield* probe.error(`the poison of ${arena}: ${show(result)}`)
        poison.set(keys[p]!, result.id)
      }
      const { handled, record } = handledBy()
      const group = "partitioned"
      const member = yield* EventConsumer.make(probe.groups)
        .consume({
          group,
          stream,
          partitions,
          from: "0",
          consumer: "member-1",
          concurrency: 2,
          maxDeliveries: 2,
          retrySchedule: Schedule.exponential(Duration.millis(5)),
          failureSchedule: quickRetry,
          block: Duration.millis(100),
          handler: (message) =>
            message._tag === "KnownEvent" && (message.event.payload as { poison?: boolean }).poison === true
              ? Effect.fail("poison")
              : message._tag === "Gap"
                ? Effect.void
                : record(message.stream, message.streamId)
        })
        .pipe(Effect.forkScoped)
      const expected = new Map<string, ReadonlyArray<string>>()
      for (const key of keys) {
        expected.set(
          key,
          GroupProbe.idsOf(yield* entries(key)).filter((id) => id !== poison.get(key))
        )
      }
      const settled = Effect.gen(function* () {
        for (const key of keys) {
          if ((handled.get(key)?.length ?? 0) < expected.get(key)!.length) return false
          if ((yield* entries(`${key}:dead`)).length < 1) return false
          if ((yield* probe.info(key, group)).pending > 0) return false
        }
        return true
      })
      yield* until(
        probe,
        () =>
          `the member did not settle every partition (handled: ${show(
            Object.fromEntries([...handled].map(([k, ids]) => [k, ids.length]))
          )})`,
        settled
      )
      yield* Fiber.interrupt(member)
      for (const key of keys) {
        yield* probe.sameIds(
          `${key}: the entries handled (each once, here)`,
          [...new Set(handled.get(key))].sort(compareIds),
          expected.get(key)!
        )
        const info = yield* probe.info(key, group)
        yield* probe.same(
          `${key}: the group's members`,
          info.consumers.map((c) => c.name),
          ["member-1"]
        )
        const dead = yield* entries(`${key}:dead`)
        const original = dead.map((entry) => entry.fields[entry.fields.indexOf("original_id") + 1])
        yield* probe.same(`${key}:dead: the dead letters' original ids`, original, [poison.get(key)])
      }
      yield* probe.same(
        `the stream's own dead-letter key ${stream}:dead`,
        (yield* entries(`${stream}:dead`)).length,
        0
      )
    })
)

/**
 * The stream form of a member over the partitions: 15 events in each, every message acknowledged by
 * the program: each comes once, named by its partition key (`stream`), and no entry is left pending.
 *
 * @since 0.3.0
 * @category checks
 */
export const groupStreamForm: Check = makeCheck(
  "the stream form of a member delivers every partition's entries, each settled on its key",
  "groupstream",
  (probe, { stream, keys, publish, entries }) =>
    Effect.gen(function* () {
      yield* publish(arenas, 15)
      const group = "partitioned-stream"
      const messages = yield* EventConsumer.make(probe.groups)
        .stream({
          group,
          stream,
          partitions,
          from: "0",
          consumer: "reader-1",
          concurrency: 4,
          block: Duration.millis(100)
        })
        .pipe(
          Stream.mapEffect(
            (message): Effect.Effect<EventConsumer.Received> =>
              message._tag === "Gap" ? Effect.succeed(message) : Effect.as(message.ack, message)
          ),
          Stream.take(45),
          Stream.runCollect,
          Effect.map((chunk) => Array.from(chunk)),
          Effect.mapError((e) => probe.error(`the member's stream failed: ${e.message}`)),
          Effect.timeoutFail({
            duration: patience,
            onTimeout: () =>
              probe.error(`the member's stream did not deliver 45 messages in ${Duration.format(patience)}`)
          })
        )
      for (const key of keys) {
        const ids = messages.filter((m) => m.stream === key).map((m) => m.streamId)
        yield* probe.sameIds(`${key}: the messages`, ids, GroupProbe.idsOf(yield* entries(key)))
      }
      yield* until(
        probe,
        () => "entries were left pending",
        Effect.map(
          Effect.forEach(keys, (key) => probe.info(key, group)),
          (infos) => infos.every((info) => info.pending === 0)
        )
      )
    })
)

/**
 * Every check, in the order the suite runs them.
 *
 * @since 0.3.0
 * @category checks
 */
export const checks: ReadonlyArray<Check> = [
  routesByArena,
  readerMerges,
  liveTail,
  gapNamesPartition,
  groupPerPartition,
  groupStreamForm
]

/**
 * Registers the checks with `@effect/vitest`: a `describe` block named `name` whose environment is
 * built once from `environment` (on the live clock), one `it` per check.
 *
 * @since 0.3.0
 * @category suite
 */
export const conformance = <E>(
  name: string,
  environment: Layer.Layer<Environment, E>,
  options: Options = {}
): void =>
  register("PartitionConformance.conformance", name, environment, checks, {
    timeoutMillis: Duration.toMillis(options.timeout ?? Duration.seconds(60))
  })
