/**
 * The dead-letter stream of a consumer group, read and replayed on Redis: what `maf-events
 * dead-letters` does. A dead letter is the original entry's `data` field, then the fields the
 * consumer added (`original_id`, `group`, `consumer`, `delivery_count`, `error`).
 *
 * A replay puts an entry's `data` field back on the main stream (`XADD`, with the stream's `MAXLEN ~`
 * policy) and deletes the dead letter (`XDEL`) in one server-side script: never one without the
 * other, so a crash or a lost connection at any point leaves each entry either replayed once or not
 * at all. On a Cluster whose two streams are in different slots (no shared `{hash tag}`: `maf:events`
 * and `maf:events:dead`), no script can hold both: the entry is added, then the dead letter deleted,
 * as the consumer's own dead-lettering across slots does; a failure between the two leaves the dead
 * letter there, replayed again by the next replay (at least once, never lost). A dead letter
 * without a `data` field (its original had none) is not replayed.
 *
 * @since 0.2.0
 */
import { Partitions, WireCodec } from "@maf/events"
import { RedisClient, type RedisStreamBackend } from "@maf/events-redis"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { Cluster } from "ioredis"
import * as CliError from "./CliError.js"
import * as Feed from "./Feed.js"
import type * as GroupFormat from "./GroupFormat.js"
import * as RedisUrl from "./RedisUrl.js"

/**
 * A connection for one command, of any deployment (`RedisClient` of `@maf/events-redis`: one
 * server, Sentinel, a Cluster, TLS), closed with the scope: made at once (a server that cannot be
 * reached is a failure, exit 1), no command queued while it is down, none sent twice.
 *
 * @since 0.2.0
 * @category constructors
 */
export const connect = (
  options: RedisStreamBackend.ConnectionOptions
): Effect.Effect<RedisClient.Client, CliError.CliError, Scope.Scope> =>
  Effect.mapError(RedisClient.make(options), (error) => CliError.failed(error.message))

const failure = (url: Redacted.Redacted<string>, what: string, error: unknown): CliError.CliError =>
  CliError.failed(`${what}: ${RedisClient.reason(error, url)}`)

/** Runs a command, its failure a one-line `CliError` saying what could not be done on which server. */
const send = <A>(url: Redacted.Redacted<string>, what: string, command: () => Promise<A>) =>
  Effect.tryPromise({
    try: command,
    catch: (error) => failure(url, `${what} on ${RedisUrl.describe(url)}`, error)
  })

type EntriesReply = ReadonlyArray<[string, ReadonlyArray<string>]>

/** The first value of a field (the original's `data`, as the replay script takes it). */
const firstField = (fields: ReadonlyArray<string>, name: string): string | undefined => {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]
  return undefined
}

/** The last value of a field (the consumer's fields come after the original's). */
const lastField = (fields: ReadonlyArray<string>, name: string): string | undefined => {
  let value: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) value = fields[i + 1]
  return value
}

/**
 * A dead-letter entry read back: the consumer's fields, and the original entry decoded.
 *
 * @since 0.2.0
 * @category decoding
 */
export const decode = (id: string, fields: ReadonlyArray<string>): GroupFormat.DeadLetter => {
  const originalId = lastField(fields, "original_id") ?? ""
  const count = Number(lastField(fields, "delivery_count"))
  const result = WireCodec.decode(originalId === "" ? id : originalId, fields)
  return {
    id,
    originalId,
    group: lastField(fields, "group") ?? "",
    consumer: lastField(fields, "consumer") ?? "",
    deliveryCount: Number.isSafeInteger(count) ? count : undefined,
    error: lastField(fields, "error") ?? "",
    result,
    body: result._tag === "KnownEvent" ? Feed.parseObject(Feed.dataOf(fields)) : undefined
  }
}

/** Entries read at a time. */
const page = 200

/**
 * The dead letters of `deadStream`, oldest first, at most `limit` (`undefined`: all).
 *
 * @since 0.2.0
 * @category reading
 */
export const list = (
  client: RedisClient.Client,
  url: Redacted.Redacted<string>,
  deadStream: string,
  limit: number | undefined
): Effect.Effect<ReadonlyArray<GroupFormat.DeadLetter>, CliError.CliError> =>
  Effect.gen(function* () {
    const letters: Array<GroupFormat.DeadLetter> = []
    let start = "-"
    while (limit === undefined || letters.length < limit) {
      const count = limit === undefined ? page : Math.min(page, limit - letters.length)
      const entries = (yield* send(url, `cannot read ${deadStream}`, () =>
        client.xrange(deadStream, start, "+", "COUNT", count)
      )) as EntriesReply
      for (const [id, fields] of entries) letters.push(decode(id, fields))
      if (entries.length < count) break
      start = `(${entries[entries.length - 1]![0]}`
    }
    return letters
  })

/**
 * Replays the ids (`ARGV[2…]`) of the dead-letter stream `KEYS[2]` on the stream `KEYS[1]` (`MAXLEN ~
 * ARGV[1]` unless "0"), each in one step: `XADD` of its `data` field, then `XDEL`. Reply per id:
 * `{id, newId | "missing" | "no_data", originalId}`.
 *
 * @since 0.2.0
 * @category scripts
 */
