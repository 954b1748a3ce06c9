/**
 * `maf-events consume`: a member of a consumer group on Redis (the library's `EventConsumer`), each
 * entry handled at least once across the group. Without `--exec` it prints each entry as `tail`
 * does and acknowledges it once its line is written; with `--exec <command>` it runs the command
 * through the shell for each entry, the entry's JSON line on its standard input: exit 0
 * acknowledges, anything else is a failure, retried, then dead-lettered after `--max-deliveries`
 * with the exit code and the last line of its standard error as the error.
 *
 * `--limit N` exits 0 once N entries are settled (acknowledged or dead-lettered). SIGTERM or Ctrl+C
 * (SIGINT) stops it: reading stops, running handlers are given `--drain-timeout` to finish, what
 * finished is acknowledged, the rest stays pending for the group; it exits 0, or 1 when a handler
 * had to be stopped at the deadline (its entry left pending).
 *
 * @since 0.2.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { EventConsumer, GroupBackend } from "@maf/events"
import { RedisGroupBackend } from "@maf/events-redis"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as CliError from "./CliError.js"
import * as CommonOptions from "./CommonOptions.js"
import * as ExecHandler from "./ExecHandler.js"
import * as Feed from "./Feed.js"
import * as GroupFormat from "./GroupFormat.js"
import * as GroupLedger from "./GroupLedger.js"
import * as RedisUrl from "./RedisUrl.js"
import * as TailCommand from "./TailCommand.js"

/**
 * What a `consume` runs with, checked.
 *
 * @since 0.2.0
 * @category models
 */
export interface Settings {
  readonly url: Redacted.Redacted<string>
  readonly stream: string
  readonly group: string
  readonly consumer: string
  readonly from: string
  readonly concurrency: number
  readonly minIdleMillis: number
  readonly maxDeliveries: number
  /** Undefined on a partitioned stream: each partition's `<key>:dead`. */
  readonly deadLetterStream: string | undefined
  /** The stream's partitions (`undefined`: one). */
  readonly partitions?: number | undefined
  readonly limit: number | undefined
  readonly format: TailCommand.OutputFormat
  readonly exec: string | undefined
  readonly execTimeoutMillis: number | undefined
  readonly drainTimeoutMillis: number
}

/** Writes a line to standard output; done when it was handed over, failing when it could not be. */
const writeLine = (line: string): Effect.Effect<void, Error> =>
  Effect.async<void, Error>((resume) => {
    process.stdout.write(`${line}\n`, (error) =>
      resume(error === null || error === undefined ? Effect.void : Effect.fail(error))
    )
  })

/** The JSON line of a delivery, with the entry's body as it was written when it is known. */
const jsonLineOf = (ledger: GroupLedger.GroupLedger, delivery: EventConsumer.Delivery): string =>
  JSON.stringify(
    GroupFormat.deliveryObject(
      delivery,
      delivery._tag === "KnownEvent"
        ? Feed.parseObject(ledger.dataOf(delivery.stream, delivery.streamId))
        : undefined
    )
  )

/** Prints each entry; its success (the line written) acknowledges it. */
const printer = (settings: Settings, ledger: GroupLedger.GroupLedger) => {
  const options = TailCommand.prettyOptions()
  return (message: EventConsumer.Message): Effect.Effect<void, Error> => {
    if (message._tag === "Gap")
      return writeLine(
        settings.format === "json"
          ? JSON.stringify(GroupFormat.gapObject(message))
          : GroupFormat.prettyGap(message)
      )
    return writeLine(
      settings.format === "json" ? jsonLineOf(ledger, message) : GroupFormat.prettyDelivery(message, options)
    )
  }
}

