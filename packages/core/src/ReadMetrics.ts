/**
 * The reader's Effect `Metric`s, tagged with the stream's name (`stream`).
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"

/**
 * Entries read (every variant but gaps).
 *
 * @since 0.1.0
 * @category metrics
 */
export const read = Metric.counter("maf_events_read_total", {
  description: "Entries read",
  incremental: true
})

/**
 * Gap notices: runs of entries removed (trimmed, deleted) before the reader got them.
 *
 * @since 0.1.0
 * @category metrics
 */
export const gaps = Metric.counter("maf_events_read_gaps_total", {
  description: "Gaps: entries removed before the reader got them",
  incremental: true
})

/**
 * Entries lost in gaps, where the backend can tell how many.
 *
 * @since 0.1.0
 * @category metrics
 */
export const lost = Metric.counter("maf_events_read_lost_total", {
  description: "Entries lost in gaps (where counted)",
  incremental: true
})

/**
 * Malformed entries read.
 *
 * @since 0.1.0
 * @category metrics
 */
export const malformed = Metric.counter("maf_events_read_malformed_total", {
  description: "Malformed entries read",
  incremental: true
})

/**
 * Entries of kinds outside the reader's catalog.
 *
 * @since 0.1.0
 * @category metrics
 */
export const unknownKinds = Metric.counter("maf_events_read_unknown_kind_total", {
  description: "Entries of unknown kinds read",
  incremental: true
})

/**
 * Failed reads (each is retried by the reader's schedule).
 *
 * @since 0.1.0
 * @category metrics
 */
export const failures = Metric.counter("maf_events_read_failures_total", {
  description: "Failed reads, retried",
  incremental: true
})
