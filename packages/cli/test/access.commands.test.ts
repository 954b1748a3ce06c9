/**
 * The built `maf-events` facing the network and hostile filters, as real processes: `serve` off
 * loopback refuses to start without an access token (or `--no-auth`), answers 401 without the token
 * and serves with it (Bearer header or query parameter), never prints it; `tail` refuses filters
 * beyond their bounds. The dashboard listens on every interface in these tests, but every request
 * goes to 127.0.0.1.
 */
import { afterAll, beforeAll, expect, layer } from "@effect/vitest"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Bin from "./helpers/bin.js"
import * as Sse from "./helpers/sse.js"

const token = "cli-token-7d2e91c04ab35f68"
const hasStackTrace = (text: string) => /\n\s+at\s/.test(text)

/** The address a `serve` prints, and the rest of its line. */
const announced = (stdout: string) => {
  const match = /^Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)(.*)$/m.exec(stdout)
  expect(match).not.toBeNull()
  return { url: match![1]!, rest: match![2]! }
}

const status = (url: string, headers: Record<string, string> = {}) =>
  Effect.promise(() =>
    fetch(url, { headers }).then(async (r) => ({ status: r.status, text: await r.text() }))
  )

beforeAll(() => Bin.assertBuilt())

afterAll(() => {
  // The token given in --token or MAF_EVENTS_TOKEN never shows, in any output of any process.
  for (const output of Bin.allOutput) expect(output).not.toContain(token)
})

