/**
 * A member of a consumer group over a partitioned stream, composed of single-key members
 * (`consumer.ts`, `consumerStream.ts`): the same group and member name on each partition key, one
 * member loop a partition (on a Cluster the keys live on different nodes: one `XREADGROUP` cannot
 * read them together), each with its own leases, claims, acks and dead-letter stream
 * (`<key>:dead`, in the key's slot). In `consume`, the handlers of all partitions share one limit
 * of `concurrency` running at once; in the stream form, each partition has `concurrency` messages
 * out unsettled at most.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Stream from "effect/Stream"
import type * as Event from "../Event.js"
import type { MemberOptions, Received } from "../EventConsumer.js"
import type { GroupBackendError, GroupBackendService, MissingGroup } from "../GroupBackend.js"
import * as Consumer from "./consumer.js"
import * as ConsumerOptions from "./consumerOptions.js"
import * as ConsumerStream from "./consumerStream.js"
import * as Partitions from "./partitions.js"

/** The options of each partition's member; throws a `RangeError` for options that cannot be split. */
const split = <E extends Event.Any>(options: MemberOptions<E>): ReadonlyArray<MemberOptions<E>> => {
  const { partitions: count, ...single } = options
  const partitions = Partitions.requirePartitions(count ?? 1, "EventConsumer")
  const keys = Partitions.keys(options.stream ?? ConsumerOptions.defaults.stream, partitions, "EventConsumer")
  if (partitions === 1) return [single]
  if (options.deadLetterStream !== undefined) {
    throw new RangeError(
      "EventConsumer option deadLetterStream cannot be given for a partitioned stream: each partition's dead letters go to <partition key>:dead, in its slot (a dead letter is written with its ack, in one script)"
    )
  }
  return keys.map((stream) => ({ ...single, stream }))
}

const splitOrDie = <E extends Event.Any>(options: MemberOptions<E>) =>
  Effect.orDie(Effect.try({ try: () => split(options), catch: (e) => e }))

/** `consume` over every partition: a member loop each, the handlers sharing `concurrency`. */
export const consume = <E extends Event.Any, R>(
  groups: GroupBackendService,
  options: MemberOptions<E>,
  handler: Consumer.MemberHandler<E, R>
): Effect.Effect<never, GroupBackendError | MissingGroup, R> =>
  Effect.flatMap(splitOrDie(options), (members) => {
    if (members.length === 1) return Consumer.consume(groups, members[0]!, handler)
    const limit = Effect.unsafeMakeSemaphore(options.concurrency ?? ConsumerOptions.defaults.concurrency)
    // Once a member closes, a handler still waiting for its turn never starts: its entry stays
    // pending (released), and the drain waits only for the handlers that run.
    const closing = Deferred.unsafeMake<void>(FiberId.none)
    const closed = () => Deferred.unsafeDone(closing, Exit.void)
    const shared: Consumer.MemberHandler<E, R> = (message) =>
      Effect.flatMap(
        Effect.raceFirst(Effect.as(limit.take(1), true), Effect.as(Deferred.await(closing), false)),
        (started) =>
          started ? Effect.ensuring(handler(message), limit.release(1)) : Effect.succeed(Consumer.Release)
      )
    // The first member to fail (a missing group under "fail", a custom failure schedule ending)
    // stops the others, which drain as at shutdown.
    return Effect.zipRight(
      Effect.all(
        members.map((member) => Consumer.consume(groups, member, shared, closed)),
        // Stryker disable next-line BooleanLiteral: the members' results are dropped (zipRight)
        { concurrency: "unbounded", discard: true }
      ),
      Effect.never
    )
  })

/** The stream form over every partition: a member stream each, merged. */
export const stream = <E extends Event.Any>(
  groups: GroupBackendService,
  options: MemberOptions<E>
): Stream.Stream<Received<E>, GroupBackendError | MissingGroup> =>
  Stream.unwrap(
    Effect.map(splitOrDie(options), (members) =>
      members.length === 1
        ? ConsumerStream.stream(groups, members[0]!)
        : Stream.mergeAll(
            members.map((member) => ConsumerStream.stream(groups, member)),
            { concurrency: "unbounded", bufferSize: 1 }
          )
    )
  )
