/**
 * Test helpers: how many `XREAD`s a test server has run, to tell a read that went out from one that
 * did not.
 */
import { expect } from "@effect/vitest"
import type { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"

type Server = RedisTestServer.RedisTestServer["Type"]

/** How many `XREAD`s the server has run so far (`INFO commandstats`). */
export const xreadCalls = (server: Server) =>
  Effect.map(server.command("INFO", "commandstats"), (info) =>
    Number(/cmdstat_xread:calls=(\d+)/.exec(String(info))?.[1] ?? 0)
  )

/** Waits (up to 2 s) until the server has run `n` `XREAD`s. */
export const untilXreadCalls = (server: Server, n: number) =>
  Effect.gen(function* () {
    for (let waited = 0; (yield* xreadCalls(server)) < n; waited += 5) {
      if (waited >= 2000) expect.fail(`the server ran ${yield* xreadCalls(server)} XREADs, expected ${n}`)
      yield* Effect.sleep("5 millis")
    }
  })
