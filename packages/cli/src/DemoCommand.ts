/**
 * `maf-events demo`: a simulated multi-agent arena run (see `Simulation`), published on the embedded
 * in-memory backend (or on Redis with `--redis-url`), shown as a live tail and on the dashboard, with
 * two consumer groups working through it (see `DemoWorkers`). With `--partitions N` the stream is
 * partitioned (an event's partition chosen by its arena): the tail and the dashboard's feed read
 * every partition, the groups work on each, the dashboard shows each group once, merged.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import {
  EventBus,
  type EventConsumer,
  type GroupBackend,
  MemoryStreamBackend,
  Partitions,
  StreamBackend
} from "@maf/events"
import { RedisEventBus, type RedisStreamBackend } from "@maf/events-redis"
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
import * as DemoProgress from "./DemoProgress.js"
import * as DemoWorkers from "./DemoWorkers.js"
import * as Feed from "./Feed.js"
import * as GroupWatch from "./GroupWatch.js"
import * as RedisUrl from "./RedisUrl.js"
import * as Simulation from "./Simulation.js"
import * as TailCommand from "./TailCommand.js"

/**
 * The demo's services: the bus, the dashboard (with the demo's consumer groups), the
 * `EventConsumer` of `DemoWorkers` and its `GroupBackend`, in memory or on Redis; on a partitioned
 * stream when `served.partitions` is above 1.
 *
 * @since 0.3.0
 * @category layers
 */
export const services = (
  redis: Option.Option<RedisStreamBackend.ConnectionOptions>,
  served: Dashboard.Options
): Layer.Layer<
  | HttpServer.HttpServer
  | StreamBackend.StreamBackend
  | EventBus.EventBus
  | EventConsumer.EventConsumer
  | GroupBackend.GroupBackend,
  HttpServerError.ServeError
> =>
  Option.match(redis, {
    onNone: () =>
      Layer.mergeAll(
        Layer.unwrapEffect(
          Effect.map(MemoryStreamBackend.MemoryStreamBackend, (memory) =>
            Dashboard.layer({
              ...served,
              groups: GroupWatch.named(memory.groups, DemoWorkers.groups, served.partitions)
            })
          )
        ),
        DemoWorkers.layerMemory
      ).pipe(
        Layer.provideMerge(EventBus.layerMemory({ stream: served.stream, partitions: served.partitions }))
      ),
    onSome: (connection) =>
      Layer.mergeAll(
        Layer.unwrapScoped(
          Effect.map(
            GroupWatch.redis({
              ...connection,
              partitions: served.partitions,
              clientName: "maf-events-demo-groups"
            }),
            (groups) => Dashboard.layer({ ...served, groups })
          )
        ),
        DemoWorkers.layerRedis(connection)
      ).pipe(
        Layer.provideMerge(
          RedisEventBus.layer({
            ...connection,
            stream: served.stream,
            partitions: served.partitions,
            clientName: "maf-events-demo"
          })
        )
      )
  })

/**
 * The `demo` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make(
  "demo",
  {
    server: CommonOptions.optionalServer,
    partitions: CommonOptions.partitions,
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
      const partitions = yield* CommonOptions.validatePartitions(config.partitions)
      yield* CommonOptions.partitionKeys(config.stream, partitions)
      const { redisUrl, ...server } = config.server
      const connection = Option.isSome(redisUrl)
        ? Option.some(yield* CommonOptions.resolveConnection({ ...server, redisUrl: redisUrl.value }))
        : Option.none()
      const source = Option.match(connection, {
        onNone: () => "in-memory",
        onSome: (c) => RedisUrl.describe(c.url)
      })
      const layer = services(
        Option.map(connection, (c) => c.options),
        {
          stream: config.stream,
          partitions,
          source,
          host: config.host,
          port,
          token
        }
      )

      const program = Effect.gen(function* () {
        const backend = yield* StreamBackend.StreamBackend
        // Start the tail where the demo starts (each partition's last id), so that it shows every
        // event the demo publishes.
        const start = yield* Partitions.lastIds({ stream: config.stream, partitions: partitions ?? 1 }).pipe(
          Effect.orElseSucceed(() => undefined)
        )
        const progress = DemoProgress.make(config.stream, partitions, start)
        process.stdout.write(`Dashboard: ${yield* Dashboard.url}${Dashboard.tokenNote(token)}\n`)
        const over = partitions === undefined ? "" : ` (${partitions} partitions)`
        process.stderr.write(
          `demo: simulated arena runs on ${config.stream}${over} (${source}); Ctrl+C to stop\n`
        )
        const feed = Feed.make(backend, {
          stream: config.stream,
          from: start?.[config.stream] ?? "$",
          read: { partitions, positions: partitions === undefined ? undefined : start }
        })
        const tail = yield* TailCommand.print(
          Stream.tap(feed, (item) => Effect.sync(() => progress.shown(item.result))),
          "pretty"
        ).pipe(Effect.fork)
        // The groups are there to be shown: one that cannot work shows as no group, not as a failure.
        const workers = yield* Effect.fork(Effect.ignore(DemoWorkers.run(config.stream, partitions)))
        const written = yield* Simulation.run({ interval: Duration.millis(config.interval), runs })
        // A finite demo ends once the tail has shown the last event of every partition and the quick
        // group has taken them all (or after 5 s), then says where each partition stands.
        yield* progress
          .settled("archiver")
          .pipe(
            Effect.retry(Schedule.spaced(Duration.millis(20))),
            Effect.timeout(Duration.seconds(5)),
            Effect.ignore
          )
        yield* Fiber.interrupt(tail)
        yield* Fiber.interrupt(workers)
        const lines = yield* progress.report(DemoWorkers.groups).pipe(
          Effect.timeout(Duration.seconds(5)),
          Effect.orElseSucceed(() => [])
        )
        process.stderr.write(
          [`${written} events written`, ...lines].map((line) => `demo: ${line}\n`).join("")
        )
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
