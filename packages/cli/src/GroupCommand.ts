/**
 * `maf-events group info`: a consumer group's state as the server sees it (pending, lag, last
 * delivered id, its consumers with what they hold and how long they have been idle), for people or
 * as one JSON object. A group that does not exist is a one-line error, exit 1.
 *
 * @since 0.2.0
 */
import * as Command from "@effect/cli/Command"
import { GroupBackend } from "@maf/events"
import { RedisGroupBackend, type RedisStreamBackend } from "@maf/events-redis"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as CliError from "./CliError.js"
import * as CommonOptions from "./CommonOptions.js"
import * as GroupFormat from "./GroupFormat.js"
import * as RedisUrl from "./RedisUrl.js"

/**
 * How long `group info` waits for the server's answer.
 *
 * @since 0.2.0
 * @category constants
 */
export const answerTimeout = Duration.seconds(10)

/**
 * A group's state on Redis (`connection`: the Cluster and TLS options); a missing group, an
 * unreachable or silent server are one-line failures.
 *
 * @since 0.2.0
 * @category reading
 */
export const info = (
  url: Redacted.Redacted<string>,
  stream: string,
  group: string,
  connection: RedisStreamBackend.ConnectionOptions = { url }
): Effect.Effect<GroupBackend.GroupInfo, CliError.CliError> =>
  Effect.flatMap(GroupBackend.GroupBackend, (groups) => groups.info(stream, group)).pipe(
    Effect.timeoutFail({
      duration: answerTimeout,
      onTimeout: () =>
        CliError.failed(`no answer from ${RedisUrl.describe(url)} within ${Duration.format(answerTimeout)}`)
    }),
    Effect.catchTags({
      MissingGroup: () =>
        Effect.fail(CliError.failed(`no group ${group} on stream ${stream} (${RedisUrl.describe(url)})`)),
      StreamBackendError: (error) =>
        Effect.fail(
          CliError.failed(
            `cannot read group ${group} on ${RedisUrl.describe(url)} (${error.reason}): ${RedisUrl.scrub(error.message, url)}`
          )
        )
    }),
    Effect.provide(RedisGroupBackend.layer({ ...connection, url, clientName: "maf-events-group" }))
  )

const infoCommand = Command.make(
  "info",
  {
    connection: CommonOptions.connection,
    stream: CommonOptions.stream,
    group: CommonOptions.group,
    format: CommonOptions.format
  },
  (config) =>
    Effect.gen(function* () {
      const connection = yield* CommonOptions.resolveConnection(config.connection)
      const keys = yield* CommonOptions.partitionKeys(config.stream, connection.partitions)
      const group = yield* CommonOptions.validateGroup(config.group)
      // A partitioned stream: the group on each partition's key, one after the other.
      for (const key of keys) {
        const state = yield* info(connection.url, key, group, connection.options)
        process.stdout.write(
          `${config.format === "json" ? JSON.stringify(GroupFormat.infoObject(key, state)) : GroupFormat.prettyInfo(key, state)}\n`
        )
      }
    })
).pipe(
  Command.withDescription(
    "A consumer group's state: pending, lag, last delivered id, its consumers (pending, idle)."
  )
)

/**
 * The `group` command and its subcommand `info`.
 *
 * @since 0.2.0
 * @category commands
 */
export const command = Command.make("group").pipe(
  Command.withDescription("Consumer groups."),
  Command.withSubcommands([infoCommand])
)
