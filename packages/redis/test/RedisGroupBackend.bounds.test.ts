/**
 * The group port's commands are bounded (`commandTimeout`): with the server hung (`DEBUG SLEEP`),
 * an ack, a claim, a renewal and the info fail with reason `Timeout` before the hang ends, instead of
 * hanging the member; once the server answers again, the same commands work. A bad bound is refused.
 */
import { expect, layer } from "@effect/vitest"
import { type GroupBackend, StreamBackend } from "@maf/events"
import { RedisGroupBackend } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

const stream = "bounds:groups"

layer(RedisTestServer.layer(), { excludeTestServices: true })("the group port on a hung server", (it) => {
  it.scoped("each command fails with Timeout within its bound, and works again once the server answers", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const groups = yield* RedisGroupBackend.make({ url: server.url, commandTimeout: Duration.millis(300) })
      expect(yield* groups.create(stream, "g", "0")).toBe("created")
      const id = String(yield* server.command("XADD", stream, "*", "data", "{}"))
      yield* server.command("XREADGROUP", "GROUP", "g", "c1", "STREAMS", stream, ">")

      yield* server.hang(Duration.seconds(3))
      const calls = {
        ack: groups.ack(stream, "g", [id]),
        claim: groups.claim(stream, "g", "c2", { minIdleMillis: 0, start: "0-0", count: 10 }),
        renew: groups.renew(stream, "g", "c1", [id]),
        info: groups.info(stream, "g")
      }
      for (const [name, call] of Object.entries(calls)) {
        const started = performance.now()
        const exit = yield* Effect.exit(call as Effect.Effect<unknown, GroupBackend.GroupBackendError>)
        const waited = performance.now() - started
        expect({ name, failed: Exit.isFailure(exit) }).toEqual({ name, failed: true })
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          expect(error).toBeInstanceOf(StreamBackend.StreamBackendError)
          expect((error as StreamBackend.StreamBackendError).reason).toBe("Timeout")
        }
        // Answered by its bound, long before the 3 s hang is over.
        expect(waited).toBeLessThan(2_000)
      }

      // Once the server answers again, the commands work (the hung ones were answered meanwhile).
      yield* Effect.retry(
        Effect.flatMap(groups.info(stream, "g"), (info) =>
          info.consumers.length > 0 ? Effect.succeed(info) : Effect.fail("no consumers yet")
        ),
        { times: 50 }
      )
      expect(yield* groups.ack(stream, "g", [id])).toBeGreaterThanOrEqual(0)
      expect((yield* groups.info(stream, "g")).pending).toBe(0)
    })
  )

  it.scoped("a bound that is not a positive duration is refused", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const exit = yield* Effect.exit(
        RedisGroupBackend.make({ url: server.url, commandTimeout: Duration.zero })
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain(
        "commandTimeout must be a positive duration"
      )
    })
  )
})
