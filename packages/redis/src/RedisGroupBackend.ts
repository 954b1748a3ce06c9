/**
 * The consumer-group port (`GroupBackend`) on Redis 7.0, over ioredis: `XGROUP CREATE … MKSTREAM`,
 * `XREADGROUP` on a connection of each cursor's own, `XACK`, and server-side scripts (sent by
 * `EVALSHA`, in full by `EVAL` when the server does not have them) for what must be checked and done
 * in one step: claims with their delivery counts, renewals and redeliveries of a member's own
 * entries, dead letters, the removal of a consumer holding nothing.
 *
 * The client has the settings of `RedisStreamBackend` (no offline queue, no command sent twice, a
 * connection being made waited for). `NOGROUP` (the group destroyed, the key deleted, evicted or
 * flushed; a blocked read whose group or key went away) is `MissingGroup`; every other failure is a
 * `StreamBackendError` as the stream backend's.
 *
 * The ACL a member needs (commands, and the keys of the stream and of its dead-letter stream): see
 * the guide on consumer groups.
 *
 * @since 0.2.0
 */
import { createHash } from "node:crypto"
import { EventBus, GroupBackend, Partitions, type StreamBackend } from "@maf/events"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { isNoSuchKey, timerBound, within } from "./internal/client.js"
import * as Connection from "./internal/connection.js"
import { connectionConfig } from "./internal/connectionConfig.js"
import { toBackendError } from "./internal/errors.js"
import * as Scripts from "./internal/groupScripts.js"
import { isReadOf, isReplyOf, outOfStep } from "./internal/replyShape.js"
import { fieldsOf } from "./internal/streamInfo.js"
import type { Client } from "./internal/topology.js"
import type { ConnectionOptions } from "./RedisStreamBackend.js"

/** A reply of `XREADGROUP`, `XAUTOCLAIM`'s entries, `XCLAIM`'s: `[id, [field, value, …]]` each. */
type EntriesReply = ReadonlyArray<[string, ReadonlyArray<string> | null]>

/**
 * Options of the group port: the Redis connection, and the bound of its commands.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options extends ConnectionOptions {
  /**
   * How long a group command other than a read (which has its own bound) may take, the wait for a
   * connection being made included; past it, it fails with reason `Timeout`, so that a hung server
   * or a connection that stopped answering does not hang a member. Default 5 seconds.
   */
  readonly commandTimeout?: Duration.DurationInput | undefined
}

