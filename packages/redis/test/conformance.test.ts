import { RedisStreamBackend } from "@maf/events-redis"
import { Conformance } from "@maf/events-test"

Conformance.conformance(
  "the conformance suite on a real redis-server",
  Conformance.layerRedis((url) => RedisStreamBackend.layer({ url })),
  { faults: true }
)
