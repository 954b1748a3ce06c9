/**
 * The options the commands share: the Redis connection (URL, Cluster, partitions, TLS files, each
 * with its environment variable), the stream, the filters, and the dashboard's address and access.
 *
 * @since 0.1.0
 */
import * as Options from "@effect/cli/Options"
import type * as FileSystem from "@effect/platform/FileSystem"
import { EventBus, Partitions } from "@maf/events"
import { RedisStreamBackend, RedisUrl as Url } from "@maf/events-redis"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as CliError from "./CliError.js"
import * as Dashboard from "./Dashboard.js"
import * as OptionFile from "./OptionFile.js"
import * as RedisUrl from "./RedisUrl.js"

const redisUrlDescription =
  "The Redis URL: redis://[user:password@]host[:port][/db], rediss://… for TLS, redis+sentinel://[user:password@]host[:port][,host[:port]…]/masterName[/db] for Sentinel, or a unix socket path; it is never printed. Prefer REDIS_URL: a command line is visible to other users of the machine."

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

const checkUrl = (url: Redacted.Redacted<string>): Effect.Effect<void, CliError.CliError> => {
  const problem = RedisUrl.check(url)
  return problem === undefined ? Effect.void : Effect.fail(CliError.usage(problem))
}

/**
 * `--cluster`, else `REDIS_CLUSTER`: the URL names any node of a Redis Cluster.
 *
 * @since 0.3.0
 * @category options
 */
export const cluster: Options.Options<boolean> = Options.boolean("cluster").pipe(
  Options.withDescription(
    "The server is a Redis Cluster; the URL names any of its nodes. Default: REDIS_CLUSTER (true/false), else false."
  ),
  Options.withFallbackConfig(Config.boolean("REDIS_CLUSTER"))
)

/**
 * `--partitions N`, else `MAF_EVENTS_PARTITIONS`, else 1: the stream's partitions.
 *
 * @since 0.3.0
 * @category options
 */
export const partitions: Options.Options<number> = Options.integer("partitions").pipe(
  Options.withDescription(
    `The stream's partitions: above 1, --stream names a logical stream over that many keys (<stream>:p<i>/<N>:{tag}), an event's partition chosen by its arena. From 1 to ${Partitions.maxPartitions}. Default: MAF_EVENTS_PARTITIONS, else 1.`
  ),
  Options.withFallbackConfig(Partitions.config)
)

const tlsFile = (name: string, variable: string, what: string) =>
  Options.text(name).pipe(
    Options.withDescription(`${what} (a PEM file). Default: ${variable}. Any TLS file turns TLS on.`),
    Options.withFallbackConfig(Config.string(variable)),
    Options.optional
  )

const tlsFiles = {
  tlsCa: tlsFile("tls-ca", "REDIS_TLS_CA", "The CA certificates to trust instead of the system's"),
  tlsCert: tlsFile("tls-cert", "REDIS_TLS_CERT", "The client's certificate, for mutual TLS (with --tls-key)"),
  tlsKey: tlsFile("tls-key", "REDIS_TLS_KEY", "The client's private key, for mutual TLS (with --tls-cert)")
}

/**
 * The options of the server: `--redis-url` (every URL form), `--cluster`, `--tls-ca`, `--tls-cert`,
 * `--tls-key`, each with its environment variable ({@link connection} adds `--partitions`: every
 * command on Redis takes that).
 *
 * @since 0.3.0
 * @category options
 */
export const server = Options.all({
  redisUrl,
  cluster,
  tlsCa: tlsFiles.tlsCa,
  tlsCert: tlsFiles.tlsCert,
  tlsKey: tlsFiles.tlsKey
})

/**
 * The options of the server as the demo takes them: the same, the URL optional (without it the
 * demo runs in memory, and the others are not used).
 *
 * @since 0.3.0
 * @category options
 */
export const optionalServer = Options.all({
  redisUrl: optionalRedisUrl,
  cluster,
  tlsCa: tlsFiles.tlsCa,
  tlsCert: tlsFiles.tlsCert,
  tlsKey: tlsFiles.tlsKey
})

/**
 * The connection options of the stream commands: those of {@link server}, and `--partitions`.
 *
 * @since 0.3.0
 * @category options
 */
export const connection = Options.all({
  redisUrl,
  cluster,
  partitions,
  tlsCa: tlsFiles.tlsCa,
  tlsCert: tlsFiles.tlsCert,
  tlsKey: tlsFiles.tlsKey
})

/**
 * The values of {@link server} as the command line (or the environment) gives them.
 *
 * @since 0.3.0
 * @category models
 */
export type ServerConfig = typeof server extends Options.Options<infer A> ? A : never

/**
 * The values of {@link connection} as the command line (or the environment) gives them.
 *
 * @since 0.3.0
 * @category models
 */
export type ConnectionConfig = typeof connection extends Options.Options<infer A> ? A : never

/**
 * A connection as the commands use it: the URL (for messages, with {@link RedisUrl.describe}), the
 * library's connection options (URL, Cluster, TLS contents) and the partition count (`undefined`
 * for one).
 *
 * @since 0.3.0
 * @category models
 */
