/**
 * A member's acknowledgements, batched: an id queued is sent at once when no `XACK` is on its way;
 * whatever is queued while one is on its way goes in the next, as one call. No timer: an ack waits
 * at most for the one before it.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/** @internal */
export interface Acks {
  /** Queues `id` for the next `XACK`, at once (called by a worker as its handler succeeds). */
  readonly offer: (id: string) => void
  /** The ids queued or on their way, not yet acknowledged (the lease renews them meanwhile). */
  readonly unacknowledged: () => ReadonlyArray<string>
  /** Whether `id` is queued or on its way (a claim that returns it must not hand it out again). */
  readonly has: (id: string) => boolean
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
    // Whether `wanted` was completed since the sender last took it: completed once a batch, not once an id.
    let signalled = false
    const offer = (id: string) => {
      queued.push(id)
      // Stryker disable next-line ConditionalExpression: completing a completed Deferred does nothing (the flag saves the calls)
      if (signalled) return
      // Stryker disable next-line BooleanLiteral: completing a completed Deferred does nothing (the flag saves the calls)
      signalled = true
      Deferred.unsafeDone(wanted, Exit.void)
    }
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
            signalled = false
            return flush
          })
        )
      )
    )
    const unacknowledged = () => (sending.length === 0 ? queued : [...sending, ...queued])
    const has = (id: string) => queued.includes(id) || sending.includes(id)
    return { offer, unacknowledged, has, flush, run }
  })
