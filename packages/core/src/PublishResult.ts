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
 * - `Unavailable`: the backend could not be reached (not connected, connection lost).
 * - `Timeout`: no answer within the publish bound. The entry may still be written later; the bus
 *   cannot know.
 * - `Rejected`: the server refused the write (permissions, wrong key type, out of memory).
 * - `Disabled`: the bus publishes nothing (`EventBus.layerNull`).
 * - `Closed`: the bus was shut down.
 *
 * @since 0.1.0
 * @category models
 */
export type NotWrittenReason = "Unavailable" | "Timeout" | "Rejected" | "Disabled" | "Closed"

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
  Written: { readonly id: string }
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
