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
 * On a partitioned stream each partition key has its own dead letters, `<partition key>:dead`, in
 * the key's slot: they are listed together (oldest first across the partitions, each saying its
 * partition), and each is replayed on its own partition key, by the one-step script on a Cluster too.
 *
 * @since 0.2.0
 */
import { Partitions, StreamBackend, WireCodec } from "@maf/events"
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

/** Oldest first: by id (ids that cannot be parsed last), ties in the order given. */
const byId = (a: { readonly id: string }, b: { readonly id: string }): number => {
  const x = StreamBackend.parseEntryId(a.id)
  const y = StreamBackend.parseEntryId(b.id)
  return x === undefined || y === undefined
    ? Number(x === undefined) - Number(y === undefined)
    : StreamBackend.compareEntryIds(x, y)
}

/**
 * The dead letters of every partition key (`<key>:dead` each), oldest first across them, at most
 * `limit` (`undefined`: all), each with its `partition`.
 *
 * @since 0.3.0
 * @category reading
 */
export const listPartitions = (
  client: RedisClient.Client,
  url: Redacted.Redacted<string>,
  keys: ReadonlyArray<string>,
  limit: number | undefined
): Effect.Effect<ReadonlyArray<GroupFormat.DeadLetter>, CliError.CliError> =>
  Effect.map(
    Effect.forEach(keys, (key) =>
      Effect.map(list(client, url, Partitions.deadLetterKey(key), limit), (letters) =>
        letters.map((letter) => ({ ...letter, partition: key }))
      )
    ),
    (perPartition) => {
      const letters = perPartition.flat().sort(byId)
      return limit === undefined ? letters : letters.slice(0, limit)
    }
  )

/**
 * A dead letter named for a replay on a partitioned stream: its id, and the index of the partition
 * whose dead letters hold it (`undefined`: whichever do).
 *
 * @since 0.3.0
 * @category models
 */
export interface PartitionedId {
  readonly partition: number | undefined
  readonly id: string
}

/**
 * Reads `<entry id>` or `<partition index>:<entry id>` against `partitions`: the id, or what is wrong.
 *
 * @since 0.3.0
 * @category validation
 */
export const parsePartitionedId = (text: string, partitions: number): PartitionedId | string => {
  const colon = text.indexOf(":")
  const index = colon === -1 ? undefined : text.slice(0, colon)
  const id = colon === -1 ? text : text.slice(colon + 1)
  if (StreamBackend.parseEntryId(id) === undefined)
    return `--id must be an entry id like 1715680953123-0, or <partition index>:<entry id>, got ${JSON.stringify(text)}`
  if (index !== undefined && (!/^\d+$/.test(index) || Number(index) >= partitions))
    return `--id ${text} names partition ${JSON.stringify(index)}: the stream has partitions 0 to ${partitions - 1}`
  return { partition: index === undefined ? undefined : Number(index), id }
}

/**
 * Replays dead letters of a partitioned stream, each on its own partition key (see {@link replay}):
 * every dead letter of every partition (`"all"`), or the ids given, each looked for in its
 * partition's dead letters, or in every partition's when it names none (then it is `missing` only
 * when no partition holds it). Ids in `missing` and `noData` are given as `<partition index>:<id>`
 * when the partition is known.
 *
 * @since 0.3.0
 * @category replaying
 */
export const replayPartitions = (
  client: RedisClient.Client,
  url: Redacted.Redacted<string>,
  options: {
    readonly keys: ReadonlyArray<string>
    readonly maxlen: number
    readonly ids: ReadonlyArray<PartitionedId> | "all"
  }
): Effect.Effect<ReplayOutcome, CliError.CliError> =>
  Effect.gen(function* () {
    const replayed: Array<GroupFormat.Replayed> = []
    const noData: Array<string> = []
    /** How many partitions missed each id that named none. */
    const missedEverywhere = new Map<string, number>()
    const missing: Array<string> = []
    const { ids, keys } = options
    for (const [index, key] of keys.entries()) {
      const mine =
        ids === "all"
          ? "all"
          : ids.flatMap((named) =>
              named.partition === undefined || named.partition === index ? [named.id] : []
            )
      if (mine !== "all" && mine.length === 0) continue
      const outcome = yield* replay(client, url, {
        stream: key,
        deadStream: Partitions.deadLetterKey(key),
        maxlen: options.maxlen,
        ids: mine === "all" ? "all" : [...new Set(mine)]
      })
      for (const done of outcome.replayed) replayed.push({ ...done, partition: key })
      for (const id of outcome.noData) noData.push(`${index}:${id}`)
      for (const id of outcome.missing) {
        if (ids !== "all" && ids.some((named) => named.partition === index && named.id === id))
          missing.push(`${index}:${id}`)
        if (ids !== "all" && ids.some((named) => named.partition === undefined && named.id === id))
          missedEverywhere.set(id, (missedEverywhere.get(id) ?? 0) + 1)
      }
    }
    for (const [id, missed] of missedEverywhere) if (missed === keys.length) missing.push(id)
    return { replayed, missing, noData }
  })
