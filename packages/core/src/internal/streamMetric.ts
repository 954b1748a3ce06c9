/**
 * The publisher's and the reader's metrics carry the stream's name as the tag `stream`.
 *
 * @internal
 */
import * as Arr from "effect/Array"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"

/** A function that tags a metric with the stream's name. */
export const taggerFor =
  (stream: string) =>
  <M extends Metric.Metric<any, any, any>>(metric: M): M =>
    Metric.tagged(metric, "stream", stream) as M

/**
 * A function giving the labels of an update made in `fiber`: `stream`, and the fiber's own metric
 * labels (`Effect.labelMetrics`), as `Metric.update` of a metric tagged by {@link taggerFor} gives
 * them. For the updates made on every publish and read: `metric.unsafeUpdate(value, labels)` with
 * them skips what a tagged metric's update makes each time (a new array of labels, and so a new key
 * to look up in the registry: 0.4 µs and, a read of a live tail, 2.9 KB allocated on the bench
 * machine).
 */
export const labelsFor = (
  stream: string
): ((fiber: Fiber.RuntimeFiber<unknown, unknown>) => ReadonlyArray<MetricLabel.MetricLabel>) => {
  const streamLabels = [MetricLabel.make("stream", stream)]
  // The union for the fiber labels last seen: the same array of labels a fiber keeps is given the
  // same union, which the metric's own cache of label arrays then finds.
  let lastFiberLabels: ReadonlyArray<MetricLabel.MetricLabel> | undefined
  let lastUnion: ReadonlyArray<MetricLabel.MetricLabel> = streamLabels
  return (fiber) => {
    const fiberLabels = fiber.getFiberRef(FiberRef.currentMetricLabels)
    if (fiberLabels.length === 0) return streamLabels
    if (fiberLabels !== lastFiberLabels) {
      lastUnion = Arr.union(streamLabels, fiberLabels)
      lastFiberLabels = fiberLabels
    }
    return lastUnion
  }
}
