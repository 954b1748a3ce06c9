/**
 * `maf-events publish <kind>`: publishes one event, prints its stream id and exits 0; when it cannot
 * be written, exits 1 with a one-line reason on stderr. `maf-events publish --input FILE|-`:
 * publishes one event per JSON line (see `PublishInput`), prints a summary line, exits 1 when an
 * event was not written.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { type Event, EventBus, Partitions, Tracing } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CliError from "./CliError.js"
import * as CommonOptions from "./CommonOptions.js"
import * as OptionFile from "./OptionFile.js"
import * as PublishInput from "./PublishInput.js"
import * as RedisUrl from "./RedisUrl.js"

/**
 * Parses `--payload`: a JSON object, or what is wrong with it.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parsePayload = (text: string): Either.Either<Event.Payload, string> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return Either.left(
      `--payload is not valid JSON: ${error instanceof Error ? error.message : String(error)}`
    )
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const what = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`
    return Either.left(`--payload must be a JSON object ({"key": "value"}), got ${what}`)
  }
  return Either.right(value as Event.Payload)
}

const text = (name: string, description: string) =>
  Options.text(name).pipe(Options.withDescription(description), Options.optional)

/**
 * The lines of `--input`: a file, or standard input for `-`, read as a stream (never whole); a
 * failure to read is a message naming the input.
 *
 * @since 0.3.0
 * @category input
 */
export const inputLines = (
  input: string
): Effect.Effect<Stream.Stream<string, string>, CliError.CliError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const reason = (error: unknown) => (error instanceof Error ? error.message : String(error))
    if (input === "-") {
      return NodeStream.fromReadable(
        () => process.stdin,
        (error) => `standard input: ${reason(error)}`
      ).pipe(Stream.decodeText(), Stream.splitLines)
    }
    yield* OptionFile.checkReadable("--input", input)
    const fs = yield* FileSystem.FileSystem
    return fs.stream(input).pipe(
      Stream.mapError((error) => `--input ${input}: ${OptionFile.reasonOf(error)}`),
      Stream.decodeText(),
      Stream.splitLines
    )
  })

/** The options that describe one event: not with `--input`, whose lines carry their own. */
const oneEventOptions = ["arena", "arenaId", "phase", "correlationId", "payload"] as const

const flag = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

