/**
 * The stream, group and consumer conformance suites on a real Redis Cluster (3 masters, 3 replicas):
 * the backends with `cluster: true`, given the URL of one node; streams on every master.
 */
import { RedisGroupBackend, RedisStreamBackend } from "@maf/events-redis"
import { Conformance, ConsumerConformance, GroupConformance, TopologyConformance } from "@maf/events-test"
import * as Layer from "effect/Layer"

const onCluster = TopologyConformance.layerCluster((url, clientName) =>
  Layer.merge(
    RedisStreamBackend.layer({ url, cluster: true, clientName }),
    RedisGroupBackend.layer({ url, cluster: true, clientName })
  )
)

Conformance.conformance("the conformance suite on a Redis Cluster", onCluster)
GroupConformance.conformance("the group conformance suite on a Redis Cluster", onCluster)
ConsumerConformance.conformance("the consumer conformance suite on a Redis Cluster", onCluster)
