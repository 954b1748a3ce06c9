import { GroupConformance, PartitionConformance } from "@maf/events-test"

PartitionConformance.conformance("the partition checks on the memory backend", GroupConformance.layerMemory)
