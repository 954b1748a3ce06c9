import { expect, layer } from "@effect/vitest"
import { RedisStreamBackend } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"

layer(RedisTestServer.layer(), { excludeTestServices: true })("RedisStreamBackend", (it) => {
  it.effect(
    "commands waiting for the first connection add no listener per command (no MaxListenersExceededWarning)",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const warnings: Array<string> = []
        const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`)
        process.on("warning", onWarning)
        yield* Effect.gen(function* () {
          const backend = yield* RedisStreamBackend.make({ url: server.url })
          // 11 appends issued while the connection is being made: each waits for it.
          const ids = yield* Effect.forEach(
            Array.from({ length: 11 }, (_, i) => i),
            (i) =>
              backend.append(
                "listeners",
                [JSON.stringify({ kind: "agent.signal", ts: "2026-01-01T00:00:00Z", payload: { i } })],
                { maxlen: 0 }
              ),
            { concurrency: "unbounded" }
          )
          // And every one of them was written once the connection was made.
          expect(ids.flat()).toHaveLength(11)
        }).pipe(Effect.scoped, Effect.ensuring(Effect.sync(() => process.off("warning", onWarning))))
        yield* Effect.sleep("50 millis") // process warnings are emitted on the next tick
        expect(warnings.filter((w) => w.startsWith("MaxListenersExceededWarning"))).toEqual([])
      })
  )
})
