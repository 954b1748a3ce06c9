/**
 * `@maf/events`: typed lifecycle events of multi-agent systems on a stream, as an Effect library.
 *
 * @since 0.1.0
 */

/** @since 0.2.0 */
export * as ConsumerMetrics from "./ConsumerMetrics.js"
/** @since 0.1.0 */
export * as Event from "./Event.js"
/** @since 0.1.0 */
export * as EventBus from "./EventBus.js"
/** @since 0.1.0 */
export * as EventCatalog from "./EventCatalog.js"
/** @since 0.2.0 */
export * as EventConsumer from "./EventConsumer.js"
/** @since 0.1.0 */
export * as EventKind from "./EventKind.js"
/** @since 0.1.0 */
export * as EventReader from "./EventReader.js"
/** @since 0.2.0 */
export * as GroupBackend from "./GroupBackend.js"
/** @since 0.1.0 */
export * as MemoryStreamBackend from "./MemoryStreamBackend.js"
/** @since 0.3.0 */
export * as Partitions from "./Partitions.js"
/** @since 0.3.0 */
export * as PrometheusText from "./PrometheusText.js"
/** @since 0.1.0 */
export * as PublishMetrics from "./PublishMetrics.js"
/** @since 0.1.0 */
export * as PublishResult from "./PublishResult.js"
/** @since 0.1.0 */
export * as ReadMetrics from "./ReadMetrics.js"
/** @since 0.1.0 */
export * as ReadResult from "./ReadResult.js"
/** @since 0.1.0 */
export * as StreamBackend from "./StreamBackend.js"
/** @since 0.3.0 */
export * as Tracing from "./Tracing.js"
/** @since 0.1.0 */
export * as WireCodec from "./WireCodec.js"