/** Runs the command for each entry; its exit code says the outcome (gaps are not given to it). */
const executor = (settings: Settings, ledger: GroupLedger.GroupLedger, command: string) => {
  const limit = settings.maxDeliveries
  return (message: EventConsumer.Message): Effect.Effect<EventConsumer.Outcome> => {
    if (message._tag === "Gap") return Effect.succeed(EventConsumer.Outcome.Ack())
    const ran = ExecHandler.run(command, `${jsonLineOf(ledger, message)}\n`, {
      MAF_EVENTS_STREAM: settings.stream,
      MAF_EVENTS_GROUP: settings.group,
      MAF_EVENTS_CONSUMER: settings.consumer,
      MAF_EVENTS_STREAM_ID: message.streamId,
      MAF_EVENTS_DELIVERY_COUNT: String(message.deliveryCount)
    })
    const timeout = settings.execTimeoutMillis
    const bounded =
      timeout === undefined
        ? Effect.map(ran, ExecHandler.describeFailure)
        : Effect.map(Effect.timeoutOption(ran, Duration.millis(timeout)), (ended) =>
            Option.isSome(ended)
              ? ExecHandler.describeFailure(ended.value)
              : `timed out after ${timeout} ms (stopped)`
          )
    return Effect.flatMap(bounded, (failure): Effect.Effect<EventConsumer.Outcome> => {
      if (failure === undefined) return Effect.succeed(EventConsumer.Outcome.Ack())
      if (limit > 0 && message.deliveryCount >= limit)
        return Effect.succeed(EventConsumer.Outcome.DeadLetter({ reason: failure }))
      return Effect.as(
        Effect.logWarning(
          `entry ${message.streamId} failed (${failure}) at delivery ${message.deliveryCount}${limit > 0 ? ` of ${limit}` : ""}; it will be retried`
        ),
        EventConsumer.Outcome.Retry({})
      )
    })
  }
}

/**
 * Runs a member on the group port of the context until `--limit` entries are settled, or until
 * interrupted (a signal): then the member drains, and `process.exitCode` says how the drain went
 * (0, or 1 when a handler was stopped at the deadline).
 *
 * @since 0.2.0
 * @category running
 */
export const consume = (
  settings: Settings
): Effect.Effect<void, CliError.CliError, GroupBackend.GroupBackend> =>
  Effect.gen(function* () {
    const ledger = yield* GroupLedger.make(yield* GroupBackend.GroupBackend, settings.limit)
    const handle =
      settings.exec === undefined ? printer(settings, ledger) : executor(settings, ledger, settings.exec)
    let stoppedAtDeadline = 0
    const member = EventConsumer.make(ledger.groups).consume({
      stream: settings.stream,
      partitions: settings.partitions,
      group: settings.group,
      consumer: settings.consumer,
      from: settings.from,
      concurrency: settings.concurrency,
      minIdle: Duration.millis(settings.minIdleMillis),
      maxDeliveries: settings.maxDeliveries,
      deadLetterStream: settings.deadLetterStream,
      drainTimeout: Duration.millis(settings.drainTimeoutMillis),
      handler: (message) =>
        Effect.onInterrupt(handle(message), () =>
          Effect.sync(() => {
            // Interrupted: its entry taken over by another member, or the drain's deadline passed.
            if (message._tag !== "Gap" && !ledger.takenOver(message.stream, message.streamId))
              stoppedAtDeadline++
          })
        )
    })
    yield* Effect.scoped(
      Effect.gen(function* () {
        // Interrupted and awaited when the scope closes: the member drains before this returns.
        const running = yield* Effect.forkScoped(member)
        yield* Effect.raceFirst(Fiber.join(running), Deferred.await(ledger.done))
      })
    ).pipe(
      Effect.catchAll((error) =>
        Effect.fail(
          CliError.failed(
            `consuming ${settings.stream} as ${settings.group} on ${RedisUrl.describe(settings.url)} failed: ${RedisUrl.scrub(error.message, settings.url)}`
          )
        )
      ),
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          if (stoppedAtDeadline > 0) {
            process.stderr.write(
              `maf-events: ${stoppedAtDeadline} handlers did not finish within --drain-timeout ${settings.drainTimeoutMillis} ms: stopped, their entries left pending\n`
            )
          }
          process.exitCode = stoppedAtDeadline > 0 ? 1 : 0
        })
      )
    )
  })

const optionalText = (name: string, description: string) =>
  Options.text(name).pipe(Options.withDescription(description), Options.optional)

const integer = (name: string, description: string, fallback: number) =>
  Options.integer(name).pipe(Options.withDescription(description), Options.withDefault(fallback))

const atLeast = (
  name: string,
  value: number,
  min: number,
  unit = ""
): Effect.Effect<number, CliError.CliError> =>
  value >= min
    ? Effect.succeed(value)
    : Effect.fail(CliError.usage(`--${name} must be ${min}${unit} or more, got ${value}`))

/**
 * The `consume` command.
 *
 * @since 0.2.0
 * @category commands
 */
