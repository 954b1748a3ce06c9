/**
 * The consumer-group port: the few operations on a stream's consumer groups that `EventConsumer` is
 * built on, with the semantics of Redis 7.0's groups (a pending entries list per group, delivery
 * counts kept by the server, idle times, `XAUTOCLAIM` reporting deleted entries). All policy
 * (leases, retries, the delivery limit, batching acks, what a missing group means) lives above it,
 * in `EventConsumer`; a backend is a thin adapter (the in-memory one, `MemoryStreamBackend`, and
 * the Redis one in `@maf/events-redis`).
 *
 * Every operation on a group that does not exist (the group destroyed, the key deleted, evicted or
 * flushed) fails with {@link MissingGroup}, except `ack`, which answers 0 as `XACK` does.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { BackendServer, StreamBackendError, StreamEntry } from "./StreamBackend.js"

/**
 * An entry delivered to a member of a group: the stream entry and how many times it has been
 * delivered in all (the server's count: 1 for a first delivery, more after claims and retries).
 *
 * @since 0.2.0
 * @category models
 */
export interface GroupEntry extends StreamEntry {
  readonly deliveryCount: number
}

/**
 * The group operation failed because the group does not exist (`NOGROUP`).
 *
 * @since 0.2.0
 * @category errors
 */
export class MissingGroup extends Data.TaggedError("MissingGroup")<{
  readonly stream: string
  readonly group: string
  readonly message: string
}> {}

/**
 * Why a group operation failed: the backend's own failure, or a missing group.
 *
 * @since 0.2.0
 * @category errors
 */
export type GroupBackendError = StreamBackendError | MissingGroup

/**
 * Options of a read of new entries (`XREADGROUP … >`): at most `count`; when none is there, wait up
 * to `blockMillis` (`undefined`: do not wait). `timeoutMillis` bounds the whole read, as the
 * reader's {@link StreamBackend.ReadOptions}; a backend keeps to it by itself.
 *
 * @since 0.2.0
 * @category models
 */
export interface GroupReadOptions {
  readonly count: number
  readonly blockMillis: number | undefined
  readonly timeoutMillis: number
}

/**
 * What a claim gives: the entries now held by the claiming member (with their delivery counts, one
 * more than before), the ids of pending entries found deleted from the stream (removed from the
 * group's pending list by the claim, as Redis 7.0's `XAUTOCLAIM` does), and where the next scan
 * starts (`"0-0"` when the scan went round the whole pending list).
 *
 * @since 0.2.0
 * @category models
 */
export interface Claimed {
  readonly entries: ReadonlyArray<GroupEntry>
  readonly deleted: ReadonlyArray<string>
  readonly next: string
}

/**
 * What a renewal gave: the ids the member still holds (renewed), and those it held that were found
 * deleted from the stream (removed from the pending list, as Redis 7.0's `XCLAIM … JUSTID` does).
 * An id in neither is no longer the member's (another member claimed it, or it was acknowledged).
 *
 * @since 0.2.0
 * @category models
 */
export interface Renewed {
  readonly renewed: ReadonlyArray<string>
  readonly deleted: ReadonlyArray<string>
}

/**
 * What a member's own entries gave when taken again for a retry: the entries (their delivery counts
 * one more), the ids found deleted from the stream (removed from the pending list), and the ids the
 * member no longer holds (another member claimed them, or they were acknowledged).
 *
 * @since 0.2.0
 * @category models
 */
export interface Redelivered {
  readonly entries: ReadonlyArray<GroupEntry>
  readonly deleted: ReadonlyArray<string>
  readonly lost: ReadonlyArray<string>
}

/**
 * A dead letter: where it goes and the fields added beside the original `data` (name, value, …).
 *
 * @since 0.2.0
 * @category models
 */
export interface DeadLetter {
  readonly deadStream: string
  readonly fields: ReadonlyArray<string>
  /** `MAXLEN ~` of the dead-letter stream; 0: no trimming. */
  readonly maxlen: number
}

/**
 * What became of a dead letter: `"moved"` (added to the dead-letter stream and acknowledged, in one
 * step), `"deleted"` (the entry was gone from the stream: acknowledged away, nothing added) or
 * `"lost"` (the member no longer held it: nothing done).
 *
 * @since 0.2.0
 * @category models
 */
export type DeadLetterOutcome = "moved" | "deleted" | "lost"

/**
 * A member of a group as the server sees it.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConsumerInfo {
  readonly name: string
  /** Entries it holds (delivered, not acknowledged). */
  readonly pending: number
  /** Milliseconds since it last read or claimed. */
  readonly idleMillis: number
}

