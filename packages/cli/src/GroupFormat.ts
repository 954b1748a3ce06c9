/**
 * Renderers of what the consumer-group commands print: a delivery and a gap (`consume`), a group's
 * state (`group info`), a dead letter and a replay (`dead-letters`), each as a JSON line for tools
 * and a pretty line for people. Pure functions.
 *
 * A delivery's JSON line is `tail`'s line of the entry (`Format.jsonObject`) followed by
 * `delivery_count`, `group` and `consumer` (which win over body keys of the same names).
 *
 * @since 0.2.0
 */
import type { EventConsumer, GroupBackend, ReadResult } from "@maf/events"
import * as Format from "./Format.js"

/**
 * The JSON object of a delivery; `body` is the entry's parsed wire body (see `Format.jsonObject`).
 *
 * @since 0.2.0
 * @category json
 */
export const deliveryObject = (
  delivery: EventConsumer.Delivery,
  body?: Format.JsonObject | undefined
): Format.JsonObject => ({
  ...Format.jsonObject(delivery, body),
  delivery_count: delivery.deliveryCount,
  group: delivery.group,
  consumer: delivery.consumer
})

/**
 * The JSON object of a gap: pending entries removed from the stream before they were handled.
 *
 * @since 0.2.0
 * @category json
 */
export const gapObject = (gap: EventConsumer.Gap): Format.JsonObject => ({
  stream_id: gap.streamId,
  variant: "gap",
  ids: gap.ids,
  lost: gap.lost,
  group: gap.group,
  consumer: gap.consumer
})

/**
 * The pretty line of a delivery: `tail`'s line, with the delivery count after it when it is not the
 * first delivery.
 *
 * @since 0.2.0
 * @category pretty
 */
export const prettyDelivery = (delivery: EventConsumer.Delivery, options: Format.PrettyOptions): string => {
  const line = Format.pretty(delivery, options)
  return delivery.deliveryCount > 1 ? `${line}  (delivery ${delivery.deliveryCount})` : line
}

/**
 * The pretty line of a gap.
 *
 * @since 0.2.0
 * @category pretty
 */
export const prettyGap = (gap: EventConsumer.Gap): string =>
  `── gap: ${gap.lost} pending entries were removed from the stream before they were handled (first ${gap.streamId}) ──`

/**
 * The JSON object of a group's state: `pending`, `lag` (`null` when the server cannot tell),
 * `last_delivered_id` and `consumers` (`name`, `pending`, `idle_ms`).
 *
 * @since 0.2.0
 * @category json
 */
export const infoObject = (stream: string, info: GroupBackend.GroupInfo): Format.JsonObject => ({
  stream,
  group: info.name,
  pending: info.pending,
  lag: info.lag ?? null,
  last_delivered_id: info.lastDeliveredId,
  consumers: info.consumers.map((consumer) => ({
    name: consumer.name,
    pending: consumer.pending,
    idle_ms: consumer.idleMillis
  }))
})

/**
 * A duration for people: `350 ms`, `12.3 s`, `4 min 5 s`, `2 h 3 min`.
 *
 * @since 0.2.0
 * @category pretty
 */
