/**
 * The least-privilege users of the README, for real, on a single server and on a Cluster (where each
 * also needs `CLUSTER SLOTS`): a publisher (`XADD` and the append script on its stream), a reader
 * (`XREAD`, `XINFO STREAM`) and a group member (its group commands, on its stream and dead-letter
 * stream). Each works with exactly its permissions; one removed, the failure is one line naming it.
 */
import { describe, expect, layer } from "@effect/vitest"
import { EventBus, EventConsumer, EventReader, PublishResult } from "@maf/events"
import {
  RedisEventBus,
  RedisEventConsumer,
  RedisEventReader,
  type RedisStreamBackend
} from "@maf/events-redis"
import { RedisTestCluster, RedisTestServer } from "@maf/events-test"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

const password = "acl-secret"

/** The README's minimal ACL rules of each role on stream `s` (`cluster`: with `CLUSTER SLOTS`). */
const rules = (role: "publisher" | "reader" | "member", s: string, cluster: boolean) => {
  const own = {
    publisher: [`~${s}`, "+xadd", "+evalsha", "+eval"],
    reader: [`~${s}`, "+xread", "+xinfo|stream"],
    member: [
      `~${s}`,
      `~${s}:dead`,
      "+xgroup|create",
      "+xreadgroup",
      "+xack",
      "+xautoclaim",
      "+xclaim",
      "+xpending",
      "+xrange",
      "+xadd",
      "+xinfo|groups",
      "+xinfo|consumers",
      "+xgroup|delconsumer",
      "+evalsha",
      "+eval"
    ]
  }[role]
  return cluster ? [...own, "+cluster|slots"] : own
}

/** Creates `user` with `rules` on every server `run` reaches. */
type Run = (...args: ReadonlyArray<string>) => Effect.Effect<unknown, unknown>

const setUser = (run: Run, user: string, userRules: ReadonlyArray<string>) =>
  run("ACL", "SETUSER", user, "reset", "on", `>${password}`, ...userRules)

let streams = 0
const freshStream = () => `acl:${process.pid}:${++streams}`

const urlFor = (base: string, user: string) => base.replace("redis://", `redis://${user}:${password}@`)

/** The checks, on a topology: `run` sends a command to every node, `base` is a URL of one. */
const checks = <R>(
  it: { scoped: (name: string, self: () => Effect.Effect<unknown, unknown, R | Scope.Scope>) => void },
  topology: Effect.Effect<
    { readonly run: Run; readonly read: Run; readonly base: string; readonly cluster: boolean },
    unknown,
    R
  >
) => {
  const connection = (
    base: string,
    user: string,
    cluster: boolean
  ): RedisStreamBackend.ConnectionOptions => ({
    url: urlFor(base, user),
    ...(cluster ? { cluster: true } : {})
  })

  it.scoped(
    "the publisher's ACL: awaited and batched publishes are written; without XADD, one line naming it",
    () =>
      Effect.gen(function* () {
        const { run, base, cluster } = yield* topology
        const stream = freshStream()
        yield* setUser(run, "publisher", rules("publisher", stream, cluster))
        const results = yield* Effect.gen(function* () {
          const bus = yield* EventBus.EventBus
          const awaited = yield* bus.publish({ kind: "agent.signal" })
          for (let i = 0; i < 20; i++) yield* bus.publishNowait({ kind: "agent.signal", payload: { i } })
          yield* bus.flush
          const batch = yield* Effect.forEach(
            Array.from({ length: 5 }),
            () => bus.publish({ kind: "agent.signal" }),
            {
              concurrency: "unbounded"
            }
          )
          return [awaited, ...batch]
        }).pipe(Effect.provide(RedisEventBus.layer({ ...connection(base, "publisher", cluster), stream })))
        expect(results.every(PublishResult.isWritten)).toBe(true)

        yield* setUser(
          run,
          "publisher",
          rules("publisher", stream, cluster).filter((rule) => rule !== "+xadd")
        )
        const [refused] = yield* Effect.forEach([0], () => EventBus.publish({ kind: "agent.signal" })).pipe(
          Effect.provide(RedisEventBus.layer({ ...connection(base, "publisher", cluster), stream }))
        )
        expect(refused).toMatchObject({ _tag: "NotWritten", reason: "Rejected" })
        const message = refused?._tag === "NotWritten" ? refused.message : ""
        expect(message).toMatch(/NOPERM.*'xadd'/)
        expect(message).not.toContain("\n")
      })
  )

  it.scoped("the reader's ACL: reads the stream; without XINFO STREAM, one line naming it", () =>
    Effect.gen(function* () {
      const { run, base, cluster } = yield* topology
      const stream = freshStream()
      yield* setUser(run, "publisher", rules("publisher", stream, cluster))
      yield* EventBus.publish({ kind: "agent.signal" }).pipe(
        Effect.provide(RedisEventBus.layer({ ...connection(base, "publisher", cluster), stream }))
      )
      yield* setUser(run, "reader", rules("reader", stream, cluster))
      const read = (options: RedisStreamBackend.ConnectionOptions) =>
        EventReader.stream({ stream, from: "0", retrySchedule: Schedule.stop }).pipe(
          Stream.take(1),
          Stream.runCollect,
          Effect.provide(RedisEventReader.layer({ ...options, stream }))
        )
      expect(Chunk.size(yield* read(connection(base, "reader", cluster)))).toBe(1)

      yield* setUser(
        run,
        "reader",
        rules("reader", stream, cluster).filter((rule) => rule !== "+xinfo|stream")
      )
      const failure = yield* Effect.flip(read(connection(base, "reader", cluster)))
      expect(String(failure.message)).toMatch(/NOPERM.*'xinfo\|stream'/)
      expect(String(failure.message)).not.toContain("\n")
    })
  )

  it.scoped("the member's ACL: handles its entries and dead-letters the one that fails", () =>
    Effect.gen(function* () {
      const { run, read, base, cluster } = yield* topology
      const stream = freshStream()
      yield* setUser(run, "publisher", rules("publisher", stream, cluster))
      yield* Effect.forEach([1, 2, 3], (i) =>
        EventBus.publish({ kind: "agent.signal", payload: { i } })
      ).pipe(Effect.provide(RedisEventBus.layer({ ...connection(base, "publisher", cluster), stream })))
      yield* setUser(run, "member", rules("member", stream, cluster))
      const consume = (onFailure: (error: unknown) => Effect.Effect<void>) =>
        Effect.gen(function* () {
          const done = yield* Deferred.make<void>()
          let handled = 0
          const member = yield* Effect.fork(
            EventConsumer.consume({
              stream,
              group: "g",
              consumer: "m1",
              from: "0",
              block: Duration.millis(50),
              maxDeliveries: 1,
              handler: (message) =>
                Effect.suspend(() => {
                  handled++
                  if (handled === 3) Deferred.unsafeDone(done, Effect.void)
                  // The second entry fails: dead-lettered at once (maxDeliveries 1).
                  return message._tag === "KnownEvent" && (message.event.payload as { i?: number }).i === 2
                    ? Effect.fail("refused")
                    : Effect.void
                })
            }).pipe(
              Effect.provide(RedisEventConsumer.layer({ ...connection(base, "member", cluster), stream })),
              Effect.catchAll(onFailure)
            )
          )
          yield* Deferred.await(done)
          return member
        })
      const member = yield* consume(() => Effect.void)
      yield* Fiber.interrupt(member)
      // Three handled, the failing one dead-lettered on the member's own dead-letter stream.
      expect(Number(yield* read("XLEN", `${stream}:dead`))).toBe(1)
    })
  )
}

