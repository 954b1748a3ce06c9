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
  /** The ids queued or on their way, not yet acknowledged (the lease renews them meanwhile). */
  readonly unacknowledged: () => ReadonlyArray<string>
  /** Sends what is queued now (at shutdown). */
  readonly flush: Effect.Effect<void>
  /** The sender: sends a batch whenever something is queued; runs until interrupted. */
  readonly run: Effect.Effect<never>
}

/** Batches for `send`, which acknowledges the ids given (and handles its own failures). */
export const make = (send: (ids: ReadonlyArray<string>) => Effect.Effect<void>): Effect.Effect<Acks> =>
  Effect.map(Deferred.make<void>(), (first) => {
    let queued: Array<string> = []
    let sending: ReadonlyArray<string> = []
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
      sending = ids
      return Effect.ensuring(
        send(ids),
        Effect.sync(() => {
          if (sending === ids) sending = []
        })
      )
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
    const unacknowledged = () => (sending.length === 0 ? queued : [...sending, ...queued])
    return { queue, unacknowledged, flush, run }
  })
