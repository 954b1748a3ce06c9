/**
 * What the dashboard shows of a stream's consumer groups: each group's pending count, lag and
 * members, read every few seconds by one fiber for the whole server (not one a page), kept as the
 * latest snapshot, and set on the `maf_events_group_pending` / `maf_events_group_lag` gauges (so a
 * scrape of `/metrics` shows every group of the stream).
 *
 * A probe says where the groups come from: on Redis, `XINFO GROUPS` of the stream (every group, on a
 * connection of the watch's own); elsewhere, named groups through the `GroupBackend` port.
 *
 * On a partitioned stream (one group a partition key, as `consume --partitions` and the demo make
 * them), both probes read every partition key and show each group once, merged (see {@link merge}):
 * its figures summed over the partitions, its members merged by name.
 *
 * @since 0.3.0
 */
import { ConsumerMetrics, type GroupBackend, Partitions, StreamBackend } from "@maf/events"
import { RedisClient, type RedisStreamBackend } from "@maf/events-redis"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import type * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"

/**
 * One group as the dashboard shows it.
 *
 * @since 0.3.0
 * @category models
 */
export interface GroupStatus {
  readonly name: string
  /** Entries delivered and not acknowledged. */
  readonly pending: number
  /** Entries not yet delivered to the group; `null` when the server cannot tell. */
  readonly lag: number | null
  /** How many members the group has. */
  readonly consumers: number
  readonly last_delivered_id: string
  /** On a partitioned stream only: how many of its partition keys hold the group. */
  readonly partitions?: number | undefined
  /** On a partitioned stream only: the group's members, merged by name over the partitions. */
  readonly members?: ReadonlyArray<MemberStatus> | undefined
}

/**
 * A member of a group on a partitioned stream, over every partition key it reads.
 *
 * @since 0.3.0
 * @category models
 */
export interface MemberStatus {
  readonly name: string
  /** Entries it holds, summed over the partitions. */
  readonly pending: number
  /** Milliseconds since it last read or claimed on any partition (the least of the partitions'). */
  readonly idle_ms: number
}

/**
 * The groups of a stream at a moment (`at`, epoch milliseconds), or why they could not be read.
 *
 * @since 0.3.0
 * @category models
 */
export interface Snapshot {
  readonly at: number
  readonly groups: ReadonlyArray<GroupStatus>
  readonly error?: string | undefined
}

/**
 * Reads the groups of a stream now; fails with a one-line reason.
 *
 * @since 0.3.0
 * @category models
 */
export type Probe = (stream: string) => Effect.Effect<ReadonlyArray<GroupStatus>, string>

/**
 * A running watch: its snapshots, the latest first, then each new one.
 *
 * @since 0.3.0
 * @category models
 */
export interface Watch {
  readonly changes: Stream.Stream<Snapshot>
}

/**
 * How often the groups are read. Default 2 s.
 *
 * @since 0.3.0
 * @category constants
 */
export const defaultInterval: Duration.Duration = Duration.seconds(2)

/** An `XINFO` reply (a flat list of field, value…) as a map. */
const fieldsOf = (reply: unknown): Map<string, unknown> => {
  const fields = new Map<string, unknown>()
  if (Array.isArray(reply))
    for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1])
  return fields
}

const numberOf = (value: unknown): number | null => {
  if (value === null || value === undefined) return null
  const n = Number(value)
  return Number.isFinite(n) ? n : null
}

/**
 * The groups of an `XINFO GROUPS` reply.
 *
 * @since 0.3.0
 * @category decoding
 */
export const fromXinfoGroups = (reply: unknown): ReadonlyArray<GroupStatus> =>
  (Array.isArray(reply) ? reply : []).map((entry) => {
    const fields = fieldsOf(entry)
    return {
      name: String(fields.get("name") ?? ""),
      pending: numberOf(fields.get("pending")) ?? 0,
      lag: numberOf(fields.get("lag")),
      consumers: numberOf(fields.get("consumers")) ?? 0,
      last_delivered_id: String(fields.get("last-delivered-id") ?? "0-0")
    }
  })

/**
 * The members of an `XINFO CONSUMERS` reply.
 *
 * @since 0.3.0
 * @category decoding
 */