export const replayScript = `
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local found = redis.call("XRANGE", KEYS[2], id, id)
  if not found[1] then
    out[#out + 1] = { id, "missing", "" }
  else
    local fields = found[1][2]
    local data, original
    for j = 1, #fields, 2 do
      if fields[j] == "data" and data == nil then data = fields[j + 1] end
      if fields[j] == "original_id" then original = fields[j + 1] end
    end
    if data == nil then
      out[#out + 1] = { id, "no_data", original or "" }
    else
      local args = { "XADD", KEYS[1] }
      if ARGV[1] ~= "0" then
        args[#args + 1] = "MAXLEN"
        args[#args + 1] = "~"
        args[#args + 1] = ARGV[1]
      end
      args[#args + 1] = "*"
      args[#args + 1] = "data"
      args[#args + 1] = data
      local newId = redis.call(unpack(args))
      redis.call("XDEL", KEYS[2], id)
      out[#out + 1] = { id, newId, original or "" }
    end
  end
end
return out
`

/**
 * What a replay did: the entries replayed, the ids that were not dead letters (`missing`), and the
 * dead letters kept because they have no `data` field.
 *
 * @since 0.2.0
 * @category models
 */
export interface ReplayOutcome {
  readonly replayed: ReadonlyArray<GroupFormat.Replayed>
  readonly missing: ReadonlyArray<string>
  readonly noData: ReadonlyArray<string>
}

/**
 * Options of a replay: `ids`, or `"all"` (every dead letter there when the replay starts: one
 * dead-lettered again meanwhile is not replayed twice).
 *
 * @since 0.2.0
 * @category models
 */
export interface ReplayOptions {
  readonly stream: string
  readonly deadStream: string
  /** `MAXLEN ~` of the main stream; 0: no trimming. */
  readonly maxlen: number
  readonly ids: ReadonlyArray<string> | "all"
}

/**
 * The replay of one dead letter when its stream and the main stream are in different slots of a
 * Cluster: its fields read, its `data` field added to the main stream, then the dead letter
 * deleted (see the module's description); the reply of {@link replayScript} for it.
 */
const replayAcrossSlots = (
  client: RedisClient.Client,
  url: Redacted.Redacted<string>,
  what: string,
  options: ReplayOptions,
  id: string
): Effect.Effect<readonly [string, string, string], CliError.CliError> =>
  Effect.gen(function* () {
    const found = (yield* send(url, what, () => client.xrange(options.deadStream, id, id))) as EntriesReply
    const fields = found[0]?.[1]
    if (fields === undefined) return [id, "missing", ""] as const
    const originalId = lastField(fields, "original_id") ?? ""
    const data = firstField(fields, "data")
    if (data === undefined) return [id, "no_data", originalId] as const
    const trim = options.maxlen > 0 ? ["MAXLEN", "~", String(options.maxlen)] : []
    const newId = yield* send(url, what, () => client.xadd(options.stream, ...trim, "*", "data", data))
    yield* send(url, what, () => client.xdel(options.deadStream, id))
    return [id, String(newId), originalId] as const
  })

/**
 * Replays dead letters on the main stream (see the module's description).
 *
 * @since 0.2.0
 * @category replaying
 */
export const replay = (
  client: RedisClient.Client,
  url: Redacted.Redacted<string>,
  options: ReplayOptions
): Effect.Effect<ReplayOutcome, CliError.CliError> =>
  Effect.gen(function* () {
    const replayed: Array<GroupFormat.Replayed> = []
    const missing: Array<string> = []
    const noData: Array<string> = []
    const acrossSlots =
      client instanceof Cluster &&
      Partitions.keySlot(options.stream) !== Partitions.keySlot(options.deadStream)
    const what = `cannot replay ${options.deadStream} on ${options.stream}`
    const run = (ids: ReadonlyArray<string>) =>
      Effect.map(
        acrossSlots
          ? Effect.forEach(ids, (id) => replayAcrossSlots(client, url, what, options, id))
          : send(
              url,
              what,
              () =>
                client.eval(
                  replayScript,
                  2,
                  options.stream,
                  options.deadStream,
                  String(options.maxlen),
                  ...ids
                ) as Promise<ReadonlyArray<readonly [string, string, string]>>
            ),
        (answers) => {
          for (const [id, outcome, originalId] of answers) {
            if (outcome === "missing") missing.push(id)
            else if (outcome === "no_data") noData.push(id)
            else replayed.push({ id, originalId, newId: outcome })
          }
        }
      )
    if (options.ids !== "all") {
      for (let i = 0; i < options.ids.length; i += page) yield* run(options.ids.slice(i, i + page))
      return { replayed, missing, noData }
    }
    const last = (yield* send(url, `cannot read ${options.deadStream}`, () =>
      client.xrevrange(options.deadStream, "+", "-", "COUNT", 1)
    )) as EntriesReply
    const end = last[0]?.[0]
    let start = "-"
    while (end !== undefined) {
      const entries = (yield* send(url, `cannot read ${options.deadStream}`, () =>
        client.xrange(options.deadStream, start, end, "COUNT", page)
      )) as EntriesReply
      if (entries.length === 0) break
      yield* run(entries.map(([id]) => id))
      if (entries.length < page) break
      start = `(${entries[entries.length - 1]![0]}`
    }
    return { replayed, missing, noData }
  })
