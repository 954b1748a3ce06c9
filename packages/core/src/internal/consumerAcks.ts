/**
 * A member's acknowledgements, batched: an id queued is sent at once when no `XACK` is on its way;
 * whatever is queued while one is on its way goes in the next, as one call. No timer: an ack waits
 * at most for the one before it.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"

/** @internal */
export interface Acks {
  /** Queues `id` for the next `XACK`. */
  readonly queue: (id: string) => Effect.Effect<void>
  /** Sends what is queued now (at shutdown). */
  readonly flush: Effect.Effect<void>
  /** The sender: sends a batch whenever something is queued; runs until interrupted. */
  readonly run: Effect.Effect<never>
}

/** Batches for `send`, which acknowledges the ids given (and handles its own failures). */
export const make = (send: (ids: ReadonlyArray<string>) => Effect.Effect<void>): Effect.Effect<Acks> =>
  Effect.map(Deferred.make<void>(), (first) => {
    let queued: Array<string> = []
    let wanted = first
    const queue = (id: string) =>
      Effect.suspend(() => {
        queued.push(id)
        return Deferred.succeed(wanted, undefined)
      })
    const flush = Effect.suspend(() => {
      if (queued.length === 0) return Effect.void
      const ids = queued
      queued = []
      return send(ids)
    })
    const run = Effect.forever(
      Effect.suspend(() =>
        Effect.zipRight(
          Deferred.await(wanted),
          Effect.flatMap(Deferred.make<void>(), (next) => {
            wanted = next
            return flush
          })
        )
      )
    )
    return { queue, flush, run }
  })
