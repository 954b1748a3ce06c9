import { GroupConformance } from "@maf/events-test"

GroupConformance.conformance(
  "the group conformance suite on the in-memory backend",
  GroupConformance.layerMemory
)
