/**
 * Helpers of the reader's tests: events published by index, results told apart by that index, a
 * wait for a reader blocked in its read, and the memory backend with its cursors wrapped or logged.
 */
import { EventBus, MemoryStreamBackend, type ReadResult, StreamBackend } from "@maf/events"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"

/** The stream ids of results. */
export const ids = (results: Iterable<ReadResult.ReadResult>) => Array.from(results, (r) => r.streamId)

/** A known event's index (its payload's `i`), or the result's tag. */
export const payloadIndex = (r: ReadResult.ReadResult) =>
  r._tag === "KnownEvent" ? (r.event.payload as { i: number }).i : `${r._tag}`

/** Publishes events `from` to `to - 1`, each with its index as payload, and waits until written. */
export const publishMany = (from: number, to: number) =>
  Effect.gen(function* () {
    const bus = yield* EventBus.EventBus
    for (let i = from; i < to; i++) yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })
    yield* bus.flush
  })

/** Waits until a fiber is suspended: a reader blocked in its read, its `$` start pinned. */
export const untilBlocked = (fiber: Fiber.RuntimeFiber<unknown, unknown>) =>
  Effect.gen(function* () {
    while ((yield* Fiber.status(fiber))._tag !== "Suspended") yield* Effect.yieldNow()
  })

/** The memory backend, with each cursor it opens made anew by `wrap` from the memory one. */
export const wrappedCursors = (
  wrap: (
    cursor: StreamBackend.StreamCursor,
    memory: MemoryStreamBackend.MemoryStreamBackendService
  ) => StreamBackend.StreamCursor
) =>
  Layer.effect(
    StreamBackend.StreamBackend,
    Effect.map(MemoryStreamBackend.MemoryStreamBackend, (mem) => ({
      ...mem,
      openCursor: Effect.map(mem.openCursor, (cursor) => wrap(cursor, mem))
    }))
  ).pipe(Layer.provideMerge(MemoryStreamBackend.layer))

/**
 * The memory backend whose cursors are numbered, their openings, reads and closings logged (`open 1`,
 * `read on 1`, `close 1`): an opening fails (its resource taken first) while `state.failOpens` is
 * above 0, a read while `state.failReads` is, one less each time.
 */
export const loggedCursors = (state: {
  failOpens: number
  failReads: number
  readonly log: Array<string>
}) => {
  let opened = 0
  return Layer.effect(
    StreamBackend.StreamBackend,
    Effect.map(MemoryStreamBackend.MemoryStreamBackend, (mem) => ({
      ...mem,
      openCursor: Effect.gen(function* () {
        const n = ++opened
        state.log.push(`open ${n}`)
        yield* Effect.addFinalizer(() => Effect.sync(() => state.log.push(`close ${n}`)))
        if (state.failOpens-- > 0) {
          return yield* Effect.fail(
            new StreamBackend.StreamBackendError({ reason: "Unavailable", message: "reset" })
          )
        }
        const cursor = yield* mem.openCursor
        return {
          read: (stream, after, options) =>
            Effect.suspend(() => {
              state.log.push(`read on ${n}`)
              return state.failReads-- > 0
                ? Effect.fail(
                    new StreamBackend.StreamBackendError({ reason: "Unavailable", message: "reset" })
                  )
                : cursor.read(stream, after, options)
            })
        } satisfies StreamBackend.StreamCursor
      })
    }))
  ).pipe(Layer.provideMerge(MemoryStreamBackend.layer))
}
