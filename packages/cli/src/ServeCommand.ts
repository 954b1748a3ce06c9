/**
 * `maf-events serve`: the live dashboard on its own, over Redis, with the stream's consumer groups
 * (`XINFO GROUPS` every 2 s) and `/metrics` for Prometheus. With `--partitions N`, the feed reads
 * every partition and each group is shown once, merged over the partition keys (`GroupWatch.merge`).
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import { RedisStreamBackend } from "@maf/events-redis"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as CliError from "./CliError.js"
import * as CommonOptions from "./CommonOptions.js"
import * as Dashboard from "./Dashboard.js"
import * as GroupWatch from "./GroupWatch.js"
import * as RedisUrl from "./RedisUrl.js"

/**
 * The `serve` command: prints `Dashboard: <url>` and serves until interrupted.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make(
  "serve",
  {
    connection: CommonOptions.connection,
    stream: CommonOptions.stream,
    host: CommonOptions.host,
    port: CommonOptions.port(8080, "The dashboard's port (0: a free one)."),
    token: CommonOptions.token,
    noAuth: CommonOptions.noAuth
  },
  (config) =>
    Effect.gen(function* () {
      const connection = yield* CommonOptions.resolveConnection(config.connection)
      yield* CommonOptions.partitionKeys(config.stream, connection.partitions)
      const port = yield* CommonOptions.validatePort(config.port)
      const token = yield* CommonOptions.validateAccess(config.host, config.token, config.noAuth)
      const source = RedisUrl.describe(connection.url)
      const dashboard = Layer.unwrapScoped(
        Effect.map(
          GroupWatch.redis({
            ...connection.options,
            partitions: connection.partitions,
            clientName: "maf-events-serve-groups"
          }),
          (groups) =>
            Dashboard.layer({
              stream: config.stream,
              partitions: connection.partitions,
              source,
              host: config.host,
              port,
              token,
              groups
            })
        )
      ).pipe(
        Layer.provide(RedisStreamBackend.layer({ ...connection.options, clientName: "maf-events-serve" }))
      )
      yield* Effect.gen(function* () {
        process.stdout.write(`Dashboard: ${yield* Dashboard.url}${Dashboard.tokenNote(token)}\n`)
        const over = connection.partitions === undefined ? "" : ` (${connection.partitions} partitions)`
        process.stderr.write(`serving ${config.stream}${over} on ${source} (Ctrl+C to stop)\n`)
        return yield* Effect.never
      }).pipe(
        Effect.provide(dashboard),
        Effect.catchTag("ServeError", (e) => CliError.failed(Dashboard.describeServeError(e)))
      )
    })
).pipe(Command.withDescription("Serve the live dashboard over Redis, and /metrics for Prometheus."))
