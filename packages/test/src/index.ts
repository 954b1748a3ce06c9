/**
 * `@maf/events-test`: the test kit of `@maf/events` — a recording bus and a fed reader for testing
 * code that publishes or reads events, a real `redis-server` launcher (plain, TLS, a Cluster, a
 * Sentinel deployment), the conformance suite every backend passes, and fault tools.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Conformance from "./Conformance.js"
/** @since 0.2.0 */
export * as ConsumerConformance from "./ConsumerConformance.js"
/** @since 0.1.0 */
export * as EventFeed from "./EventFeed.js"
/** @since 0.2.0 */
export * as GroupConformance from "./GroupConformance.js"
/** @since 0.3.0 */
export * as PartitionConformance from "./PartitionConformance.js"
/** @since 0.1.0 */
export * as RecordingEventBus from "./RecordingEventBus.js"
/** @since 0.3.0 */
export * as RedisTestCluster from "./RedisTestCluster.js"
/** @since 0.3.0 */
export * as RedisTestSentinel from "./RedisTestSentinel.js"
/** @since 0.1.0 */
export * as RedisTestServer from "./RedisTestServer.js"
/** @since 0.3.0 */
export * as RedisTestTls from "./RedisTestTls.js"
/** @since 0.1.0 */
export * as TcpProxy from "./TcpProxy.js"
/** @since 0.3.0 */
export * as TopologyConformance from "./TopologyConformance.js"
