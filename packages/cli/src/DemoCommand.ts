/**
 * `maf-events demo`: a simulated multi-agent arena run (see `Simulation`), published on the embedded
 * in-memory backend (or on Redis with `--redis-url`), shown as a live tail and on the dashboard.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { EventBus, StreamBackend } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as CliError from "./CliError.js"
import * as CommonOptions from "./CommonOptions.js"
import * as Dashboard from "./Dashboard.js"
import * as Feed from "./Feed.js"
import * as RedisUrl from "./RedisUrl.js"
import * as Simulation from "./Simulation.js"
import * as TailCommand from "./TailCommand.js"

const reached = (id: string, target: string): boolean => {
  const a = StreamBackend.parseEntryId(id)
  const b = StreamBackend.parseEntryId(target)
  return a !== undefined && b !== undefined && StreamBackend.compareEntryIds(a, b) >= 0
}

/**
 * The `demo` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make(
  "demo",
  {
    redisUrl: CommonOptions.optionalRedisUrl,
    stream: CommonOptions.stream,
    host: CommonOptions.host,
    port: CommonOptions.port(0, "The dashboard's port. Default: a free one."),
    token: CommonOptions.token,
    noAuth: CommonOptions.noAuth,
    interval: Options.integer("interval").pipe(
      Options.withDescription("Milliseconds between two events (jittered)."),
      Options.withDefault(250)
    ),
    runs: Options.integer("runs").pipe(
      Options.withDescription("Stop after this many arena runs. Default: run until Ctrl+C."),
      Options.optional
    )
  },
  (config) =>
    Effect.gen(function* () {
      const port = yield* CommonOptions.validatePort(config.port)
      const token = yield* CommonOptions.validateAccess(config.host, config.token, config.noAuth)
      if (config.interval < 0)
        return yield* CliError.usage(`--interval must be 0 or more, got ${config.interval}`)
      const runs = Option.getOrUndefined(config.runs)
      if (runs !== undefined && runs < 1)
        return yield* CliError.usage(`--runs must be 1 or more, got ${runs}`)
      if (Option.isSome(config.redisUrl)) yield* CommonOptions.validateUrl(config.redisUrl.value)
      const source = Option.match(config.redisUrl, { onNone: () => "in-memory", onSome: RedisUrl.describe })
      const bus = Option.match(config.redisUrl, {
        onNone: () => EventBus.layerMemory({ stream: config.stream }),
        onSome: (url) => RedisEventBus.layer({ url, stream: config.stream, clientName: "maf-events-demo" })
      })
      const layer = Dashboard.layer({ stream: config.stream, source, host: config.host, port, token }).pipe(
        Layer.provideMerge(bus)
      )

      const program = Effect.gen(function* () {
        const backend = yield* StreamBackend.StreamBackend
        // Start the tail where the demo starts, so that it shows every event the demo publishes.
        const start = yield* backend.info(config.stream).pipe(
          Effect.map((info) => info.lastId),
          Effect.orElseSucceed(() => "$")
        )
        process.stdout.write(`Dashboard: ${yield* Dashboard.url}${Dashboard.tokenNote(token)}\n`)
        process.stderr.write(`demo: simulated arena runs on ${config.stream} (${source}); Ctrl+C to stop\n`)
        let lastShown = start
        const tail = yield* TailCommand.print(
          Feed.make(backend, { stream: config.stream, from: start }).pipe(
            Stream.tap((item) =>
              Effect.sync(() => {
                lastShown = item.result.streamId
              })
            )
          ),
          "pretty"
        ).pipe(Effect.fork)
        yield* Simulation.run({ interval: Duration.millis(config.interval), runs })
        // A finite demo ends once the tail has shown the last event (or after 5 s).
        const last = yield* backend.info(config.stream).pipe(
          Effect.map((info) => info.lastId),
          Effect.orElseSucceed(() => lastShown)
        )
        yield* Effect.suspend(() => (reached(lastShown, last) ? Effect.void : Effect.fail("behind"))).pipe(
          Effect.retry(Schedule.spaced(Duration.millis(20))),
          Effect.timeout(Duration.seconds(5)),
          Effect.ignore
        )
        yield* Fiber.interrupt(tail)
      })

      yield* program.pipe(
        Effect.provide(layer),
        Effect.catchTag("ServeError", (e) => CliError.failed(Dashboard.describeServeError(e)))
      )
    })
).pipe(
  Command.withDescription(
    "A simulated multi-agent arena run, shown as a live tail and on the dashboard (in memory unless --redis-url)."
  )
)
