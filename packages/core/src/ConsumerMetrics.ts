/**
 * The metrics of consumer groups (`EventConsumer`), each tagged with `stream` and `group`.
 *
 * @since 0.2.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/**
 * Entries handed to the handler (each delivery counts).
 *
 * @since 0.2.0
 * @category metrics
 */
export const handled = Metric.counter("maf_events_group_handled_total", {
  description: "Entries handed to a group member's handler (each delivery counts)",
  incremental: true
})

/**
 * Entries acknowledged after their handler succeeded.
 *
 * @since 0.2.0
 * @category metrics
 */
export const acked = Metric.counter("maf_events_group_acked_total", {
  description: "Entries acknowledged after their handler succeeded",
  incremental: true
})

/**
 * Entries whose handler failed or asked for a retry, taken again for another delivery.
 *
 * @since 0.2.0
 * @category metrics
 */
export const retried = Metric.counter("maf_events_group_retried_total", {
  description: "Entries taken again for a retry",
  incremental: true
})

/**
 * Entries moved to the dead-letter stream.
 *
 * @since 0.2.0
 * @category metrics
 */
export const deadLettered = Metric.counter("maf_events_group_dead_lettered_total", {
  description: "Entries moved to the dead-letter stream",
  incremental: true
})

/**
 * Entries claimed from other members (idle past the minimum).
 *
 * @since 0.2.0
 * @category metrics
 */
export const claimed = Metric.counter("maf_events_group_claimed_total", {
  description: "Entries claimed from other members",
  incremental: true
})

/**
 * Pending entries removed from the stream before they were handled (come out as a `Gap`).
 *
 * @since 0.2.0
 * @category metrics
 */
export const lost = Metric.counter("maf_events_group_lost_total", {
  description: "Pending entries removed from the stream before they were handled",
  incremental: true
})

/**
 * Times the group was found missing (`NOGROUP`).
 *
 * @since 0.2.0
 * @category metrics
 */
export const missingGroup = Metric.counter("maf_events_group_missing_total", {
  description: "Times the consumer group was found missing",
  incremental: true
})

/**
 * Idle consumers holding nothing pending removed from the group by housekeeping.
 *
 * @since 0.2.0
 * @category metrics
 */
export const consumersRemoved = Metric.counter("maf_events_group_consumers_removed_total", {
  description: "Idle consumers holding nothing pending removed from the group",
  incremental: true
})

/**
 * The group's pending entries, as last seen.
 *
 * @since 0.2.0
 * @category metrics
 */
export const pending = Metric.gauge("maf_events_group_pending", {
  description: "The group's pending entries, as last seen"
})

/**
 * Entries not yet delivered to the group, as last seen (it keeps its last value while the server
 * cannot tell: Redis 7.0 after deletions in the middle of the stream).
 *
 * @since 0.2.0
 * @category metrics
 */
export const lag = Metric.gauge("maf_events_group_lag", {
  description: "Entries not yet delivered to the group, as last seen"
})

/**
 * How long handlers ran, in milliseconds (in the stream form: from a message handed out to its
 * settlement).
 *
 * @since 0.2.0
 * @category metrics
 */
export const handlerDuration = Metric.histogram(
  "maf_events_group_handler_duration_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
  "How long handlers ran, in milliseconds"
)
