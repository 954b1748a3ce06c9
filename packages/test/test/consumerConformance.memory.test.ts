import { ConsumerConformance } from "@maf/events-test"

ConsumerConformance.conformance(
  "the consumer conformance suite on the in-memory backend",
  ConsumerConformance.layerMemory
)