/**
 * A group as the server sees it (`XINFO GROUPS`, `XINFO CONSUMERS`).
 *
 * @since 0.2.0
 * @category models
 */
export interface GroupInfo {
  readonly name: string
  /** Entries delivered and not acknowledged, across its members. */
  readonly pending: number
  /** The last id delivered to a member. */
  readonly lastDeliveredId: string
  /**
   * Entries in the stream not yet delivered to the group; `undefined` when the server cannot tell
   * (Redis 7.0 after deletions in the middle of the stream, or a group made from an arbitrary id).
   */
  readonly lag: number | undefined
  readonly consumers: ReadonlyArray<ConsumerInfo>
}

/**
 * A connection of a member's own for its blocking reads (for Redis: a blocking `XREADGROUP` blocks
 * every other command on its connection). Closed with its scope.
 *
 * @since 0.2.0
 * @category models
 */
export interface GroupCursor {
  /** New entries for `consumer` (`XREADGROUP GROUP group consumer … STREAMS stream >`), delivery count 1. */
  readonly read: (
    stream: string,
    group: string,
    consumer: string,
    options: GroupReadOptions
  ) => Effect.Effect<ReadonlyArray<GroupEntry>, GroupBackendError>
}

/**
 * The consumer-group port.
 *
 * @since 0.2.0
 * @category models
 */
export interface GroupBackendService {
  /** Where the backend talks to, for spans; unset: `messaging.system` `"unknown"`. @since 0.3.0 */
  readonly server?: BackendServer | undefined
  /**
   * Creates the group (and the stream, if it does not exist) starting after `start` (`"$"`: the
   * stream's last entry now; `"0"`: before the first; or an entry id). An existing group is left as
   * it is: `"joined"`.
   */
  readonly create: (
    stream: string,
    group: string,
    start: string
  ) => Effect.Effect<"created" | "joined", StreamBackendError>
  /** Opens a cursor for a member's reads, closed when the scope closes. */
  readonly openCursor: Effect.Effect<GroupCursor, StreamBackendError, Scope.Scope>
  /** Acknowledges entries (`XACK`): how many were pending. A missing group answers 0. */
  readonly ack: (
    stream: string,
    group: string,
    ids: ReadonlyArray<string>
  ) => Effect.Effect<number, StreamBackendError>
  /**
   * Claims for `consumer` up to `count` entries pending for at least `minIdleMillis`, scanning the
   * pending list from `start` (`XAUTOCLAIM`), with their delivery counts.
   */
  readonly claim: (
    stream: string,
    group: string,
    consumer: string,
    options: { readonly minIdleMillis: number; readonly start: string; readonly count: number }
  ) => Effect.Effect<Claimed, GroupBackendError>
  /**
   * Renews `consumer`'s hold on those of `ids` it still holds (their idle time back to 0, delivery
   * count unchanged: `XCLAIM … JUSTID` of its own entries, never of another's): which were renewed,
   * and which it held but were deleted from the stream (they leave the pending list).
   */
  readonly renew: (
    stream: string,
    group: string,
    consumer: string,
    ids: ReadonlyArray<string>
  ) => Effect.Effect<Renewed, GroupBackendError>
  /** Takes `consumer`'s own `ids` again for a retry: each a new delivery (`XCLAIM` of its own entries). */
  readonly redeliver: (
    stream: string,
    group: string,
    consumer: string,
    ids: ReadonlyArray<string>
  ) => Effect.Effect<Redelivered, GroupBackendError>
  /**
   * Moves an entry `consumer` holds to the dead-letter stream and acknowledges it, in one step (an
   * entry with the original `data` field unchanged, then `letter.fields`): never one without the
   * other.
   */
  readonly deadLetter: (
    stream: string,
    group: string,
    consumer: string,
    id: string,
    letter: DeadLetter
  ) => Effect.Effect<DeadLetterOutcome, GroupBackendError>
  /** The group, its pending count, lag and members. */
  readonly info: (stream: string, group: string) => Effect.Effect<GroupInfo, GroupBackendError>
  /**
   * Removes `consumer` from the group if it holds nothing pending (checked and removed in one
   * step): `true` when it was removed. A consumer that holds entries is never removed.
   */
  readonly removeIdleConsumer: (
    stream: string,
    group: string,
    consumer: string
  ) => Effect.Effect<boolean, GroupBackendError>
}

/**
 * The consumer-group port as a service.
 *
 * @since 0.2.0
 * @category tags
 */
export class GroupBackend extends Context.Tag("@maf/events/GroupBackend")<
  GroupBackend,
  GroupBackendService
>() {}
