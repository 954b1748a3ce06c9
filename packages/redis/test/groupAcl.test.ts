/**
 * The ACL a group member needs: with exactly these commands, on its stream and its dead-letter
 * stream, every operation of the group port works; without any one of them, or without the
 * dead-letter key, the operations that need it fail with `Rejected` and a message that names what
 * is missing. (Scripts are flushed before each case, so that `EVAL` is needed as after a restart.)
 * `XADD` can be narrowed to the dead-letter key by a selector, so that a member cannot write its stream.
 */
import { describe, expect, layer } from "@effect/vitest"
import { type GroupBackend, StreamBackend } from "@maf/events"
import { RedisGroupBackend } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"

/** The commands of a member, as ACL rules take them. */
const memberCommands = [
  "xgroup|create",
  "xreadgroup",
  "xack",
  "xautoclaim",
  "xclaim",
  "xpending",
  "xrange",
  "xadd",
  "xinfo|groups",
  "xinfo|consumers",
  "xgroup|delconsumer",
  "evalsha",
  "eval"
]

let streamCounter = 0
const freshStream = () => `test:group-acl:${++streamCounter}`

/** Every operation of the port as `groups` can run it, the entries written by the test's helper. */
const everyOperation = (
  server: RedisTestServer.RedisTestServer["Type"],
  groups: GroupBackend.GroupBackendService,
  stream: string
) =>
  Effect.gen(function* () {
    expect(yield* groups.create(stream, "g", "0")).toBe("created")
    expect(yield* groups.create(stream, "g", "0")).toBe("joined")
    const ids: Array<string> = []
    for (let i = 0; i < 3; i++)
      ids.push(String(yield* server.command("XADD", stream, "*", "data", `{"i":${i}}`)))
    const cursor = yield* groups.openCursor
    const read = yield* cursor.read(stream, "g", "c1", { count: 10, blockMillis: 10, timeoutMillis: 5_000 })
    expect(read.map((entry) => entry.id)).toEqual(ids)
    const claimed = yield* groups.claim(stream, "g", "c2", { minIdleMillis: 0, start: "0-0", count: 1 })
    expect(claimed.entries.map((entry) => [entry.id, entry.deliveryCount])).toEqual([[ids[0], 2]])
    expect(yield* groups.renew(stream, "g", "c1", [ids[1]!])).toEqual({ renewed: [ids[1]], deleted: [] })
    const redelivered = yield* groups.redeliver(stream, "g", "c1", [ids[1]!])
    expect(redelivered.entries.map((entry) => entry.deliveryCount)).toEqual([2])
    const letter = { deadStream: `${stream}:dead`, fields: ["error", "boom"], maxlen: 1000 }
    expect(yield* groups.deadLetter(stream, "g", "c1", ids[2]!, letter)).toBe("moved")
    expect(yield* groups.ack(stream, "g", [ids[1]!])).toBe(1)
    const info = yield* groups.info(stream, "g")
    expect([info.pending, info.consumers.map((c) => `${c.name}:${c.pending}`).sort()]).toEqual([
      1,
      ["c1:0", "c2:1"]
    ])
    expect(yield* groups.removeIdleConsumer(stream, "g", "c1")).toBe(true)
    expect(yield* server.command("XRANGE", `${stream}:dead`, "-", "+")).toEqual([
      [expect.any(String), ["data", `{"i":2}`, "error", "boom"]]
    ])
  })

/** Runs every operation as `user` (made with `rules`), on a backend of that user's own. */
const asUser = (
  server: RedisTestServer.RedisTestServer["Type"],
  user: string,
  rules: (stream: string) => ReadonlyArray<string>
) =>
  Effect.gen(function* () {
    const stream = freshStream()
    yield* server.command("ACL", "SETUSER", user, "reset", "on", ">s3cret", ...rules(stream))
    yield* server.command("SCRIPT", "FLUSH")
    const url = Redacted.make(`redis://${user}:s3cret@127.0.0.1:${server.port}/0`)
    return yield* Effect.scoped(
      Effect.flatMap(RedisGroupBackend.make({ url }), (groups) => everyOperation(server, groups, stream))
    ).pipe(Effect.either)
  })

/** The minimal ACL rules of a member of `stream`, without `without`. */
const member =
  (without?: string, keys: (stream: string) => ReadonlyArray<string> = (s) => [`~${s}`, `~${s}:dead`]) =>
  (stream: string) => [...keys(stream), ...memberCommands.filter((c) => c !== without).map((c) => `+${c}`)]

layer(RedisTestServer.layer(), { excludeTestServices: true })("the ACL of a group member", (it) => {
  it.effect(
    "a user with only the member's commands, on its stream and its dead letters, can do everything",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const result = yield* asUser(server, "member", member())
        if (result._tag === "Left") throw result.left
      })
  )

  it.scoped(
    "XADD can be granted on the dead-letter key alone (a selector): the member cannot write its stream",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const tight = (stream: string) => [...member("xadd")(stream), `(~${stream}:dead +xadd)`]
        const result = yield* asUser(server, "tight-member", tight)
        if (result._tag === "Left") throw result.left
        // The same user as a plain client, on the stream the run above used: XADD there is refused.
        const client = yield* Effect.acquireRelease(
          Effect.sync(() => new Redis(`redis://tight-member:s3cret@127.0.0.1:${server.port}/0`)),
          (c) => Effect.sync(() => c.disconnect())
        )
        const written = yield* Effect.either(
          Effect.tryPromise(() => client.xadd(`test:group-acl:${streamCounter}`, "*", "data", "{}"))
        )
        expect(written._tag === "Left" ? String(written.left.error) : "written").toMatch(/NOPERM/)
        const dead = yield* Effect.tryPromise(() =>
          client.xadd(`test:group-acl:${streamCounter}:dead`, "*", "data", "{}")
        )
        expect(dead).toMatch(/^\d+-\d+$/)
      })
  )

  describe("a user lacking one of them is refused with a message naming it", () => {
    for (const command of memberCommands) {
      it.effect(`without ${command}`, () =>
        Effect.gen(function* () {
          const server = yield* RedisTestServer.RedisTestServer
          const result = yield* asUser(server, `lacks-${command.replace("|", "-")}`, member(command))
          expect(result._tag).toBe("Left")
          const error = result._tag === "Left" ? result.left : undefined
          expect(error).toBeInstanceOf(StreamBackend.StreamBackendError)
          expect(error).toMatchObject({ reason: "Rejected" })
          expect((error as StreamBackend.StreamBackendError).message).toMatch(
            new RegExp(
              `^NOPERM this user has no permissions to run the '${command.replace("|", "\\|")}' command`
            )
          )
        })
      )
    }
  })

  it.effect("a user without the dead-letter stream's key is refused the dead letter, nothing else", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const result = yield* asUser(
        server,
        "no-dead",
        member(undefined, (s) => [`~${s}`])
      )
      expect(result._tag).toBe("Left")
      expect(result._tag === "Left" ? result.left : undefined).toMatchObject({
        _tag: "StreamBackendError",
        reason: "Rejected",
        message: expect.stringMatching(/^NOPERM this user has no permissions to access one of the keys/)
      })
    })
  )
})