export const duration = (millis: number): string => {
  if (millis < 1_000) return `${millis} ms`
  if (millis < 60_000) return `${(millis / 1_000).toFixed(1)} s`
  const seconds = Math.floor(millis / 1_000)
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`
  return `${Math.floor(seconds / 3_600)} h ${Math.floor((seconds % 3_600) / 60)} min`
}

/**
 * A group's state for people, on several lines: its counts, then a table of its consumers.
 *
 * @since 0.2.0
 * @category pretty
 */
export const prettyInfo = (stream: string, info: GroupBackend.GroupInfo): string => {
  const lag = info.lag === undefined ? "unknown (the server cannot tell)" : String(info.lag)
  const lines = [
    `group ${info.name} on ${stream}`,
    `  pending            ${info.pending}`,
    `  lag                ${lag}`,
    `  last delivered id  ${info.lastDeliveredId}`,
    `  consumers          ${info.consumers.length}`
  ]
  if (info.consumers.length > 0) {
    const width = Math.max(4, ...info.consumers.map((c) => c.name.length))
    lines.push(`    ${"NAME".padEnd(width)}  ${"PENDING".padStart(7)}  IDLE`)
    for (const c of info.consumers) {
      lines.push(`    ${c.name.padEnd(width)}  ${String(c.pending).padStart(7)}  ${duration(c.idleMillis)}`)
    }
  }
  return lines.join("\n")
}

/**
 * A dead letter as the dead-letter stream holds it: its own id, what the consumer added (the
 * original id, group, consumer, delivery count and error) and the original entry read back.
 *
 * @since 0.2.0
 * @category models
 */
export interface DeadLetter {
  readonly id: string
  readonly originalId: string
  readonly group: string
  readonly consumer: string
  readonly deliveryCount: number | undefined
  readonly error: string
  /** On a partitioned stream: the partition key whose dead letters hold it (`<partition key>:dead`). */
  readonly partition?: string | undefined
  /** The original entry as the reader would yield it (its `streamId` the original id). */
  readonly result: ReadResult.ReadResult
  /** Its parsed wire body, for the JSON line (see `Format.jsonObject`). */
  readonly body: Format.JsonObject | undefined
}

/**
 * The JSON object of a dead letter: `id`, `original_id`, `group`, `consumer`, `delivery_count`,
 * `error`, and `event`: `tail`'s JSON line of the original entry; on a partitioned stream,
 * `partition` (its partition key) first.
 *
 * @since 0.2.0
 * @category json
 */
export const deadLetterObject = (letter: DeadLetter): Format.JsonObject => ({
  ...(letter.partition === undefined ? {} : { partition: letter.partition }),
  id: letter.id,
  original_id: letter.originalId,
  group: letter.group,
  consumer: letter.consumer,
  delivery_count: letter.deliveryCount ?? null,
  error: letter.error,
  event: Format.jsonObject(letter.result, letter.body)
})

/**
 * A dead letter for people: the original entry as `tail` shows it, then a line saying who gave up
 * on it and why.
 *
 * @since 0.2.0
 * @category pretty
 */
export const prettyDeadLetter = (letter: DeadLetter, options: Format.PrettyOptions): string =>
  `${Format.pretty(letter.result, options)}\n    dead letter ${letter.id}${letter.partition === undefined ? "" : ` of ${letter.partition}`}: group ${letter.group}, consumer ${letter.consumer}, ${letter.deliveryCount ?? "?"} deliveries: ${letter.error}`

/**
 * A dead letter put back on the main stream: its id among the dead letters, its original id, and
 * its new id on the main stream.
 *
 * @since 0.2.0
 * @category models
 */
export interface Replayed {
  /** On a partitioned stream: the partition key it was dead-lettered from and is put back on. */
  readonly partition?: string | undefined
  readonly id: string
  readonly originalId: string
  readonly newId: string
}

/**
 * The JSON object of a replay: `id` (the dead letter's), `original_id`, `new_id`; on a partitioned
 * stream, `partition` (the partition key) first.
 *
 * @since 0.2.0
 * @category json
 */
export const replayedObject = (replayed: Replayed): Format.JsonObject => ({
  ...(replayed.partition === undefined ? {} : { partition: replayed.partition }),
  id: replayed.id,
  original_id: replayed.originalId,
  new_id: replayed.newId
})

/**
 * A replay for people.
 *
 * @since 0.2.0
 * @category pretty
 */
export const prettyReplayed = (replayed: Replayed): string =>
  `replayed ${replayed.id} (originally ${replayed.originalId}) as ${replayed.newId}${replayed.partition === undefined ? "" : ` on ${replayed.partition}`}`
