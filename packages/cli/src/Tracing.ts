/**
 * The command's traces, by the OpenTelemetry environment variables. When
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, the spans of the
 * bus (`send`, `receive`, `process`, `settle`) are exported over OTLP/HTTP, as
 * `OTEL_EXPORTER_OTLP_PROTOCOL` says (`http/protobuf`, the default, or `http/json`), under the
 * service name `OTEL_SERVICE_NAME` (default `maf-events`); the exporter reads the other `OTEL_*`
 * variables it knows (headers, time-outs, `OTEL_BSP_*`). When `TRACEPARENT` is set, the command
 * continues that trace ({@link continueTraceparent}): `publish` writes an entry in it.
 *
 * @since 0.3.0
 */
import * as OtelResource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import { Tracing } from "@maf/events"
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto"
import { BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base"
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/**
 * The OTLP protocols the command exports with.
 *
 * @since 0.3.0
 * @category models
 */
export type Protocol = "http/protobuf" | "http/json"

/**
 * The export's settings, from the environment: none when no OTLP endpoint is set.
 *
 * @since 0.3.0
 * @category models
 */
export interface Settings {
  readonly protocol: Protocol
  readonly serviceName: string
}

const nonEmpty = (name: string) =>
  Config.option(Config.string(name)).pipe(Config.map(Option.filter((value) => value.trim() !== "")))

/**
 * Reads the settings: `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` turns
 * the export on; a protocol other than the two HTTP ones fails, saying which are accepted.
 *
 * @since 0.3.0
 * @category config
 */
export const settings: Config.Config<Option.Option<Settings>> = Config.all({
  endpoint: nonEmpty("OTEL_EXPORTER_OTLP_ENDPOINT"),
  tracesEndpoint: nonEmpty("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  protocol: Config.all([
    nonEmpty("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
    nonEmpty("OTEL_EXPORTER_OTLP_PROTOCOL")
  ]).pipe(
    Config.mapOrFail(([traces, any]) => {
      const value = Option.getOrElse(
        Option.orElse(traces, () => any),
        () => "http/protobuf"
      ).trim()
      return value === "http/protobuf" || value === "http/json"
        ? Either.right(value as Protocol)
        : Either.left(
            ConfigError.InvalidData(
              [Option.isSome(traces) ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL"],
              `the protocol ${JSON.stringify(value)} is not supported: use http/protobuf or http/json`
            )
          )
    })
  ),
  serviceName: nonEmpty("OTEL_SERVICE_NAME")
}).pipe(
  Config.map(({ endpoint, protocol, serviceName, tracesEndpoint }) =>
    Option.isNone(endpoint) && Option.isNone(tracesEndpoint)
      ? Option.none()
      : Option.some({ protocol, serviceName: Option.getOrElse(serviceName, () => "maf-events") })
  )
)

/**
 * The exporter of a protocol; it reads its endpoint, headers and time-out from the environment.
 *
 * @since 0.3.0
 * @category constructors
 */
export const exporter = (protocol: Protocol): SpanExporter =>
  protocol === "http/json" ? new JsonExporter() : new ProtobufExporter()

/**
 * Effect's tracer exporting through OpenTelemetry's SDK as `settings` say, the spans flushed when
 * the layer is released (bounded to 3 s: an unreachable collector does not hold the command).
 *
 * @since 0.3.0
 * @category layers
 */
export const layerExport = (settings: Settings): Layer.Layer<never> => {
  const provider = Layer.scoped(
    OtelTracer.OtelTracerProvider,
    Effect.flatMap(OtelResource.Resource, (resource) =>
      Effect.acquireRelease(
        Effect.sync(
          () =>
            new NodeTracerProvider({
              resource,
              spanProcessors: [new BatchSpanProcessor(exporter(settings.protocol))]
            })
        ),
        (provider) =>
          Effect.promise(() => provider.forceFlush().then(() => provider.shutdown())).pipe(
            Effect.ignoreLogged,
            Effect.interruptible,
            Effect.timeoutOption("3 seconds")
          )
      )
    )
  )
  return Layer.discard(OtelTracer.layer).pipe(
    Layer.provide(provider),
    Layer.provide(OtelResource.layer({ serviceName: settings.serviceName }))
  )
}

/**
 * The command's tracing: exporting when the environment says so, else nothing (Effect's built-in
 * tracer, whose spans are recorded nowhere). Bad settings are said on stderr, and nothing is
 * exported: tracing never stops the command.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer: Layer.Layer<never> = Layer.unwrapEffect(
  settings.pipe(
    Effect.catchAll((error) =>
      Effect.as(
        Console.error(
          `maf-events: traces not exported: ${ConfigError.isConfigError(error) ? String(error) : error}`
        ),
        Option.none<Settings>()
      )
    ),
    Effect.map(Option.match({ onNone: () => Layer.empty, onSome: layerExport }))
  )
)

/**
 * Runs `self` as a continuation of the trace in `TRACEPARENT` (W3C), when it holds a valid one:
 * its spans are children of that span, in that trace.
 *
 * @since 0.3.0
 * @category combinators
 */
export const continueTraceparent = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    Effect.orElseSucceed(nonEmpty("TRACEPARENT"), () => Option.none<string>()),
    (text) =>
      Option.match(Option.flatMap(text, Tracing.fromTraceparent), {
        onNone: () => self,
        onSome: (parent) => Effect.withParentSpan(self, parent)
      })
  )
