import { RedisGroupBackend, RedisStreamBackend } from "@maf/events-redis"
import { GroupConformance } from "@maf/events-test"
import * as Layer from "effect/Layer"

GroupConformance.conformance(
  "the group conformance suite on a real redis-server",
  GroupConformance.layerRedis((url) =>
    Layer.merge(RedisStreamBackend.layer({ url }), RedisGroupBackend.layer({ url }))
  )
)
