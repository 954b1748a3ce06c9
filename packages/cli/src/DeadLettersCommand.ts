/**
 * `maf-events dead-letters list` and `maf-events dead-letters replay`: the dead letters of a stream
 * (each with its original id, group, consumer, delivery count, error and the event), and their
 * replay on the main stream (see `DeadLetters`). With `--partitions N`, the dead letters of every
 * partition key (`<partition key>:dead` each), each saying its partition, replayed on its own key.
 *
 * @since 0.2.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { EventBus, StreamBackend } from "@maf/events"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as CliError from "./CliError.js"
import * as CommonOptions from "./CommonOptions.js"
import * as DeadLetters from "./DeadLetters.js"
import * as GroupFormat from "./GroupFormat.js"
import * as TailCommand from "./TailCommand.js"

const clientName = "maf-events-dead-letters"

/** The dead-letter stream (`undefined` on a partitioned stream: each partition's own). */
const deadStreamOf = (
  config: { readonly stream: string; readonly deadLetter: Option.Option<string> },
  partitions: number | undefined
) => CommonOptions.validateDeadLetter(config.stream, config.deadLetter, partitions)

/** Where the dead letters are, for messages. */
const where = (deadStream: string | undefined, stream: string, keys: ReadonlyArray<string>): string =>
  deadStream ?? `any partition of ${stream} (<partition key>:dead of its ${keys.length} keys)`

const listCommand = Command.make(
  "list",
  {
    connection: CommonOptions.connection,
    stream: CommonOptions.stream,
    deadLetter: CommonOptions.deadLetter,
    limit: CommonOptions.limit("At most this many dead letters, oldest first. Default: all."),
    format: CommonOptions.format
  },
  (config) =>
    Effect.gen(function* () {
      const connection = yield* CommonOptions.resolveConnection(config.connection)
      const limit = yield* CommonOptions.validateLimit(config.limit)
      const deadStream = yield* deadStreamOf(config, connection.partitions)
      const keys = yield* CommonOptions.partitionKeys(config.stream, connection.partitions)
      const client = yield* DeadLetters.connect({ ...connection.options, clientName })
      const letters =
        deadStream === undefined
          ? yield* DeadLetters.listPartitions(client, connection.url, keys, limit)
          : yield* DeadLetters.list(client, connection.url, deadStream, limit)
      if (letters.length === 0) {
        if (config.format === "pretty")
          process.stderr.write(`no dead letters in ${where(deadStream, config.stream, keys)}\n`)
        return
      }
      const options = TailCommand.prettyOptions()
      const lines = letters.map((letter) =>
        config.format === "json"
          ? JSON.stringify(GroupFormat.deadLetterObject(letter))
          : GroupFormat.prettyDeadLetter(letter, options)
      )
      process.stdout.write(`${lines.join("\n")}\n`)
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "List the dead letters: each with its original id, group, consumer, delivery count, error and event."
  )
)

const ids = Options.text("id").pipe(
  Options.withDescription(
    "A dead letter's id (as `list` shows it); repeat for several. With --partitions, <partition index>:<id> names its partition; a bare id is looked for in every partition's dead letters."
  ),
  Options.repeated
)
const all = Options.boolean("all").pipe(
  Options.withDescription("Replay every dead letter there when the replay starts.")
)
const maxlen = Options.integer("maxlen").pipe(
  Options.withDescription("The main stream's MAXLEN ~ on each replayed entry; 0: no trimming."),
  Options.withDefault(EventBus.defaults.maxlen)
)

const replayCommand = Command.make(
  "replay",
  {
    connection: CommonOptions.connection,
    stream: CommonOptions.stream,
    deadLetter: CommonOptions.deadLetter,
    ids,
    all,
    maxlen,
    format: CommonOptions.format
  },
  (config) =>
    Effect.gen(function* () {
      const connection = yield* CommonOptions.resolveConnection(config.connection)
      if (config.all === config.ids.length > 0)
        return yield* CliError.usage("give the dead letters to replay: --id <id> (repeatable) or --all")
      const partitioned = connection.partitions !== undefined
      const named: Array<DeadLetters.PartitionedId> = []
      for (const text of config.ids) {
        const id = partitioned
          ? DeadLetters.parsePartitionedId(text, connection.partitions)
          : StreamBackend.parseEntryId(text) === undefined
            ? `--id must be an entry id like 1715680953123-0, got ${JSON.stringify(text)}`
            : { partition: undefined, id: text }
        if (typeof id === "string") return yield* CliError.usage(id)
        named.push(id)
      }
      if (config.maxlen < 0) return yield* CliError.usage(`--maxlen must be 0 or more, got ${config.maxlen}`)
      const deadStream = yield* deadStreamOf(config, connection.partitions)
      const keys = yield* CommonOptions.partitionKeys(config.stream, connection.partitions)
      const client = yield* DeadLetters.connect({ ...connection.options, clientName })
      const outcome =
        deadStream === undefined
          ? yield* DeadLetters.replayPartitions(client, connection.url, {
              keys,
              maxlen: config.maxlen,
              ids: config.all ? "all" : named
            })
          : yield* DeadLetters.replay(client, connection.url, {
              stream: config.stream,
              deadStream,
              maxlen: config.maxlen,
              ids: config.all ? "all" : config.ids
            })
      if (outcome.replayed.length > 0) {
        const lines = outcome.replayed.map((replayed) =>
          config.format === "json"
            ? JSON.stringify(GroupFormat.replayedObject(replayed))
            : GroupFormat.prettyReplayed(replayed)
        )
        process.stdout.write(`${lines.join("\n")}\n`)
      } else if (config.format === "pretty" && config.all) {
        process.stderr.write(`no dead letters in ${where(deadStream, config.stream, keys)}\n`)
      }
      const problems = [
        ...(outcome.missing.length > 0
          ? [`not in ${where(deadStream, config.stream, keys)}: ${outcome.missing.join(", ")}`]
          : []),
        ...(outcome.noData.length > 0 ? [`kept, no data field to replay: ${outcome.noData.join(", ")}`] : [])
      ]
      if (problems.length > 0) return yield* CliError.failed(problems.join("; "))
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Put dead letters back on the main stream (their data field, a new id each; with --partitions, on its own partition) and delete them from the dead letters, each in one step."
  )
)

/**
 * The `dead-letters` command and its subcommands `list` and `replay`.
 *
 * @since 0.2.0
 * @category commands
 */
export const command = Command.make("dead-letters").pipe(
  Command.withDescription("The dead letters of a stream's consumer groups."),
  Command.withSubcommands([listCommand, replayCommand])
)
