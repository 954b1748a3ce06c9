#!/usr/bin/env node
/**
 * The `maf-events` executable.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cli from "./Cli.js"
import * as Tracing from "./Tracing.js"

// `maf-events tail | head`: a closed pipe ends the command quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0)
  throw error
})

Cli.run(process.argv).pipe(
  // A command run with TRACEPARENT continues that trace; its spans are exported over OTLP when
  // OTEL_EXPORTER_OTLP_ENDPOINT is set (Tracing.ts).
  Tracing.continueTraceparent,
  Effect.provide(Tracing.layer),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    // Stopped by a signal: 130, unless the command set the code of its own shutdown (consume's drain).
    teardown: (exit, onExit) =>
      onExit(
        Exit.isSuccess(exit) && typeof exit.value === "number"
          ? exit.value
          : typeof process.exitCode === "number"
            ? process.exitCode
            : 130
      )
  })
)
