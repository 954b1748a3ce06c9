/**
 * `maf-events group info`: a consumer group's state as the server sees it (pending, lag, last
 * delivered id, its consumers with what they hold and how long they have been idle), for people or
 * as one JSON object; on a partitioned stream, on each partition's key and then merged over them. A
 * group that does not exist is a one-line error, exit 1.
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
import * as GroupWatch from "./GroupWatch.js"
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

/**
 * The group over every partition key of a stream, one state per key (at least one; each holding
 * the group): pending and lag summed (the lag unknown when a partition cannot tell), the latest last
 * delivered id, the consumers merged by name (pending summed, idle the least), as the dashboard
 * merges them.
 *
 * @since 0.3.0
 * @category reading
 */
export const mergeInfo = (states: ReadonlyArray<GroupBackend.GroupInfo>): GroupBackend.GroupInfo => {
  const [merged] = GroupWatch.merge(
    states.length,
    states.map((state) => [
      {
        name: state.name,
        pending: state.pending,
        lag: state.lag ?? null,
        consumers: state.consumers.length,
        last_delivered_id: state.lastDeliveredId,
        members: state.consumers.map((c) => ({ name: c.name, pending: c.pending, idle_ms: c.idleMillis }))
      }
    ])
  )
  if (merged === undefined) throw new RangeError("GroupCommand.mergeInfo: no state to merge")
  return {
    name: merged.name,
    pending: merged.pending,
    lag: merged.lag ?? undefined,
    lastDeliveredId: merged.last_delivered_id,
    consumers: (merged.members ?? []).map((m) => ({
      name: m.name,
      pending: m.pending,
      idleMillis: m.idle_ms
    }))
  }
}

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
      const json = config.format === "json"
      // A partitioned stream: the group on each partition's key, one after the other, then merged
      // over them (in JSON, the stream's name and how many partitions).
      const states: Array<GroupBackend.GroupInfo> = []
      for (const key of keys) {
        const state = yield* info(connection.url, key, group, connection.options)
        states.push(state)
        process.stdout.write(
          `${json ? JSON.stringify(GroupFormat.infoObject(key, state)) : GroupFormat.prettyInfo(key, state)}\n`
        )
      }
      if (keys.length > 1) {
        const merged = mergeInfo(states)
        process.stdout.write(
          `${json ? JSON.stringify({ ...GroupFormat.infoObject(config.stream, merged), partitions: keys.length }) : GroupFormat.prettyInfo(`${config.stream} (${keys.length} partitions, merged)`, merged)}\n`
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
