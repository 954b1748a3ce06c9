/**
 * A whole `EventConsumer.consume` under the minimal ACL of a group member (the one the guide
 * quotes): it creates the group, reads, handles and acknowledges, renews a slow handler's lease,
 * retries a failing entry and dead-letters it, claims an entry a dead member left, and removes idle
 * consumers holding nothing — and the server refuses it nothing (`ACL LOG` stays empty). Its scripts
 * are flushed first, so that `EVAL` is needed as after a restart. `XADD` is granted on the
 * dead-letter key alone.
 */
import { expect, layer } from "@effect/vitest"
import { EventConsumer } from "@maf/events"
import { RedisEventConsumer } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"

const stream = "acl:consume"
const dead = `${stream}:dead`

/** The minimal ACL of a member of `stream`, as `ACL SETUSER` arguments after the user's name. */
const minimalAcl = [
  "reset",
  "on",
  ">s3cret",
  `~${stream}`,
  `~${dead}`,
  "+xgroup|create",
  "+xreadgroup",
  "+xack",
  "+xautoclaim",
  "+xclaim",
  "+xpending",
  "+xrange",
  "+xinfo|groups",
  "+xinfo|consumers",
  "+xgroup|delconsumer",
  "+evalsha",
  "+eval",
  `(~${dead} +xadd)`
]

const body = (name: string) =>
  JSON.stringify({ kind: "acl.work", ts: "2026-12-07T00:00:00Z", payload: { name } })

/** Polls `condition` every 20 ms, up to 20 s. */
const until = (what: string, condition: Effect.Effect<boolean, unknown>) =>
  condition.pipe(
    Effect.filterOrFail(
      (ok) => ok,
      () => new Error(`not so after 20 s: ${what}`)
    ),
    Effect.retry(Schedule.spaced(Duration.millis(20)).pipe(Schedule.upTo(Duration.seconds(20))))
  )

layer(RedisTestServer.layer(), { excludeTestServices: true })(
  "a group member under its minimal ACL",
  (it) => {
    it.effect(
      "runs a whole consume (handles, acks, renews, retries, dead-letters, claims, removes idle consumers) and is refused nothing",
      () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const command = server.command
          // Before the member: a dead member holding one entry, an idle one holding nothing.
          yield* command("XGROUP", "CREATE", stream, "g", "0", "MKSTREAM")
          yield* command("XADD", stream, "*", "data", body("left by the dead"))
          yield* command("XREADGROUP", "GROUP", "g", "dead-member", "COUNT", 1, "STREAMS", stream, ">")
          const idle = String(yield* command("XADD", stream, "*", "data", body("read by the idle")))
          yield* command("XREADGROUP", "GROUP", "g", "idle-member", "COUNT", 1, "STREAMS", stream, ">")
          yield* command("XACK", stream, "g", idle)
          for (const name of ["ok-1", "ok-2", "slow", "poison", "ok-3"]) {
            yield* command("XADD", stream, "*", "data", body(name))
          }

          yield* command("ACL", "SETUSER", "member", ...minimalAcl)
          yield* command("SCRIPT", "FLUSH")
          yield* command("ACL", "LOG", "RESET")

          const handled: Array<string> = []
          const url = Redacted.make(`redis://member:s3cret@127.0.0.1:${server.port}/0`)
          const member = yield* Effect.fork(
            EventConsumer.consume({
              group: "g",
              consumer: "member-1",
              from: "0",
              minIdle: Duration.millis(300),
              block: Duration.millis(50),
              maxDeliveries: 2,
              retrySchedule: Schedule.exponential(Duration.millis(10), 1),
              removeIdleConsumersAfter: Duration.millis(1),
              handler: (message) =>
                Effect.gen(function* () {
                  if (message._tag !== "UnknownKind") return yield* Effect.die(`unexpected ${message._tag}`)
                  const name = (message.body.payload as { name: string }).name
                  if (name === "poison") return yield* Effect.fail(new Error("poisoned"))
                  // Longer than minIdle: kept only by the lease's renewals.
                  if (name === "slow") yield* Effect.sleep(Duration.millis(700))
                  handled.push(`${name}:${message.deliveryCount}`)
                })
            }).pipe(Effect.provide(RedisEventConsumer.layer({ url, stream })))
          )

          yield* until(
            "the dead letter written, nothing pending, the idle and the dead member removed",
            Effect.map(
              Effect.all([
                command("XLEN", dead),
                command("XPENDING", stream, "g"),
                command("XINFO", "CONSUMERS", stream, "g")
              ]),
              ([letters, pending, consumers]) =>
                Number(letters) === 1 &&
                Number((pending as Array<unknown>)[0]) === 0 &&
                (consumers as Array<Array<unknown>>).map((c) => c[1]).join() === "member-1"
            )
          )
          yield* Fiber.interrupt(member)

          expect(handled.sort()).toEqual(["left by the dead:2", "ok-1:1", "ok-2:1", "ok-3:1", "slow:1"])
          const [letter] = (yield* command("XRANGE", dead, "-", "+")) as Array<[string, Array<string>]>
          expect(letter?.[1].slice(0, 10)).toEqual([
            "data",
            body("poison"),
            "original_id",
            expect.any(String),
            "group",
            "g",
            "consumer",
            "member-1",
            "delivery_count",
            "2"
          ])
          expect(yield* command("ACL", "LOG")).toEqual([])
        })
    )

    it.effect("without XGROUP CREATE, a member reads a group made beforehand (the refusal logged once)", () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const command = server.command
        const premade = "acl:premade"
        yield* command("XGROUP", "CREATE", premade, "g", "0", "MKSTREAM")
        for (const name of ["a", "b"]) yield* command("XADD", premade, "*", "data", body(name))
        yield* command(
          "ACL",
          "SETUSER",
          "reader",
          ...minimalAcl
            .filter((rule) => rule !== "+xgroup|create" && !rule.startsWith("~") && !rule.startsWith("("))
            .concat([`~${premade}`])
        )
        const handled: Array<string> = []
        const url = Redacted.make(`redis://reader:s3cret@127.0.0.1:${server.port}/0`)
        const member = yield* Effect.fork(
          EventConsumer.consume({
            group: "g",
            consumer: "reader-1",
            block: Duration.millis(50),
            handler: (message) =>
              Effect.sync(() => {
                if (message._tag === "UnknownKind")
                  handled.push((message.body.payload as { name: string }).name)
              })
          }).pipe(Effect.provide(RedisEventConsumer.layer({ url, stream: premade })))
        )
        yield* until(
          "both entries handled and acked",
          Effect.map(
            command("XPENDING", premade, "g"),
            (pending) => handled.length === 2 && Number((pending as Array<unknown>)[0]) === 0
          )
        )
        yield* Fiber.interrupt(member)
        expect(handled.sort()).toEqual(["a", "b"])
        const refusals = (yield* command("ACL", "LOG")) as Array<Array<unknown>>
        expect(refusals.map((entry) => entry[entry.indexOf("object") + 1])).toEqual(["xgroup|create"])
      })
    )
  }
)