export const command = Command.make(
  "consume",
  {
    connection: CommonOptions.connection,
    stream: CommonOptions.stream,
    group: CommonOptions.group,
    consumer: optionalText(
      "consumer",
      "This member's name. Default: <HOSTNAME>-<pid>. What a stopped member held is claimed after --min-idle, by another member or by itself restarted under the same name."
    ),
    from: Options.text("from").pipe(
      Options.withDescription(
        "Where the group starts when this member makes it: $ (what is written from now on), 0 (everything kept), or after an entry id. An existing group is joined where it is."
      ),
      Options.withDefault(EventConsumer.defaults.from)
    ),
    concurrency: integer("concurrency", "Entries handled at once (and held at most).", 1),
    minIdle: integer(
      "min-idle",
      "Milliseconds an entry stays pending untouched before a member claims it from another (dead) member.",
      Duration.toMillis(EventConsumer.defaults.minIdle)
    ),
    maxDeliveries: integer(
      "max-deliveries",
      "Deliveries before an entry that keeps failing is moved to the dead letters; 0: retried forever.",
      EventConsumer.defaults.maxDeliveries
    ),
    deadLetter: CommonOptions.deadLetter,
    limit: CommonOptions.limit("Exit 0 once this many entries are settled (acknowledged or dead-lettered)."),
    format: CommonOptions.format,
    exec: optionalText(
      "exec",
      "A shell command run for each entry (/bin/sh -c), the entry's JSON line on its standard input: exit 0 acknowledges the entry, anything else is a failure."
    ),
    execTimeout: Options.integer("exec-timeout").pipe(
      Options.withDescription(
        "Milliseconds a command may run; past them it is stopped (SIGTERM, then SIGKILL) and counts as a failure. Default: no limit."
      ),
      Options.optional
    ),
    drainTimeout: integer(
      "drain-timeout",
      "At SIGTERM or Ctrl+C, milliseconds running handlers are given to finish; then they are stopped and their entries left pending.",
      Duration.toMillis(EventConsumer.defaults.drainTimeout)
    )
  },
  (config) =>
    Effect.gen(function* () {
      const connection = yield* CommonOptions.resolveConnection(config.connection)
      yield* CommonOptions.partitionKeys(config.stream, connection.partitions)
      const deadLetterStream = yield* CommonOptions.validateDeadLetter(
        config.stream,
        config.deadLetter,
        connection.partitions
      )
      const group = yield* CommonOptions.validateGroup(config.group)
      const consumer = Option.getOrElse(config.consumer, EventConsumer.defaultConsumerName)
      if (consumer.trim() === "") return yield* CliError.usage("--consumer must not be empty")
      yield* TailCommand.validateFrom(config.from)
      const exec = Option.getOrUndefined(config.exec)
      if (exec !== undefined && exec.trim() === "") return yield* CliError.usage("--exec must not be empty")
      const execTimeout = Option.getOrUndefined(config.execTimeout)
      if (execTimeout !== undefined) yield* atLeast("exec-timeout", execTimeout, 1)
      const settings: Settings = {
        url: connection.url,
        stream: config.stream,
        partitions: connection.partitions,
        group,
        consumer,
        from: config.from,
        concurrency: yield* atLeast("concurrency", config.concurrency, 1),
        minIdleMillis: yield* atLeast("min-idle", config.minIdle, 3),
        maxDeliveries: yield* atLeast("max-deliveries", config.maxDeliveries, 0),
        deadLetterStream,
        limit: yield* CommonOptions.validateLimit(config.limit),
        format: config.format,
        exec,
        execTimeoutMillis: execTimeout,
        drainTimeoutMillis: yield* atLeast("drain-timeout", config.drainTimeout, 0)
      }
      if (settings.format === "pretty")
        process.stderr.write(
          `consuming ${settings.stream} on ${RedisUrl.describe(settings.url)} as ${settings.consumer} of group ${settings.group}${exec === undefined ? "" : ", running --exec for each entry"} (Ctrl+C to stop)\n`
        )
      yield* consume(settings).pipe(
        Effect.provide(RedisGroupBackend.layer({ ...connection.options, clientName: "maf-events-consume" }))
      )
    })
).pipe(
  Command.withDescription(
    "Be a member of a consumer group: print each entry (or run --exec for it) and acknowledge it once handled."
  )
)
