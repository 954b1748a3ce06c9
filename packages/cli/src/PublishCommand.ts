/**
 * `maf-events publish <kind>`: publishes one event, prints its stream id and exits 0; when it cannot
 * be written, exits 1 with a one-line reason on stderr.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { type Event, EventBus } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as CliError from "./CliError.js"
import * as CommonOptions from "./CommonOptions.js"
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
 * The `publish` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make(
  "publish",
  {
    kind: Args.text({ name: "kind" }).pipe(
      Args.withDescription("The event's kind (arena.start, llm.call, …).")
    ),
    redisUrl: CommonOptions.redisUrl,
    stream: CommonOptions.stream,
    arena: text("arena", "The arena."),
    arenaId: text("arena-id", "The arena's run id."),
    phase: text("phase", "The phase."),
    correlationId: text("correlation-id", "The correlation id; default: a fresh one."),
    payload: text("payload", "The payload, a JSON object."),
    timeout: Options.integer("timeout").pipe(
      Options.withDescription("How long to wait for the write, in milliseconds."),
      Options.withDefault(5000)
    )
  },
  (config) =>
    Effect.gen(function* () {
      yield* CommonOptions.validateUrl(config.redisUrl)
      if (config.kind.trim() === "") return yield* CliError.usage("the kind must not be empty")
      if (config.timeout < 1)
        return yield* CliError.usage(`--timeout must be 1 or more, got ${config.timeout}`)
      const payload = Option.isSome(config.payload)
        ? yield* Either.mapLeft(parsePayload(config.payload.value), CliError.usage)
        : {}
      const result = yield* EventBus.publish({
        kind: config.kind,
        arena: Option.getOrUndefined(config.arena),
        arenaId: Option.getOrUndefined(config.arenaId),
        phase: Option.getOrUndefined(config.phase),
        correlationId: Option.getOrUndefined(config.correlationId),
        payload
      }).pipe(
        Effect.provide(
          RedisEventBus.layer({
            url: config.redisUrl,
            stream: config.stream,
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
          `not written to ${config.stream} on ${RedisUrl.describe(config.redisUrl)} (${result.reason}): ${RedisUrl.scrub(result.message, config.redisUrl)}`
        )
      }
      process.stdout.write(`${result.id}\n`)
    })
).pipe(Command.withDescription("Publish one event; print its stream id."))
