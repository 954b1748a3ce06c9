/**
 * The stream, group and consumer conformance suites on a master watched by Sentinel (a master, a
 * replica, three sentinels): the backends given the `redis+sentinel://` URL.
 */
import { RedisGroupBackend, RedisStreamBackend } from "@maf/events-redis"
import { Conformance, ConsumerConformance, GroupConformance, TopologyConformance } from "@maf/events-test"
import * as Layer from "effect/Layer"

const onSentinel = TopologyConformance.layerSentinel((url, clientName) =>
  Layer.merge(RedisStreamBackend.layer({ url, clientName }), RedisGroupBackend.layer({ url, clientName }))
)

Conformance.conformance("the conformance suite through Sentinel", onSentinel)
GroupConformance.conformance("the group conformance suite through Sentinel", onSentinel)
ConsumerConformance.conformance("the consumer conformance suite through Sentinel", onSentinel)