export const fromXinfoConsumers = (reply: unknown): ReadonlyArray<MemberStatus> =>
  (Array.isArray(reply) ? reply : []).map((entry) => {
    const fields = fieldsOf(entry)
    return {
      name: String(fields.get("name") ?? ""),
      pending: numberOf(fields.get("pending")) ?? 0,
      idle_ms: numberOf(fields.get("idle")) ?? 0
    }
  })

/** The later of two entry ids (an id that cannot be parsed loses). */
const laterId = (a: string, b: string): string => {
  const x = StreamBackend.parseEntryId(a)
  const y = StreamBackend.parseEntryId(b)
  if (x === undefined) return b
  if (y === undefined) return a
  return StreamBackend.compareEntryIds(x, y) >= 0 ? a : b
}

/**
 * The groups of a partitioned stream from those of its `partitions` keys (each group with its
 * `members`), one per name, sorted by name: `pending` summed; `lag` summed, `null` when a partition
 * cannot tell or does not hold the group (its backlog there is unknown); `last_delivered_id` the
 * latest of the partitions'; `members` merged by name (`pending` summed, `idle_ms` the least), and
 * `consumers` their count; `partitions` how many keys hold the group.
 *
 * @since 0.3.0
 * @category combinators
 */
export const merge = (
  partitions: number,
  perPartition: ReadonlyArray<ReadonlyArray<GroupStatus>>
): ReadonlyArray<GroupStatus> => {
  interface Merged {
    pending: number
    lag: number | null
    last: string
    holders: number
    members: Map<string, { pending: number; idle_ms: number }>
  }
  const byName = new Map<string, Merged>()
  for (const groups of perPartition) {
    for (const group of groups) {
      const seen = byName.get(group.name)
      const merged: Merged = seen ?? {
        pending: 0,
        lag: 0,
        last: group.last_delivered_id,
        holders: 0,
        members: new Map()
      }
      byName.set(group.name, merged)
      merged.pending += group.pending
      merged.lag = merged.lag === null || group.lag === null ? null : merged.lag + group.lag
      merged.last = laterId(merged.last, group.last_delivered_id)
      merged.holders++
      for (const member of group.members ?? []) {
        const known = merged.members.get(member.name)
        merged.members.set(member.name, {
          pending: (known?.pending ?? 0) + member.pending,
          idle_ms: Math.min(known?.idle_ms ?? Number.POSITIVE_INFINITY, member.idle_ms)
        })
      }
    }
  }
  const byKey = <A extends { readonly name: string }>(a: A, b: A) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  return [...byName]
    .map(([name, merged]): GroupStatus => {
      const members = [...merged.members].map(([name, m]): MemberStatus => ({ name, ...m })).sort(byKey)
      return {
        name,
        pending: merged.pending,
        lag: merged.holders < partitions ? null : merged.lag,
        consumers: members.length,
        last_delivered_id: merged.last,
        partitions: merged.holders,
        members
      }
    })
    .sort(byKey)
}

/**
 * The probe's own connection: the client, how many times it became ready, and its last failure (what
 * a read answers when the server cannot be reached).
 */
interface ProbeConnection {
  readonly client: RedisClient.Client
  readies: number
  lastError: string | undefined
}

/** Waits until the connection has become ready more than `readies` times (a connection made since). */
const readyAfter = (connection: ProbeConnection, readies: number): Effect.Effect<void> =>
  Effect.suspend(() =>
    connection.readies > readies
      ? Effect.void
      : Effect.async<void>((resume) => {
          const onReady = () => resume(Effect.void)
          connection.client.once("ready", onReady)
          return Effect.sync(() => connection.client.removeListener("ready", onReady))
        })
  )

/**
 * One `XINFO` (`GROUPS key`, `CONSUMERS key group`) on a ready connection. A failure that is not the
 * server's reply (the connection closed, or ioredis saw it closing: "Stream isn't writeable…") waits
 * for the next connection and tries again; the caller's bound answers with the connection's own
 * failure.
 */
