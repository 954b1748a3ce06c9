/**
 * The dashboard's own Effect `Metric`s, tagged with the stream's name (`stream`): what its feeds
 * send, and how late. Served on `/metrics` beside the library's.
 *
 * @since 0.3.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/**
 * Feeds (Server-Sent Events connections) open now.
 *
 * @since 0.3.0
 * @category metrics
 */
export const feeds = Metric.gauge("maf_events_dashboard_feeds", {
  description: "Dashboard feeds (Server-Sent Events connections) open"
})

/**
 * Entries sent on the feeds (each feed counts its own).
 *
 * @since 0.3.0
 * @category metrics
 */
export const sent = Metric.counter("maf_events_dashboard_sent_total", {
  description: "Entries sent on dashboard feeds",
  incremental: true
})

/**
 * How old an entry was when a feed sent it (now less its id's time), in milliseconds: the
 * dashboard's delay behind the stream (1 ms to about 16 s; a replay's old entries land in `+Inf`).
 *
 * @since 0.3.0
 * @category metrics
 */
export const delay = Metric.histogram(
  "maf_events_dashboard_delay_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
  "How old an entry was when a dashboard feed sent it, in milliseconds"
)
