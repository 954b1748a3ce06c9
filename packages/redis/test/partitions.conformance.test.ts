/**
 * The partition checks (`PartitionConformance`) on a real redis-server: one server holds the three
 * partition keys, their dead-letter keys and the groups, through the Redis backends.
 */
import { RedisGroupBackend, RedisStreamBackend } from "@maf/events-redis"
import { GroupConformance, PartitionConformance } from "@maf/events-test"
import * as Layer from "effect/Layer"

PartitionConformance.conformance(
  "the partition checks on a real redis-server",
  GroupConformance.layerRedis((url) =>
    Layer.merge(RedisStreamBackend.layer({ url }), RedisGroupBackend.layer({ url }))
  )
)
