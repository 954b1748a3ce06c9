/**
 * What the EventConsumer tests share: the memory backend with the consumer, entries to fill a stream
 * with, the group as the backend sees it, a wait for the member's fibers to get where a condition
 * holds (under the `TestClock`: without moving the clock), and a group backend that records the
 * calls made to it (and can be made to fail or wait).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { EventConsumer, GroupBackend, MemoryStreamBackend } from "../../src/index.js"

/** The consumer over the memory backend, both in the context. */
export const env = EventConsumer.layer.pipe(Layer.provideMerge(MemoryStreamBackend.layer))

/** The body of an entry of a kind the canonical catalog does not know (`UnknownKind` on read). */
export const body = (n: number) =>
  JSON.stringify({ kind: "custom.thing", ts: "2026-12-02T00:00:00Z", payload: { n } })

/** The body of a canonical `arena.start` event. */
export const knownBody = (arena: string) =>
  JSON.stringify({
    schema_version: "1",
    kind: "arena.start",
    arena,
    arena_id: "",
    phase: "",
    ts: "2026-12-02T00:00:00.000000+00:00",
    correlation_id: "0123456789abcdef0123456789abcdef",
    payload: {}
  })

/** Appends entries with the given `data` fields; their ids. */
export const append = (stream: string, ...bodies: ReadonlyArray<string>) =>
  Effect.flatMap(MemoryStreamBackend.MemoryStreamBackend, (memory) =>
    memory.appendFields(
      stream,
      bodies.map((data) => ["data", data])
    )
  )

/** Appends `count` entries `body(0)`, `body(1)`, …; their ids. */
export const fill = (stream: string, count: number) =>
  append(stream, ...Array.from({ length: count }, (_, n) => body(n)))

/** The group as the backend sees it. */
export const info = (stream: string, group: string) =>
  Effect.flatMap(GroupBackend.GroupBackend, (groups) => groups.info(stream, group))

/** The group's pending count, or -1 when the group does not exist. */
export const pendingOf = (stream: string, group: string) =>
  Effect.map(Effect.either(info(stream, group)), (i) => (i._tag === "Right" ? i.right.pending : -1))

/** The entries of a stream. */
export const entriesOf = (stream: string) =>
  Effect.flatMap(MemoryStreamBackend.MemoryStreamBackend, (memory) => memory.entries(stream))

/** A dead letter's added fields by name. */
export const fieldsOf = (fields: ReadonlyArray<string>): Map<string, string> => {
  const named = new Map<string, string>()
  for (let i = 0; i < fields.length; i += 2) named.set(fields[i]!, fields[i + 1]!)
  return named
}

/**
 * Lets the fibers run until `check` holds, without moving the `TestClock` (each step waits for them
 * to be suspended, then lets the event loop turn); dies naming `what` if it never holds.
 */
export const eventually = <E, R>(what: string, check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100; i++) {
      if (yield* check) return
      yield* TestClock.adjust(0)
    }
    return yield* Effect.dieMessage(`never came true: ${what}`)
  })

/** Lets the fibers run until they are all waiting (on the clock, or on each other). */
export const quiet = Effect.gen(function* () {
  for (let i = 0; i < 5; i++) yield* TestClock.adjust(0)
})

/** One call made to a {@link recording} backend. */
export interface Call {
  readonly op: string
  readonly args: ReadonlyArray<unknown>
}

/**
 * The memory backend's group port, each call recorded; `around(op)` may replace an operation's
 * effect (make it fail, or wait).
 */
export const recording = (
  around: (op: string, run: Effect.Effect<any, any>) => Effect.Effect<any, any> = (_op, run) => run
) =>
  Effect.map(GroupBackend.GroupBackend, (groups) => {
    const calls: Array<Call> = []
    const wrap =
      <Args extends ReadonlyArray<unknown>>(op: string, f: (...args: Args) => Effect.Effect<any, any>) =>
      (...args: Args) =>
        Effect.suspend(() => {
          calls.push({ op, args })
          return around(op, f(...args))
        })
    const backend: GroupBackend.GroupBackendService = {
      create: wrap("create", groups.create),
      openCursor: Effect.map(groups.openCursor, (cursor) => ({ read: wrap("read", cursor.read) })),
      ack: wrap("ack", groups.ack),
      claim: wrap("claim", groups.claim),
      renew: wrap("renew", groups.renew),
      redeliver: wrap("redeliver", groups.redeliver),
      deadLetter: wrap("deadLetter", groups.deadLetter),
      info: wrap("info", groups.info),
      removeIdleConsumer: wrap("removeIdleConsumer", groups.removeIdleConsumer)
    }
    return {
      backend,
      consumer: EventConsumer.make(backend),
      calls,
      count: (op: string) => calls.filter((c) => c.op === op).length
    }
  })

/** A gate: `wait` suspends until `open`. */
export const gate = Effect.map(Deferred.make<void>(), (opened) => ({
  wait: Deferred.await(opened),
  open: Deferred.succeed(opened, undefined)
}))
