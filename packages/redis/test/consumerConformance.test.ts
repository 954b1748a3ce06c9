import { RedisGroupBackend, RedisStreamBackend } from "@maf/events-redis"
import { ConsumerConformance } from "@maf/events-test"
import * as Layer from "effect/Layer"

ConsumerConformance.conformance(
  "the consumer conformance suite on a real redis-server",
  ConsumerConformance.layerRedis((url, clientName) =>
    Layer.merge(RedisStreamBackend.layer({ url, clientName }), RedisGroupBackend.layer({ url, clientName }))
  ),
  { features: { faults: true } }
)
