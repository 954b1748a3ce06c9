// examples/src/metrics.ts — every maf_events_* metric of the process on /metrics, for Prometheus
import { createServer } from "node:http"
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { EventBus, PrometheusText } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import { Effect, Layer } from "effect"

const metrics = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/metrics",
    Effect.map(PrometheusText.snapshot({ prefix: "maf_events_" }), (body) =>
      HttpServerResponse.text(body, { contentType: PrometheusText.contentType })
    )
  )
)

const MetricsLive = HttpServer.serve(metrics).pipe(
  Layer.provide(NodeHttpServer.layer(createServer, { port: 9464 }))
)

// The program publishes (reads, consumes) as usual; its metrics are scraped beside it.
const program = Effect.gen(function* () {
  const bus = yield* EventBus.EventBus
  yield* bus.publish({ kind: "system.status", payload: { workers: 4 } })
  return yield* Effect.never
})

NodeRuntime.runMain(program.pipe(Effect.provide(Layer.merge(MetricsLive, RedisEventBus.layerConfig()))))