describe("least-privilege ACL users", () => {
  layer(RedisTestCluster.layer(), { excludeTestServices: true, timeout: 60_000 })(
    "on a Cluster, without CLUSTER SLOTS",
    (it) => {
      it.scoped("the publisher cannot find the cluster: not written, one line naming the permission", () =>
        Effect.gen(function* () {
          const cluster = yield* RedisTestCluster.RedisTestCluster
          const stream = freshStream()
          yield* Effect.forEach(
            cluster.nodes,
            (node) =>
              cluster.command(
                { port: node.port },
                "ACL",
                "SETUSER",
                "publisher",
                "reset",
                "on",
                `>${password}`,
                ...rules("publisher", stream, false)
              ),
            { discard: true }
          )
          const [refused] = yield* Effect.forEach([0], () => EventBus.publish({ kind: "agent.signal" })).pipe(
            Effect.provide(
              RedisEventBus.layer({
                url: urlFor(cluster.url, "publisher"),
                cluster: true,
                stream,
                publishTimeout: Duration.seconds(3)
              })
            )
          )
          expect(refused?._tag).toBe("NotWritten")
          const message = refused?._tag === "NotWritten" ? refused.message : ""
          expect(message).toMatch(/cluster\|slots/)
          expect(message).not.toContain("\n")
        })
      )
    }
  )

  layer(RedisTestServer.layer(), { excludeTestServices: true })("on a single server", (it) => {
    checks(
      it,
      Effect.map(RedisTestServer.RedisTestServer, (server) => ({
        run: (...args: ReadonlyArray<string>) => server.command(...args),
        read: (...args: ReadonlyArray<string>) => server.command(...args),
        base: server.url,
        cluster: false
      }))
    )
  })

  layer(RedisTestCluster.layer(), { excludeTestServices: true, timeout: 60_000 })("on a Cluster", (it) => {
    checks(
      it,
      Effect.map(RedisTestCluster.RedisTestCluster, (cluster) => ({
        run: (...args: ReadonlyArray<string>) =>
          Effect.forEach(cluster.nodes, (node) => cluster.command({ port: node.port }, ...args), {
            discard: true
          }),
        // A key's command on its master (the key is the command's second word).
        read: (...args: ReadonlyArray<string>) =>
          Effect.flatMap(cluster.masterOf(args[1]!), (master) =>
            cluster.command({ port: master.port }, ...args)
          ),
        base: cluster.url,
        cluster: true
      }))
    )
  })
})