export interface Connection {
  readonly url: Redacted.Redacted<string>
  readonly options: RedisStreamBackend.ConnectionOptions
  readonly partitions: number | undefined
}

/**
 * Checks the connection options and reads the TLS files: a usage error saying what is wrong (the
 * URL, a partition count out of range, `--cluster` with a Sentinel URL or a socket, a TLS file that
 * cannot be read, a certificate without its key). Without `partitions` (the options of
 * {@link server}), one key.
 *
 * @since 0.3.0
 * @category validation
 */
export const resolveConnection = (
  given: ServerConfig & { readonly partitions?: number | undefined }
): Effect.Effect<Connection, CliError.CliError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    yield* checkUrl(given.redisUrl)
    const partitions =
      given.partitions === undefined ? undefined : yield* validatePartitions(given.partitions)
    if (given.cluster) {
      const parsed = Url.parse(given.redisUrl)
      if (parsed._tag === "Sentinel" || (parsed._tag === "Single" && parsed.port === 0)) {
        return yield* CliError.usage(
          "--cluster (REDIS_CLUSTER) needs a redis:// or rediss:// URL naming one of the Cluster's nodes"
        )
      }
    }
    if (Option.isSome(given.tlsCert) !== Option.isSome(given.tlsKey)) {
      return yield* CliError.usage("--tls-cert and --tls-key go together (mutual TLS): give both or neither")
    }
    const read = (option: string, file: Option.Option<string>) =>
      Option.isNone(file) ? Effect.succeed(undefined) : OptionFile.readText(option, file.value)
    const ca = yield* read("--tls-ca (REDIS_TLS_CA)", given.tlsCa)
    const cert = yield* read("--tls-cert (REDIS_TLS_CERT)", given.tlsCert)
    const key = yield* read("--tls-key (REDIS_TLS_KEY)", given.tlsKey)
    const tls =
      ca === undefined && cert === undefined && key === undefined
        ? undefined
        : {
            ...(ca !== undefined ? { ca } : {}),
            ...(cert !== undefined ? { cert } : {}),
            ...(key !== undefined ? { key: Redacted.make(key) } : {})
          }
    return {
      url: given.redisUrl,
      options: {
        url: given.redisUrl,
        ...(given.cluster ? { cluster: true } : {}),
        ...(tls !== undefined ? { tls } : {})
      },
      partitions
    }
  })

/**
 * The partition count given, checked: `undefined` for one (the stream's own key), else the count; a
 * usage error when it is out of range (1 to `Partitions.maxPartitions`).
 *
 * @since 0.3.0
 * @category validation
 */
export const validatePartitions = (n: number): Effect.Effect<number | undefined, CliError.CliError> =>
  !Number.isInteger(n) || n < 1 || n > Partitions.maxPartitions
    ? Effect.fail(
        CliError.usage(
          `--partitions (MAF_EVENTS_PARTITIONS) must be from 1 to ${Partitions.maxPartitions}, got ${n}`
        )
      )
    : Effect.succeed(n === 1 ? undefined : n)

/**
 * `--stream`, else `MAF_EVENTS_STREAM`, else `maf:events`.
 *
 * @since 0.1.0
 * @category options
 */
export const stream = Options.text("stream").pipe(
  Options.withDescription(
    "The stream's key (a partitioned stream's name). Default: MAF_EVENTS_STREAM, else maf:events."
  ),
  Options.withFallbackConfig(Config.string("MAF_EVENTS_STREAM")),
  Options.withDefault(EventBus.defaults.stream)
)

/**
 * `--group`: a consumer group's name, required (checked by {@link validateGroup}, for a one-line
 * message).
 *
 * @since 0.2.0
 * @category options
 */
export const group: Options.Options<Option.Option<string>> = Options.text("group").pipe(
  Options.withDescription("The consumer group's name (required)."),
  Options.optional
)

/**
 * The group's name, checked: a usage error when it is missing or empty.
 *
 * @since 0.2.0
 * @category validation
 */
export const validateGroup = (name: Option.Option<string>): Effect.Effect<string, CliError.CliError> =>
  Option.isNone(name)
    ? Effect.fail(CliError.usage("--group <name> is required"))
    : name.value.trim() === ""
      ? Effect.fail(CliError.usage("--group must not be empty"))
      : Effect.succeed(name.value)

/**
 * `--dead-letter`: the dead-letter stream's key, default `<stream>:dead` (see {@link deadLetterOf}).
 *
 * @since 0.2.0
 * @category options
 */
export const deadLetter: Options.Options<Option.Option<string>> = Options.text("dead-letter").pipe(
  Options.withDescription("The dead-letter stream's key. Default: <stream>:dead."),
  Options.optional
)

/**
 * The dead-letter stream of a stream: the one given, else `<stream>:dead`.
 *
 * @since 0.2.0
 * @category getters
 */
export const deadLetterOf = (stream: string, given: Option.Option<string>): string =>
  Option.getOrElse(given, () => `${stream}:dead`)

