import { Conformance } from "@maf/events-test"

Conformance.conformance("the conformance suite on a real redis-server", Conformance.layerRedis(), {
  faults: true
})