/**
 * The default of {@link Options}' `commandTimeout`.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultCommandTimeout: Duration.Duration = Duration.seconds(5)

/** The server says the group (or its stream) is not there. */
const isMissingGroup = (error: unknown): boolean =>
  error instanceof Error &&
  (error.message.startsWith("NOGROUP") ||
    error.message.startsWith("UNBLOCKED the stream key no longer exists"))

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** An ACL refusal inside a script, as Redis 7.0 words it, with the command our scripts name after it. */
const refusedInScript = /can't run this command or subcommand \(command '([^']+)' of the script\)/

/** A refusal inside a script said as a refusal of the command itself is (Redis says only "this command"). */
const readable = (error: unknown): unknown => {
  const refused = error instanceof Error ? refusedInScript.exec(error.message) : null
  return refused === null
    ? error
    : Object.assign(
        new Error(
          `NOPERM this user has no permissions to run the '${refused[1]}' command (sent by a script of the group backend)`,
          { cause: error }
        ),
        { name: "ReplyError" }
      )
}

/** `error` as the port's: `MissingGroup` for `NOGROUP`, else the stream backend's error. */
const groupError =
  (stream: string, group: string, explain: (error: unknown) => unknown = (error) => error) =>
  (error: unknown): GroupBackend.GroupBackendError =>
    isMissingGroup(error)
      ? new GroupBackend.MissingGroup({ stream, group, message: messageOf(error) })
      : toBackendError(readable(explain(error)))

const groupEntries = (
  entries: EntriesReply | null | undefined,
  counts: (i: number) => number
): Array<GroupBackend.GroupEntry> =>
  (entries ?? []).map(([id, fields], i) => ({ id, fields: fields ?? [], deliveryCount: counts(i) }))

const numberOf = (value: unknown): number | undefined =>
  value === undefined || value === null || value === "" ? undefined : Number(value)

/** A script of ours, by `EVALSHA`, sent in full (`EVAL`) when the server does not have it (`NOSCRIPT`). */
const script = (source: string) => {
  const sha = createHash("sha1").update(source).digest("hex")
  return (
    client: Client,
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string | number>
  ): Promise<unknown> =>
    client
      .evalsha(sha, keys.length, ...keys, ...args)
      .catch((error: unknown) =>
        error instanceof Error && error.message.startsWith("NOSCRIPT")
          ? client.eval(source, keys.length, ...keys, ...args)
          : Promise.reject(error)
      )
}

const claimScript = script(Scripts.claimScript)
const renewScript = script(Scripts.renewScript)
const redeliverScript = script(Scripts.redeliverScript)
const deadLetterScript = script(Scripts.deadLetterScript)
const takeHeldScript = script(Scripts.takeHeldScript)
const ackHeldScript = script(Scripts.ackHeldScript)

/** A dead letter's entry: the original `data` field unchanged, or (without one) all its fields. */
const deadEntryFields = (fields: ReadonlyArray<string>): ReadonlyArray<string> => {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === "data") return ["data", fields[i + 1]!]
  return fields
}
const removeIdleConsumerScript = script(Scripts.removeIdleConsumerScript)

