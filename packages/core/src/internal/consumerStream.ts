/**
 * The stream form of a member (`EventConsumer.stream`), on the one member loop: its handler hands
 * each message out through a queue and waits for the program to settle it (`ack`, `retry`,
 * `deadLetter`), so that leases, the delivery limit, claims, the prefetch bound (`concurrency`
 * unsettled at most), shutdown and the missing-group policy are those of `consume`.
 *
 * When the stream ends, every message handed out and not settled is let go unsettled (it stays
 * pending, for a claim), at once, before the member's shutdown drains what was settled.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type * as Event from "../Event.js"
import type { MemberOptions, Message, Outcome, Received } from "../EventConsumer.js"
import type { GroupBackendError, GroupBackendService, MissingGroup } from "../GroupBackend.js"
import * as Consumer from "./consumer.js"

type Settlement = Outcome | typeof Consumer.Release

// The outcomes, as `Outcome`'s constructors make them (built here: internal modules import the
// public ones as types only).
const ack: Outcome = { _tag: "Ack" } as Outcome
const retryAfter = (after: Duration.DurationInput | undefined): Outcome =>
  ({ _tag: "Retry", after }) as Outcome
const deadLetterFor = (reason: string): Outcome => ({ _tag: "DeadLetter", reason }) as Outcome

/** @internal */
export const stream = <E extends Event.Any>(
  groups: GroupBackendService,
  options: MemberOptions<E>
): Stream.Stream<Received<E>, GroupBackendError | MissingGroup> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const queue = yield* Queue.unbounded<Received<E>>()
      let ended = false
      const unsettled = new Set<Deferred.Deferred<Settlement>>()
      const handler = (message: Message<E>): Effect.Effect<Settlement | void> => {
        // A gap has nothing to settle: handed out, and the loop goes on.
        if (message._tag === "Gap") return Effect.asVoid(Queue.offer(queue, message))
        return Effect.flatMap(Deferred.make<Settlement>(), (settled) => {
          if (ended) return Effect.succeed(Consumer.Release)
          unsettled.add(settled)
          const settle = (outcome: Settlement) =>
            Effect.suspend(() => {
              unsettled.delete(settled)
              return Deferred.succeed(settled, outcome)
            }).pipe(Effect.asVoid)
          const received: Received<E> = Object.assign(message, {
            ack: settle(ack),
            retry: (after?: Duration.DurationInput) => settle(retryAfter(after)),
            deadLetter: (reason: string) => settle(deadLetterFor(reason))
          })
          return Effect.zipRight(Queue.offer(queue, received), Deferred.await(settled))
        })
      }
      const member = yield* Effect.forkScoped(Consumer.consume(groups, options, handler))
      // Added after the member's fiber: runs first, so that its shutdown finds nothing waiting for
      // the program, only what the program settled.
      yield* Effect.addFinalizer(() =>
        Effect.suspend(() => {
          ended = true
          const left = [...unsettled]
          unsettled.clear()
          // Stryker disable next-line ObjectLiteral: a finalizer's result is dropped
          return Effect.forEach(left, (settled) => Deferred.succeed(settled, Consumer.Release), {
            // Stryker disable next-line BooleanLiteral: a finalizer's result is dropped
            discard: true
          })
        })
      )
      return Stream.fromQueue(queue).pipe(
        // Stryker disable next-line ObjectLiteral,StringLiteral: neither side ends but by failing (the queue is never shut down, the member never returns), and a failure ends the merge under any strategy
        Stream.merge(Stream.drain(Stream.fromEffect(Fiber.join(member))), { haltStrategy: "either" })
      )
    })
  )