layer(RedisTestServer.layer(), { excludeTestServices: true })("maf-events serve off loopback", (it) => {
  it.effect("refuses to start without an access token or --no-auth, saying how to give one", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      for (const host of ["0.0.0.0", "::"]) {
        const result = yield* Bin.run(["serve", "--host", host, "--port", "0"], { REDIS_URL: server.url })
        expect(result.code).toBe(2)
        expect(result.stdout).toBe("")
        expect(result.stderr.trimEnd().split("\n")).toEqual([
          `maf-events: --host ${host} is not a loopback address: the dashboard would show every event to whoever reaches it; give an access token (MAF_EVENTS_TOKEN, or --token), or --no-auth to serve without one`
        ])
      }
      const both = yield* Bin.run(
        ["serve", "--host", "0.0.0.0", "--port", "0", "--token", token, "--no-auth"],
        {
          REDIS_URL: server.url
        }
      )
      expect(both.code).toBe(2)
      expect(both.stderr).toContain("exclude each other")
      const empty = yield* Bin.run(["serve", "--host", "0.0.0.0", "--port", "0"], {
        REDIS_URL: server.url,
        MAF_EVENTS_TOKEN: ""
      })
      expect(empty.code).toBe(2)
      expect(empty.stderr).toContain("is empty")
      for (const r of [both, empty]) expect(hasStackTrace(r.stderr)).toBe(false)
    })
  )

  it.scoped("with MAF_EVENTS_TOKEN: 401 without it; the page and the feed with it; never printed", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const serve = yield* Bin.start(
        ["serve", "--host", "0.0.0.0", "--port", "0", "--stream", "access:env"],
        {
          REDIS_URL: server.url,
          MAF_EVENTS_TOKEN: token
        }
      )
      yield* serve.until("the dashboard's address", () => serve.stdout().includes("\n"))
      const { url, rest } = announced(serve.stdout())
      expect(rest).toBe(" (access token required: add ?token=<token>, or send Authorization: Bearer <token>)")

      expect((yield* status(url)).status).toBe(401)
      expect((yield* status(`${url}events?from=0`)).status).toBe(401)
      expect((yield* status(url, { authorization: "Bearer wrong" })).status).toBe(401)
      expect((yield* status(url, { authorization: `Bearer ${token}` })).status).toBe(200)
      const page = yield* status(`${url}?token=${token}`)
      expect(page.status).toBe(200)
      expect(page.text).toContain("maf-events")

      yield* server.command(
        "XADD",
        "access:env",
        "*",
        "data",
        JSON.stringify({ kind: "llm.call", ts: "2026-05-14T11:22:33Z", payload: { i: 1 } })
      )
      const feed = yield* Sse.open(`${url}events?from=0&token=${token}`)
      expect(feed.status).toBe(200)
      expect(JSON.parse((yield* feed.take(1))[0]!.data)).toMatchObject({
        kind: "llm.call",
        payload: { i: 1 }
      })

      serve.child.kill("SIGINT")
      expect((yield* serve.exit).code).toBe(130)
    })
  )

  it.scoped("with --token, on loopback too: the token is required wherever it is given", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const serve = yield* Bin.start(["serve", "--port", "0", "--token", token], { REDIS_URL: server.url })
      yield* serve.until("the dashboard's address", () => serve.stdout().includes("\n"))
      const { url } = announced(serve.stdout())
      expect((yield* status(url)).status).toBe(401)
      expect((yield* status(url, { authorization: `Bearer ${token}` })).status).toBe(200)
      serve.child.kill("SIGINT")
      yield* serve.exit
    })
  )

  it.scoped("with --no-auth: it serves without a token, and says so on stderr", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const serve = yield* Bin.start(["serve", "--host", "0.0.0.0", "--port", "0", "--no-auth"], {
        REDIS_URL: server.url
      })
      yield* serve.until("the dashboard's address", () => serve.stdout().includes("\n"))
      const { url, rest } = announced(serve.stdout())
      expect(rest).toBe("")
      expect(serve.stderr()).toContain(
        "serving on 0.0.0.0 without an access token (--no-auth): whoever reaches it sees every event"
      )
      expect((yield* status(url)).status).toBe(200)
      serve.child.kill("SIGINT")
      yield* serve.exit
    })
  )

  it.effect("tail refuses filters beyond their bounds with a clear usage error", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const kinds = Array.from({ length: 21 }, (_, i) => ["--kind", `k${i}.*`]).flat()
      const many = yield* Bin.run(["tail", ...kinds], { REDIS_URL: server.url })
      expect(many.code).toBe(2)
      expect(many.stderr.trimEnd()).toBe("maf-events: at most 20 kind filters, got 21")
      const long = yield* Bin.run(["tail", "--kind", `*${"a*".repeat(50)}`], { REDIS_URL: server.url })
      expect(long.code).toBe(2)
      expect(long.stderr.trimEnd()).toBe(
        "maf-events: a kind filter has at most 100 characters, got one of 101"
      )
      const arena = yield* Bin.run(["tail", "--arena", "x".repeat(201)], { REDIS_URL: server.url })
      expect(arena.code).toBe(2)
      expect(arena.stderr.trimEnd()).toBe("maf-events: an arena filter has at most 200 characters, got 201")
    })
  )

  it.effect("tail with a backtracking glob over long hostile kinds prints the match at once", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      for (let i = 0; i < 20; i++) {
        yield* server.command(
          "XADD",
          "access:tail",
          "*",
          "data",
          JSON.stringify({ kind: "a".repeat(200), ts: "2026-05-14T11:22:33Z", payload: { i } })
        )
      }
      yield* server.command(
        "XADD",
        "access:tail",
        "*",
        "data",
        JSON.stringify({ kind: `${"a".repeat(199)}b`, ts: "2026-05-14T11:22:33Z", payload: { i: 20 } })
      )
      const result = yield* Bin.run(
        [
          "tail",
          "--stream",
          "access:tail",
          "--from",
          "0",
          "--limit",
          "1",
          "--format",
          "json",
          "--kind",
          "*a*a*a*a*a*a*b"
        ],
        { REDIS_URL: server.url }
      )
      expect(result.code).toBe(0)
      expect(JSON.parse(result.stdout).payload).toEqual({ i: 20 })
      expect(result.millis).toBeLessThan(10_000)
    })
  )
})
