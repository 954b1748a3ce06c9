/**
 * The dashboard facing the network: an access token when it has one (401 without, the page and its
 * feed with it, as a Bearer header or a query parameter), bounded filters (400 beyond), and hostile
 * globs and kinds that cannot stall a feed. On the in-memory backend: nothing here is about Redis.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { describe, expect, it, layer } from "@effect/vitest"
import { EventBus, MemoryStreamBackend } from "@maf/events"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Dashboard from "../src/Dashboard.js"
import * as KindGlob from "../src/KindGlob.js"
import * as Sse from "./helpers/sse.js"

const stream = "test:dashboard:access"
const token = "tok-3f9c2a71d4e8b605"

const served = (options: Partial<Dashboard.Options>) =>
  Dashboard.layer({ stream, source: "in-memory", port: 0, read: { block: "200 millis" }, ...options }).pipe(
    Layer.provideMerge(EventBus.layerMemory({ stream })),
    // The hostile kinds are warned about (once each): not the point here.
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
  )

const base = Effect.map(HttpServer.HttpServer, (server) => Dashboard.urlOf(server.address))

const get = (url: string, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const controller = new AbortController()
    const response = await fetch(url, { headers, signal: controller.signal })
    // A feed answered 200 streams on: only its head is looked at.
    const text = response.status === 200 && url.includes("/events") ? "" : await response.text()
    controller.abort()
    return { status: response.status, text, headers: response.headers }
  })

const xadd = (kind: string, i: number) =>
  Effect.flatMap(MemoryStreamBackend.MemoryStreamBackend, (memory) =>
    memory.appendFields(stream, [
      [
        "data",
        JSON.stringify({ schema_version: "1", kind, ts: "2026-05-14T11:22:33.123456+00:00", payload: { i } })
      ]
    ])
  )

describe("Dashboard.isLoopback", () => {
  it("is true for localhost, 127.0.0.0/8 and ::1 in every spelling; false for any other address", () => {
    for (const host of [
      "localhost",
      "LOCALHOST",
      "127.0.0.1",
      "127.1.2.3",
      "::1",
      "[::1]",
      "0:0:0:0:0:0:0:1"
    ]) {
      expect([host, Dashboard.isLoopback(host)]).toEqual([host, true])
    }
    expect(Dashboard.isLoopback("::ffff:127.0.0.1")).toBe(true)
    for (const host of ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "128.0.0.1", "::2", "example.com", ""]) {
      expect([host, Dashboard.isLoopback(host)]).toEqual([host, false])
    }
  })
})

describe("Dashboard.tokenCheck", () => {
  const check = Dashboard.tokenCheck(Redacted.make(token))
  it("takes the token as a Bearer header or a token query parameter, and nothing else", () => {
    expect(check({ headers: { authorization: `Bearer ${token}` }, url: "/events" })).toBe(true)
    expect(check({ headers: { authorization: `bearer  ${token} ` }, url: "/" })).toBe(true)
    expect(check({ headers: {}, url: `/events?from=0&token=${token}` })).toBe(true)
    expect(check({ headers: {}, url: "/events" })).toBe(false)
    expect(check({ headers: { authorization: `Bearer ${token}x` }, url: "/" })).toBe(false)
    expect(check({ headers: { authorization: token }, url: "/" })).toBe(false)
    expect(check({ headers: { authorization: `Basic ${token}` }, url: "/" })).toBe(false)
    expect(check({ headers: {}, url: `/?token=${token.slice(0, -1)}` })).toBe(false)
    expect(check({ headers: {}, url: "/?token=" })).toBe(false)
  })
})

layer(served({ token: Redacted.make(token) }), { excludeTestServices: true })(
  "a dashboard with a token",
  (it) => {
    it.scoped("answers 401 without the token, and the page and its feed with it", () =>
      Effect.gen(function* () {
        const url = yield* base
        for (const path of ["", "events", "events?from=0", `events?token=${token}x`]) {
          const refused = yield* get(`${url}${path}`)
          expect([path, refused.status]).toEqual([path, 401])
          expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="maf-events"')
          expect(refused.text).toContain("an access token is required")
          expect(refused.text).not.toContain(token)
        }
        const wrongBearer = yield* get(url, { authorization: "Bearer nope" })
        expect(wrongBearer.status).toBe(401)

        const page = yield* get(`${url}?token=${token}`)
        expect(page.status).toBe(200)
        expect(page.headers.get("referrer-policy")).toBe("no-referrer")
        // The page keeps the token from its own address for its feed; it is not written into it.
        expect(page.text).not.toContain(token)
        expect(page.text).toContain('if (token) query.set("token", token)')
        expect((yield* get(url, { authorization: `Bearer ${token}` })).status).toBe(200)

        yield* xadd("llm.call", 0)
        const byQuery = yield* Sse.open(`${url}events?from=0&token=${token}`)
        expect(byQuery.status).toBe(200)
        expect(JSON.parse((yield* byQuery.take(1))[0]!.data)).toMatchObject({ kind: "llm.call" })
        const byHeader = yield* Sse.open(`${url}events?from=0`, { Authorization: `Bearer ${token}` })
        expect(byHeader.status).toBe(200)
        expect(JSON.parse((yield* byHeader.take(1))[0]!.data)).toMatchObject({ kind: "llm.call" })
      })
    )
  }
)

layer(served({}), { excludeTestServices: true })("a dashboard facing hostile filters", (it) => {
  it.effect("answers 400 to too many or too long filters, saying which bound", () =>
    Effect.gen(function* () {
      const url = yield* base
      const many = Array.from({ length: KindGlob.limits.globs + 1 }, (_, i) => `kind=k${i}.*`).join("&")
      expect(yield* get(`${url}events?${many}`)).toMatchObject({
        status: 400,
        text: "at most 20 kind filters, got 21\n"
      })
      // Comma-separated globs count one by one.
      const commas = Array.from({ length: 21 }, (_, i) => `k${i}`).join(",")
      expect((yield* get(`${url}events?kind=${commas}`)).status).toBe(400)
      expect(yield* get(`${url}events?kind=${"a".repeat(101)}`)).toMatchObject({
        status: 400,
        text: "a kind filter has at most 100 characters, got one of 101\n"
      })
      expect(yield* get(`${url}events?arena=${"a".repeat(201)}`)).toMatchObject({
        status: 400,
        text: "an arena filter has at most 200 characters, got 201\n"
      })
      // At the bounds, the feed is served.
      const atBounds = Array.from({ length: 20 }, () => `kind=${"a".repeat(100)}`).join("&")
      expect((yield* get(`${url}events?${atBounds}&arena=${"a".repeat(200)}`)).status).toBe(200)
    })
  )

  it.scoped("backtracking globs over long hostile kinds: the feed goes on at once", () =>
    Effect.gen(function* () {
      const url = yield* base
      // Kinds of 200 and 1,000 characters that the globs nearly match, then one they match.
      for (let i = 0; i < 50; i++) yield* xadd("a".repeat(i % 2 === 0 ? 200 : 1000), i)
      yield* xadd(`${"a".repeat(199)}b`, 50)
      const globs = ["*a*a*a*a*b", "*a*a*a*a*a*a*b", `${"*a".repeat(49)}*b`]
      const query = globs.map((g) => `kind=${encodeURIComponent(g)}`).join("&")
      const started = Date.now()
      const feed = yield* Sse.open(`${url}events?from=0&${query}`)
      const [only] = yield* feed.take(1)
      expect(JSON.parse(only!.data).payload).toEqual({ i: 50 })
      expect(Date.now() - started).toBeLessThan(2000)
    })
  )
})
