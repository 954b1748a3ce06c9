// examples/src/deployments.ts — a Cluster over TLS, each write acknowledged by a replica

import { EventBus } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import { Duration, Effect, Redacted } from "effect"

const OnCluster = RedisEventBus.layer({
  url: Redacted.make("rediss://publisher:secret@10.0.0.5:6379"),
  cluster: true,
  tls: { ca: "-----BEGIN CERTIFICATE-----\n…" },
  waitForReplicas: { replicas: 1, timeout: Duration.millis(200) }
})

const program = EventBus.publish({ kind: "arena.start", arena: "trading" })
// Written: { id, replicas: 1 } once a replica has the event
Effect.runPromise(program.pipe(Effect.provide(OnCluster)))