const xinfo = (
  connection: ProbeConnection,
  args: readonly ["GROUPS", string] | readonly ["CONSUMERS", string, string],
  url: Redacted.Redacted<string> | string | undefined
) => {
  const attempt = (readies: number): Effect.Effect<unknown, string> =>
    Effect.zipRight(
      readyAfter(connection, readies),
      Effect.suspend(() => {
        const sentOn = connection.readies
        return Effect.tryPromise({
          try: () =>
            args[0] === "GROUPS"
              ? connection.client.xinfo(args[0], args[1])
              : connection.client.xinfo(args[0], args[1], args[2]),
          catch: (error) => ({ error, sentOn })
        }).pipe(
          Effect.catchAll(({ error, sentOn }) =>
            error instanceof Error && error.name === "ReplyError"
              ? Effect.fail(RedisClient.reason(error, url))
              : attempt(sentOn)
          )
        )
      })
    )
  return attempt(0)
}

/** Follows a connected client: how many times it became ready, its last failure. */
const follow = (client: RedisClient.Client, url: Redacted.Redacted<string> | string | undefined) => {
  const connection: ProbeConnection = { client, readies: 1, lastError: undefined }
  const fail = (error: unknown) => {
    connection.lastError = RedisClient.reason(error, url)
  }
  client.on("error", fail)
  // A Cluster's nodes' own failures.
  client.on("node error", fail)
  client.on("close", () => {
    connection.lastError ??= "the connection closed"
  })
  client.on("ready", () => {
    connection.readies++
    connection.lastError = undefined
  })
  return connection
}

/**
 * Options of the Redis probe: the connection, and the stream's partitions (default 1).
 *
 * @since 0.3.0
 * @category models
 */
export interface RedisOptions extends RedisStreamBackend.ConnectionOptions {
  readonly partitions?: number | undefined
}

/**
 * The Redis probe, on any deployment (`RedisClient` of `@maf/events-redis`: one server, Sentinel, a
 * Cluster, TLS): `XINFO GROUPS` on a connection of its own (made by the first read, re-made after a
 * loss, closed with the scope), each read bounded to 2 s, waiting for the connection in that time
 * when it is being made. A stream that does not exist has no groups; a server that cannot be
 * reached is `cannot reach the server: <the connection's last failure>`. With `partitions` above 1,
 * every partition key's groups (`XINFO GROUPS`) and their members (`XINFO CONSUMERS`), merged (see
 * {@link merge}), all within the one bound.
 *
 * @since 0.3.0
 * @category constructors
 */
export const redis = (options: RedisOptions): Effect.Effect<Probe, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { partitions = 1, ...connectionOptions } = options
    const url = options.url
    const scope = yield* Effect.scope
    const lock = yield* Effect.makeSemaphore(1)
    let current: ProbeConnection | undefined
    // One connection, made by the first read that finds none; it then re-makes itself.
    const connection = lock.withPermits(1)(
      Effect.suspend(() =>
        current !== undefined
          ? Effect.succeed(current)
          : RedisClient.make(connectionOptions).pipe(
              Scope.extend(scope),
              Effect.map((client) => {
                current = follow(client, url)
                return current
              }),
              Effect.mapError((error) => `cannot reach the server: ${error.reason}`)
            )
      )
    )
    const groupsOf = (connected: ProbeConnection, key: string) =>
      xinfo(connected, ["GROUPS", key], url).pipe(
        Effect.map(fromXinfoGroups),
        Effect.catchIf(
          (message) => /no such key/i.test(message),
          () => Effect.succeed([])
        )
      )
    // A partition key's groups, each with its members (a group deleted meanwhile is left out).
    const partitionOf = (connected: ProbeConnection, key: string) =>
      Effect.flatMap(groupsOf(connected, key), (groups) =>
        Effect.forEach(groups, (group) =>
          xinfo(connected, ["CONSUMERS", key, group.name], url).pipe(
            Effect.map(
              (reply): ReadonlyArray<GroupStatus> => [{ ...group, members: fromXinfoConsumers(reply) }]
            ),
            Effect.catchIf(
              (message) => /no such key|NOGROUP/i.test(message),
              () => Effect.succeed([])
            )
          )
        )
      ).pipe(Effect.map((found) => found.flat()))
    return (stream) =>
      Effect.flatMap(connection, (connected) =>
        partitions <= 1
          ? groupsOf(connected, stream)
          : Effect.map(
              Effect.forEach(Partitions.keys(stream, partitions), (key) => partitionOf(connected, key), {
                concurrency: 16
              }),
              (perPartition) => merge(partitions, perPartition)
            )
      ).pipe(
        Effect.timeoutFail({
          duration: Duration.seconds(2),
          onTimeout: () =>
            current === undefined
              ? "cannot reach the server: no connection within 2 s"
              : current.lastError === undefined
                ? partitions <= 1
                  ? "XINFO GROUPS: no answer in 2 s"
                  : `XINFO GROUPS and CONSUMERS of ${partitions} partitions: no answer in 2 s`
                : `cannot reach the server: ${current.lastError}`
        })
      )
  })