/**
 * The `publish` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make(
  "publish",
  {
    kind: Args.text({ name: "kind" }).pipe(
      Args.withDescription("The event's kind (arena.start, llm.call, …); not with --input."),
      Args.optional
    ),
    input: text(
      "input",
      "Publish one event per JSON line of this file (- for standard input) instead: kind required; arena, arena_id, phase, correlation_id, ts, payload optional (the shape tail --format json prints). Prints one summary line."
    ),
    connection: CommonOptions.connection,
    stream: CommonOptions.stream,
    arena: text("arena", "The arena."),
    arenaId: text("arena-id", "The arena's run id."),
    phase: text("phase", "The phase."),
    correlationId: text("correlation-id", "The correlation id; default: a fresh one."),
    payload: text("payload", "The payload, a JSON object."),
    timeout: Options.integer("timeout").pipe(
      Options.withDescription("How long to wait for the write, in milliseconds."),
      Options.withDefault(5000)
    ),
    drainTimeout: Options.integer("drain-timeout").pipe(
      Options.withDescription(
        "With --input: how long to wait for the server to take the events (at the end, and while the buffer is full), in milliseconds; then they are given up. Default 30000: a failover takes seconds."
      ),
      Options.withDefault(PublishInput.defaultDrainTimeoutMillis)
    )
  },
  (config) =>
    Effect.gen(function* () {
      const connection = yield* CommonOptions.resolveConnection(config.connection)
      yield* CommonOptions.partitionKeys(config.stream, connection.partitions)
      if (Option.isSome(config.input)) {
        if (Option.isSome(config.kind)) {
          return yield* CliError.usage("give a kind or --input, not both (the lines carry their kinds)")
        }
        for (const name of oneEventOptions) {
          if (Option.isSome(config[name])) {
            return yield* CliError.usage(
              `${flag(name)} describes one event: not with --input (each line has its own)`
            )
          }
        }
        // A span of its own (under TRACEPARENT, or when exporting), which the events then carry.
        return yield* publishInput(config.input.value, connection, config).pipe(
          Tracing.withSpanWhenTraced("maf-events publish --input")
        )
      }
      if (Option.isNone(config.kind)) {
        return yield* CliError.usage("a kind is required (maf-events publish <kind>), or --input FILE|-")
      }
      const kind = config.kind.value
      if (kind.trim() === "") return yield* CliError.usage("the kind must not be empty")
      if (config.timeout < 1)
        return yield* CliError.usage(`--timeout must be 1 or more, got ${config.timeout}`)
      const payload = Option.isSome(config.payload)
        ? yield* Either.mapLeft(parsePayload(config.payload.value), CliError.usage)
        : {}
      const result = yield* EventBus.publish({
        kind,
        arena: Option.getOrUndefined(config.arena),
        arenaId: Option.getOrUndefined(config.arenaId),
        phase: Option.getOrUndefined(config.phase),
        correlationId: Option.getOrUndefined(config.correlationId),
        payload
      }).pipe(
        Effect.provide(
          RedisEventBus.layer({
            ...connection.options,
            stream: config.stream,
            partitions: connection.partitions,
            publishTimeout: Duration.millis(config.timeout),
            drainTimeout: Duration.seconds(1),
            clientName: "maf-events-publish"
          })
        ),
        // The reason is reported once, below; the bus' own warning would repeat it.
        Logger.withMinimumLogLevel(LogLevel.Error)
      )
      if (result._tag === "NotWritten") {
        return yield* CliError.failed(
          `not written to ${config.stream} on ${RedisUrl.describe(connection.url)} (${result.reason}): ${RedisUrl.scrub(result.message, connection.url)}`
        )
      }
      process.stdout.write(`${result.id}\n`)
    })
).pipe(
  Command.withDescription(
    "Publish one event and print its stream id; or, with --input, one event per JSON line and print a summary."
  )
)

/** `publish --input`: the lines published, the summary printed, exit 1 when an event was not written. */
const publishInput = (
  input: string,
  connection: CommonOptions.Connection,
  config: { readonly stream: string; readonly drainTimeout: number }
): Effect.Effect<void, CliError.CliError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    if (config.drainTimeout < 1)
      return yield* CliError.usage(`--drain-timeout must be 1 or more, got ${config.drainTimeout}`)
    const lines = yield* inputLines(input)
    const where = `${config.stream} on ${RedisUrl.describe(connection.url)}`
    const stderr = (line: string) => Effect.sync(() => process.stderr.write(`maf-events: ${line}\n`))
    const summary = yield* PublishInput.publishLines(lines, {
      keys: Partitions.keys(config.stream, connection.partitions ?? 1),
      capacity: PublishInput.bufferCapacity,
      drainTimeout: Duration.millis(config.drainTimeout),
      bus: RedisEventBus.layer({
        ...connection.options,
        stream: config.stream,
        partitions: connection.partitions,
        bufferCapacity: PublishInput.bufferCapacity,
        drainTimeout: PublishInput.closingGrace,
        clientName: "maf-events-publish"
      }),
      onBadLine: (line, reason) => stderr(`line ${line}: ${reason}: not published`),
      onDrainTimeout: stderr(
        `the drain deadline passed (--drain-timeout ${config.drainTimeout} ms) with events not yet written to ${where}: they are given up`
      ),
      onGiveUp: (line) =>
        stderr(
          `${where} took no events for ${config.drainTimeout} ms (--drain-timeout): giving up from line ${line} (the events from there on are counted as not written, never sent)`
        )
    })
    process.stdout.write(`${JSON.stringify(summary)}\n`)
    if (summary.input_error !== undefined) {
      return yield* CliError.failed(`reading stopped: ${summary.input_error}`)
    }
    if (summary.not_written > 0) {
      return yield* CliError.failed(
        `${summary.not_written} not written to ${where}: ${summary.bad_lines} bad lines, ${summary.dropped} given up by the bus, ${summary.unsent} never sent`
      )
    }
  })
