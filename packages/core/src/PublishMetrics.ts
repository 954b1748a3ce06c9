/**
 * The publisher's Effect `Metric`s, tagged with the stream's name (`stream`).
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/**
 * Events written to the stream (awaited and fire-and-forget).
 *
 * @since 0.1.0
 * @category metrics
 */
export const published = Metric.counter("maf_events_published_total", {
  description: "Events written to the stream",
  incremental: true
})

/**
 * Failed writes: each awaited publish that was not written, and each event of a batch whose write
 * attempt failed (the batch is retried, so one event can count more than once).
 *
 * @since 0.1.0
 * @category metrics
 */
export const failed = Metric.counter("maf_events_publish_failed_total", {
  description: "Failed event writes (awaited publishes not written, events of failed batch attempts)",
  incremental: true
})

/**
 * Events given up: dropped by the buffer's overflow policy, or still unwritten when the drain
 * deadline passed at shutdown.
 *
 * @since 0.1.0
 * @category metrics
 */
export const dropped = Metric.counter("maf_events_dropped_total", {
  description: "Events dropped (buffer overflow, drain deadline)",
  incremental: true
})

/**
 * Events waiting in the fire-and-forget buffer (set at each batch).
 *
 * @since 0.1.0
 * @category metrics
 */
export const buffered = Metric.gauge("maf_events_buffered", {
  description: "Events waiting in the fire-and-forget buffer"
})

/**
 * Latency of awaited publishes, in milliseconds (0.05 ms to about 1.6 s).
 *
 * @since 0.1.0
 * @category metrics
 */
export const publishLatency = Metric.histogram(
  "maf_events_publish_latency_ms",
  MetricBoundaries.exponential({ start: 0.05, factor: 2, count: 16 }),
  "Latency of awaited publishes, in milliseconds"
)