/**
 * A probe of named groups through the `GroupBackend` port (the in-memory backend has no listing of
 * groups): a group that does not exist (yet) is left out. With `partitions` above 1 (default 1),
 * every partition key's groups and their members, merged (see {@link merge}).
 *
 * @since 0.3.0
 * @category constructors
 */
export const named = (
  groups: GroupBackend.GroupBackendService,
  names: ReadonlyArray<string>,
  partitions = 1
): Probe => {
  const groupsOf = (key: string) =>
    Effect.forEach(names, (group) =>
      groups.info(key, group).pipe(
        Effect.map(
          (info): ReadonlyArray<GroupStatus> => [
            {
              name: info.name,
              pending: info.pending,
              lag: info.lag ?? null,
              consumers: info.consumers.length,
              last_delivered_id: info.lastDeliveredId,
              ...(partitions > 1
                ? {
                    members: info.consumers.map(
                      (c): MemberStatus => ({ name: c.name, pending: c.pending, idle_ms: c.idleMillis })
                    )
                  }
                : {})
            }
          ]
        ),
        Effect.catchTag("MissingGroup", () => Effect.succeed([])),
        Effect.mapError((error) => error.message)
      )
    ).pipe(Effect.map((found) => found.flat()))
  return (stream) =>
    partitions <= 1
      ? groupsOf(stream)
      : Effect.map(
          Effect.forEach(Partitions.keys(stream, partitions), groupsOf, { concurrency: 16 }),
          (perPartition) => merge(partitions, perPartition)
        )
}

/**
 * Starts the watch of a stream's groups, read every `interval`, until the scope closes. Each read
 * sets the group gauges (`ConsumerMetrics.pending`, `ConsumerMetrics.lag` where known), tagged with
 * `stream` and `group`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const watch = (
  probe: Probe,
  options: { readonly stream: string; readonly interval?: Duration.DurationInput | undefined }
): Effect.Effect<Watch, never, Scope.Scope> =>
  Effect.gen(function* () {
    const latest = yield* SubscriptionRef.make<Snapshot | undefined>(undefined)
    const gauges = (group: string) => {
      const tag = <M extends Metric.Metric<any, any, any>>(metric: M): M =>
        metric.pipe(Metric.tagged("stream", options.stream), Metric.tagged("group", group)) as M
      return { pending: tag(ConsumerMetrics.pending), lag: tag(ConsumerMetrics.lag) }
    }
    const once = probe(options.stream).pipe(
      Effect.tap((groups) =>
        Effect.forEach(groups, (g) => {
          const { lag, pending } = gauges(g.name)
          return Effect.zipRight(
            Metric.set(pending, g.pending),
            g.lag === null ? Effect.void : Metric.set(lag, g.lag)
          )
        })
      ),
      Effect.either,
      Effect.zip(Clock.currentTimeMillis),
      Effect.flatMap(([read, at]) =>
        Either.match(read, {
          onRight: (groups): Effect.Effect<Snapshot> => Effect.succeed({ at, groups }),
          // What was last seen stays on the page, with the reason it is not newer.
          onLeft: (error) =>
            Effect.map(
              SubscriptionRef.get(latest),
              (last): Snapshot => ({ at, groups: last?.groups ?? [], error })
            )
        })
      ),
      Effect.flatMap((snapshot) => SubscriptionRef.set(latest, snapshot))
    )
    yield* Effect.forkScoped(
      Effect.repeat(once, Schedule.spaced(options.interval ?? defaultInterval)).pipe(
        Effect.annotateLogs("fiber", "groupWatch")
      )
    )
    return {
      changes: latest.changes.pipe(Stream.filter((s): s is Snapshot => s !== undefined))
    }
  })
