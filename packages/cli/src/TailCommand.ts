/**
 * `maf-events tail`: follows the stream and prints one line per read result, `pretty` for people or
 * `json` for tools (see `Format`). It survives Redis restarts as the library's reader does.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { RedisStreamBackend } from "@maf/events-redis"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CliError from "./CliError.js"
import * as CommonOptions from "./CommonOptions.js"
import * as Feed from "./Feed.js"
import * as Format from "./Format.js"
import * as RedisUrl from "./RedisUrl.js"

/**
 * The output formats.
 *
 * @since 0.1.0
 * @category models
 */
export type OutputFormat = "pretty" | "json"

/**
 * The line of a feed item in a format, for standard output (colour and width from the terminal).
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderer = (format: OutputFormat): ((item: Feed.Item) => string) => {
  if (format === "json") return (item) => Format.jsonLine(item.result, item.body)
  const options = prettyOptions()
  return (item) => Format.pretty(item.result, options)
}

/**
 * The pretty renderer's options for standard output: colour and width from the terminal.
 *
 * @since 0.2.0
 * @category rendering
 */
export const prettyOptions = (): Format.PrettyOptions => {
  const tty = process.stdout.isTTY === true
  return { color: Format.useColor(process.env, tty), width: tty ? process.stdout.columns : undefined }
}

/**
 * Prints a feed to standard output, a write per chunk.
 *
 * @since 0.1.0
 * @category rendering
 */
export const print = <E, R>(
  items: Stream.Stream<Feed.Item, E, R>,
  format: OutputFormat
): Effect.Effect<void, E, R> => {
  const render = renderer(format)
  return Stream.runForEachChunk(items, (chunk) =>
    Effect.sync(() => {
      if (Chunk.isNonEmpty(chunk)) process.stdout.write(`${Chunk.join(Chunk.map(chunk, render), "\n")}\n`)
    })
  )
}

/**
 * Checks `--from`, failing with a usage error.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateFrom = (from: string): Effect.Effect<void, CliError.CliError> => {
  const problem = Feed.checkFrom(from)
  return problem === undefined ? Effect.void : Effect.fail(CliError.usage(`--from ${problem}`))
}

const from = Options.text("from").pipe(
  Options.withDescription(
    "Where to start: $ (what is written from now on), 0 (everything kept), or after an entry id."
  ),
  Options.withDefault("$")
)

/**
 * The `tail` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make(
  "tail",
  {
    connection: CommonOptions.connection,
    stream: CommonOptions.stream,
    from,
    limit: CommonOptions.limit("Exit after this many results."),
    kinds: CommonOptions.kinds,
    arena: CommonOptions.arena,
    format: CommonOptions.format
  },
  (config) =>
    Effect.gen(function* () {
      const connection = yield* CommonOptions.resolveConnection(config.connection)
      yield* CommonOptions.partitionKeys(config.stream, connection.partitions)
      yield* validateFrom(config.from)
      const arena = Option.getOrUndefined(config.arena)
      const filters = Feed.checkFilters(config.kinds, arena)
      if (filters !== undefined) return yield* CliError.usage(filters)
      const limit = yield* CommonOptions.validateLimit(config.limit)
      if (config.format === "pretty") {
        process.stderr.write(
          `tailing ${config.stream} on ${RedisUrl.describe(connection.url)} from ${config.from} (Ctrl+C to stop)\n`
        )
      }
      const items = Feed.stream({
        stream: config.stream,
        from: config.from,
        kinds: config.kinds,
        arena,
        read: { partitions: connection.partitions }
      })
      yield* print(limit === undefined ? items : Stream.take(items, limit), config.format).pipe(
        Effect.provide(RedisStreamBackend.layer({ ...connection.options, clientName: "maf-events-tail" }))
      )
    })
).pipe(Command.withDescription("Follow the stream: one line per event, gap or bad entry."))
