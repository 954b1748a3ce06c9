/**
 * The outcome of an awaited publish. Publishing never fails: the result says whether the entry was
 * written.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * Why an event was not written.
 *
 Every reason but `Timeout` means the event is certainly not in the stream.
 *
 * - `Unavailable`: the backend could not be reached (not connected): nothing was sent.
 * - `Timeout`: sent, and no answer came within the publish bound (or the connection was lost before
 *   the answer): the entry may be written; the bus cannot know. Rare on a healthy server.
 * - `NotSent`: the bound ran out while the event waited in the bus's outbox (a burst, a slow
 *   backend, events published before it still unwritten): it was never sent.
 * - `Overloaded`: the outbox was full (`bufferCapacity`), or the event was dropped from it to make
 *   room under `overflow: "dropOldest"`: it was never sent.
 * - `Rejected`: the server refused the write (permissions, wrong key type, out of memory), or the
 *   event could not be encoded.
 * - `Disabled`: the bus publishes nothing (`EventBus.layerNull`).
 * - `Closed`: the bus was shut down before the event was sent.
 *
 * @since 0.1.0
 * @category models
 */
export type NotWrittenReason =
  | "Unavailable"
  | "Timeout"
  | "NotSent"
  | "Overloaded"
  | "Rejected"
  | "Disabled"
  | "Closed"

/**
 * Written (with the entry's stream id) or not written (with the reason).
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Match } from "effect"
 * import type { PublishResult } from "@maf/events"
 *
 * const describe = Match.type<PublishResult.PublishResult>().pipe(
 *   Match.tagsExhaustive({
 *     Written: ({ id }) => `written as ${id}`,
 *     NotWritten: ({ reason, message }) => `not written (${reason}): ${message}`
 *   })
 * )
 */
export type PublishResult = Data.TaggedEnum<{
  /**
   * Written as the entry `id`. `replicas`, from a backend that waits for replicas (the Redis
   * backend's `waitForReplicas`), is how many acknowledged the write: fewer than asked, the wait
   * fell short, and a failover may lose the event.
   */
  Written: { readonly id: string; readonly replicas?: number | undefined }
  NotWritten: { readonly reason: NotWrittenReason; readonly message: string }
}>

const constructors = Data.taggedEnum<PublishResult>()

/**
 * @since 0.1.0
 * @category constructors
 */
export const Written = constructors.Written

/**
 * @since 0.1.0
 * @category constructors
 */
export const NotWritten = constructors.NotWritten

/**
 * Matches on a result by its tag.
 *
 * @since 0.1.0
 * @category pattern matching
 */
export const match = constructors.$match

/**
 * Whether the event was written.
 *
 * @since 0.1.0
 * @category guards
 */
export const isWritten = constructors.$is("Written")

/**
 * Whether a result leaves the event's fate unknown (`Timeout`): every other `NotWritten` means the
 * event is not in the stream, so a caller may publish it again without making a duplicate.
 *
 * @since 0.2.0
 * @category guards
 */
export const isOutcomeUnknown = (result: PublishResult): boolean =>
  result._tag === "NotWritten" && result.reason === "Timeout"
