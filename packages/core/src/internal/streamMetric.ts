/**
 * The publisher's and the reader's metrics carry the stream's name as the tag `stream`.
 *
 * @internal
 */
import * as Metric from "effect/Metric"

/** A function that tags a metric with the stream's name. */
export const taggerFor =
  (stream: string) =>
  <M extends Metric.Metric<any, any, any>>(metric: M): M =>
    Metric.tagged(metric, "stream", stream) as M
