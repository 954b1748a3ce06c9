/**
 * The options the commands share: the Redis URL, the stream, and the dashboard's address.
 *
 * @since 0.1.0
 */
import * as Options from "@effect/cli/Options"
import { EventBus } from "@maf/events"
import { RedisStreamBackend } from "@maf/events-redis"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as CliError from "./CliError.js"
import * as RedisUrl from "./RedisUrl.js"

const redisUrlDescription =
  "The Redis server's URL (redis://[user:password@]host[:port][/db]); it is never printed. Prefer REDIS_URL: a command line is visible to other users of the machine."

/**
 * `--redis-url`, else `REDIS_URL`, else `redis://localhost:6379/0`; a `Redacted`.
 *
 * @since 0.1.0
 * @category options
 */
export const redisUrl: Options.Options<Redacted.Redacted<string>> = Options.redacted("redis-url").pipe(
  Options.withDescription(
    `${redisUrlDescription} Default: REDIS_URL, else ${RedisStreamBackend.defaultUrl}.`
  ),
  Options.withFallbackConfig(RedisStreamBackend.urlConfig)
)

/**
 * `--redis-url` when given (the demo runs on the in-memory backend without it).
 *
 * @since 0.1.0
 * @category options
 */
export const optionalRedisUrl = Options.redacted("redis-url").pipe(
  Options.withDescription(`${redisUrlDescription} Without it, the embedded in-memory backend.`),
  Options.optional
)

/**
 * Fails with a usage error when the URL is not a Redis URL.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateUrl = (url: Redacted.Redacted<string>): Effect.Effect<void, CliError.CliError> => {
  const problem = RedisUrl.check(url)
  return problem === undefined ? Effect.void : Effect.fail(CliError.usage(problem))
}

/**
 * `--stream`, default `maf:events`.
 *
 * @since 0.1.0
 * @category options
 */
export const stream = Options.text("stream").pipe(
  Options.withDescription("The stream's key."),
  Options.withDefault(EventBus.defaults.stream)
)

/**
 * `--kind` (repeatable): kind globs.
 *
 * @since 0.1.0
 * @category options
 */
export const kinds = Options.text("kind").pipe(
  Options.withDescription("Only kinds matching this glob (llm.*, *.error); repeat for several."),
  Options.repeated
)

/**
 * `--arena`: one arena only.
 *
 * @since 0.1.0
 * @category options
 */
export const arena = Options.text("arena").pipe(
  Options.withDescription("Only events of this arena."),
  Options.optional
)

/**
 * `--host` of the dashboard, default `127.0.0.1`.
 *
 * @since 0.1.0
 * @category options
 */
export const host = Options.text("host").pipe(
  Options.withDescription("The address the dashboard listens on (0.0.0.0: every interface)."),
  Options.withDefault("127.0.0.1")
)

/**
 * `--port` of the dashboard (0: a free port).
 *
 * @since 0.1.0
 * @category options
 */
export const port = (fallback: number, description: string): Options.Options<number> =>
  Options.integer("port").pipe(Options.withDescription(description), Options.withDefault(fallback))

/**
 * Fails with a usage error when a port is out of range.
 *
 * @since 0.1.0
 * @category validation
 */
export const validatePort = (n: number): Effect.Effect<number, CliError.CliError> =>
  Number.isInteger(n) && n >= 0 && n <= 65535
    ? Effect.succeed(n)
    : Effect.fail(CliError.usage(`--port must be between 0 and 65535, got ${n}`))