/**
 * The dead-letter stream of a stream over `partitions`: {@link deadLetterOf} for one partition;
 * `undefined` for several (each partition key's own `<partition key>:dead`), where `--dead-letter`
 * is a usage error.
 *
 * @since 0.3.0
 * @category validation
 */
export const validateDeadLetter = (
  stream: string,
  given: Option.Option<string>,
  partitions: number | undefined
): Effect.Effect<string | undefined, CliError.CliError> =>
  partitions === undefined
    ? Effect.succeed(deadLetterOf(stream, given))
    : Option.isSome(given)
      ? Effect.fail(
          CliError.usage(
            "--dead-letter cannot be given with --partitions: each partition's dead letters go to <partition key>:dead, in its slot"
          )
        )
      : Effect.succeed(undefined)

/**
 * The keys of a stream's partitions (`[stream]` for one, see `Partitions.keys`); a usage error when
 * the name cannot be partitioned (empty, or holding `{` or `}`).
 *
 * @since 0.3.0
 * @category validation
 */
export const partitionKeys = (
  stream: string,
  partitions: number | undefined
): Effect.Effect<ReadonlyArray<string>, CliError.CliError> =>
  Effect.try({
    try: () => Partitions.keys(stream, partitions ?? 1),
    catch: (error) =>
      CliError.usage(
        `--stream with --partitions ${partitions}: ${String(error instanceof Error ? error.message : error).replace(/^Partitions: /, "")}`
      )
  })

/**
 * `--format`: `pretty` (default) for people, `json` (one JSON object per line) for tools.
 *
 * @since 0.2.0
 * @category options
 */
export const format: Options.Options<"pretty" | "json"> = Options.choice("format", ["pretty", "json"]).pipe(
  Options.withDescription(
    "pretty: aligned and coloured, for people; json: one JSON object per line, for tools."
  ),
  Options.withDefault("pretty" as const)
)

/**
 * `--limit N` (optional), described for a command.
 *
 * @since 0.2.0
 * @category options
 */
export const limit = (description: string): Options.Options<Option.Option<number>> =>
  Options.integer("limit").pipe(Options.withDescription(description), Options.optional)

/**
 * The limit given, checked: a usage error when it is negative.
 *
 * @since 0.2.0
 * @category validation
 */
export const validateLimit = (
  limit: Option.Option<number>
): Effect.Effect<number | undefined, CliError.CliError> => {
  const n = Option.getOrUndefined(limit)
  return n !== undefined && n < 0
    ? Effect.fail(CliError.usage(`--limit must be 0 or more, got ${n}`))
    : Effect.succeed(n)
}

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

/**
 * `--token`, else `MAF_EVENTS_TOKEN`: the dashboard's access token; a `Redacted`, never printed.
 *
 * @since 0.1.0
 * @category options
 */
export const token: Options.Options<Option.Option<Redacted.Redacted<string>>> = Options.redacted(
  "token"
).pipe(
  Options.withDescription(
    "The dashboard's access token: every request must carry it (Authorization: Bearer <token>, or ?token=<token> in the page's address). Default: MAF_EVENTS_TOKEN. Required off loopback unless --no-auth. Prefer MAF_EVENTS_TOKEN: a command line is visible to other users of the machine."
  ),
  Options.withFallbackConfig(Config.redacted("MAF_EVENTS_TOKEN")),
  Options.optional
)

/**
 * `--no-auth`: serve the dashboard off loopback without an access token.
 *
 * @since 0.1.0
 * @category options
 */
export const noAuth: Options.Options<boolean> = Options.boolean("no-auth").pipe(
  Options.withDescription(
    "Serve without an access token on a --host other than loopback: whoever reaches it sees every event."
  )
)

/**
 * The dashboard's access token for a host: the token when one is given; none on a loopback host,
 * or off loopback with `noAuth` (said on stderr); otherwise a usage error (off loopback, a token is
 * required), as is an empty token or one given with `noAuth`.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateAccess = (
  host: string,
  token: Option.Option<Redacted.Redacted<string>>,
  noAuth: boolean
): Effect.Effect<Redacted.Redacted<string> | undefined, CliError.CliError> => {
  if (Option.isSome(token)) {
    if (noAuth)
      return Effect.fail(
        CliError.usage("--no-auth and an access token (--token or MAF_EVENTS_TOKEN) exclude each other")
      )
    if (Redacted.value(token.value).trim() === "")
      return Effect.fail(CliError.usage("the access token (--token or MAF_EVENTS_TOKEN) is empty"))
    return Effect.succeed(token.value)
  }
  if (Dashboard.isLoopback(host)) return Effect.succeed(undefined)
  if (noAuth)
    return Effect.as(
      Effect.sync(() =>
        process.stderr.write(
          `serving on ${host} without an access token (--no-auth): whoever reaches it sees every event\n`
        )
      ),
      undefined
    )
  return Effect.fail(
    CliError.usage(
      `--host ${host} is not a loopback address: the dashboard would show every event to whoever reaches it; give an access token (MAF_EVENTS_TOKEN, or --token), or --no-auth to serve without one`
    )
  )
}