/**
 * The group port on Redis; its connection is made in the background and closed with the scope
 * (each cursor has a connection of its own, closed with the cursor's scope).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<GroupBackend.GroupBackendService, never, Scope.Scope> =>
  Effect.gen(function* () {
    const commandMillis = Duration.toMillis(Duration.decode(options.commandTimeout ?? defaultCommandTimeout))
    if (!(commandMillis > 0)) {
      return yield* Effect.dieMessage(
        `RedisGroupBackend option commandTimeout must be a positive duration, got ${commandMillis} ms`
      )
    }
    const connection = yield* Connection.make(options)
    const client = connection.client
    const explain = connection.explain

    /**
     * Runs a command now, or once the connection being made is up, within `commandTimeout`; fails
     * with the raw error.
     */
    const send = <A>(command: () => Promise<A>): Effect.Effect<A, unknown> =>
      connection.run(command, (error) => error, commandMillis)

    const run = <A>(stream: string, group: string, command: () => Promise<A>) =>
      Effect.mapError(send(command), groupError(stream, group, explain))

    /** A script's reply of `length` parts, or the failure of a connection out of step. */
    const checked = <E>(length: number, what: string, self: Effect.Effect<unknown, E>) =>
      Effect.filterOrFail(
        self,
        (reply) => isReplyOf(reply, length),
        (reply) => outOfStep(what, reply)
      )

    const create: GroupBackend.GroupBackendService["create"] = (stream, group, start) =>
      send(() => client.xgroup("CREATE", stream, group, start, "MKSTREAM")).pipe(
        Effect.as("created" as const),
        Effect.catchAll((error) =>
          error instanceof Error && error.message.startsWith("BUSYGROUP")
            ? Effect.succeed("joined" as const)
            : Effect.fail(toBackendError(explain(error)))
        )
      )

    const openCursor: Effect.Effect<GroupBackend.GroupCursor, StreamBackend.StreamBackendError, Scope.Scope> =
      Effect.gen(function* () {
        const cursorClient = yield* connection.cursor
        const read: GroupBackend.GroupCursor["read"] = (stream, group, consumer, readOptions) =>
          Effect.tryPromise({
            try: () => {
              const block =
                readOptions.blockMillis === undefined ? [] : ["BLOCK", String(readOptions.blockMillis)]
              const answer = cursorClient.call(
                "XREADGROUP",
                "GROUP",
                group,
                consumer,
                "COUNT",
                String(readOptions.count),
                ...block,
                "STREAMS",
                stream,
                ">"
              ) as Promise<ReadonlyArray<[string, EntriesReply]> | null>
              const bound = timerBound(readOptions.timeoutMillis)
              return bound === undefined ? answer : within(bound, answer)
            },
            catch: groupError(stream, group)
          }).pipe(
            Effect.flatMap((reply) =>
              isReadOf(reply, stream)
                ? Effect.succeed(groupEntries(reply?.[0]?.[1], () => 1))
                : Effect.fail(outOfStep("XREADGROUP", reply))
            )
          )
        return { read }
      })

    const ack: GroupBackend.GroupBackendService["ack"] = (stream, group, ids) =>
      ids.length === 0
        ? Effect.succeed(0)
        : send(() => client.xack(stream, group, ...ids)).pipe(
            Effect.catchAll((error) =>
              isMissingGroup(error) ? Effect.succeed(0) : Effect.fail(toBackendError(explain(error)))
            )
          )

    const claim: GroupBackend.GroupBackendService["claim"] = (stream, group, consumer, claimOptions) =>
      Effect.map(
        checked(
          4,
          "the claim script",
          run(stream, group, () =>
            claimScript(
              client,
              [stream],
              [group, consumer, claimOptions.minIdleMillis, claimOptions.start, claimOptions.count]
            )
          )
        ),
        (reply) => {
          const [next, entries, deleted, counts] = reply as [
            string,
            EntriesReply,
            ReadonlyArray<string>,
            ReadonlyArray<number>
          ]
          return {
            entries: groupEntries(entries, (i) => Number(counts[i])),
            deleted: deleted ?? [],
            next: String(next)
          }
        }
      )

    const renew: GroupBackend.GroupBackendService["renew"] = (stream, group, consumer, ids) =>
      Effect.map(
        checked(
          2,
          "the renew script",
          run(stream, group, () => renewScript(client, [stream], [group, consumer, ...ids]))
        ),
        (reply) => {
          const [renewed, deleted] = reply as [ReadonlyArray<string>, ReadonlyArray<string>]
          return { renewed: renewed ?? [], deleted: deleted ?? [] }
        }
      )

    const redeliver: GroupBackend.GroupBackendService["redeliver"] = (stream, group, consumer, ids) =>
      Effect.map(
        checked(
          4,
          "the redeliver script",
          run(stream, group, () => redeliverScript(client, [stream], [group, consumer, ...ids]))
        ),
        (reply) => {
          const [entries, counts, deleted, lost] = reply as [
            EntriesReply,
            ReadonlyArray<number>,
            ReadonlyArray<string>,
            ReadonlyArray<string>
          ]
          return {
            entries: groupEntries(entries, (i) => Number(counts[i])),
            deleted: deleted ?? [],
            lost: lost ?? []
          }
        }
      )

    /**
     * A dead letter whose stream is in another slot of a Cluster, in three steps: the entry's fields
     * if the member holds it, the letter appended to its own node, then the acknowledgement if the
     * member still holds it. A crash between the last two leaves the entry pending: delivered again
     * and dead-lettered again (at least once).
     */
    const deadLetterAcrossSlots = (
      stream: string,
      group: string,
      consumer: string,
      id: string,
      letter: GroupBackend.DeadLetter
    ): Effect.Effect<GroupBackend.DeadLetterOutcome, GroupBackend.GroupBackendError> =>
      Effect.gen(function* () {
        const taken = yield* run(stream, group, () => takeHeldScript(client, [stream], [group, consumer, id]))
        if (!Array.isArray(taken)) return String(taken) as GroupBackend.DeadLetterOutcome
        const trim = letter.maxlen > 0 ? ["MAXLEN", "~", String(letter.maxlen)] : []
        yield* run(stream, group, () =>
          client.xadd(
            letter.deadStream,
            ...trim,
            "*",
            ...deadEntryFields(taken as ReadonlyArray<string>),
            ...letter.fields
          )
        )
        yield* run(stream, group, () => ackHeldScript(client, [stream], [group, consumer, id]))
        return "moved" as const
      })

    const deadLetter: GroupBackend.GroupBackendService["deadLetter"] = (
      stream,
      group,
      consumer,
      id,
      letter
    ) =>
      connection.topology.kind === "cluster" &&
      Partitions.keySlot(stream) !== Partitions.keySlot(letter.deadStream)
        ? deadLetterAcrossSlots(stream, group, consumer, id, letter)
        : Effect.map(
            run(stream, group, () =>
              deadLetterScript(
                client,
                [stream, letter.deadStream],
                [group, consumer, id, Math.max(letter.maxlen, 0), ...letter.fields]
              )
            ),
            (reply) => String(reply) as GroupBackend.DeadLetterOutcome
          )

    const info: GroupBackend.GroupBackendService["info"] = (stream, group) =>
      send(() =>
        // Sent back to back on the connection: answered in order, about the same moment.
        Promise.all([client.xinfo("GROUPS", stream), client.xinfo("CONSUMERS", stream, group)])
      ).pipe(
        Effect.mapError((error) =>
          isNoSuchKey(error)
            ? new GroupBackend.MissingGroup({ stream, group, message: messageOf(error) })
            : groupError(stream, group, explain)(error)
        ),
        Effect.flatMap(([groups, consumers]) => {
          const found = (groups as ReadonlyArray<unknown>)
            .map(fieldsOf)
            .find((fields) => String(fields.get("name")) === group)
          if (found === undefined) {
            return Effect.fail(
              new GroupBackend.MissingGroup({ stream, group, message: `no group '${group}' in XINFO GROUPS` })
            )
          }
          return Effect.succeed<GroupBackend.GroupInfo>({
            name: group,
            pending: numberOf(found.get("pending")) ?? 0,
            lastDeliveredId: String(found.get("last-delivered-id") ?? "0-0"),
            // Redis 7.0 answers nil where it cannot tell (deletions after the group's position).
            lag: numberOf(found.get("lag")),
            consumers: (consumers as ReadonlyArray<unknown>).map((reply) => {
              const fields = fieldsOf(reply)
              return {
                name: String(fields.get("name")),
                pending: numberOf(fields.get("pending")) ?? 0,
                idleMillis: numberOf(fields.get("idle")) ?? 0
              }
            })
          })
        })
      )

    const removeIdleConsumer: GroupBackend.GroupBackendService["removeIdleConsumer"] = (
      stream,
      group,
      consumer
    ) =>
      Effect.map(
        run(stream, group, () => removeIdleConsumerScript(client, [stream], [group, consumer])),
        (reply) => Number(reply) === 1
      )

    return {
      // Where it talks to, for the consumer's spans (`server.address`, `server.port`).
      server: {
        system: "redis",
        address: connection.topology.address.host,
        port: connection.topology.address.port
      },
      create,
      openCursor,
      ack,
      claim,
      renew,
      redeliver,
      deadLetter,
      info,
      removeIdleConsumer
    }
  })

/**
 * The Redis group port as the `GroupBackend` of the context.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<GroupBackend.GroupBackend> =>
  Layer.scoped(GroupBackend.GroupBackend, make(options))

/**
 * The Redis group port with options from `Config`; the URL defaults to `RedisStreamBackend.urlConfig`
 * (`REDIS_URL`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options> = {}
): Layer.Layer<GroupBackend.GroupBackend, ConfigError.ConfigError> =>
  Layer.scoped(
    GroupBackend.GroupBackend,
    Effect.flatMap(Effect.flatMap(EventBus.unwrapOptions(options), connectionConfig), make)
  )
