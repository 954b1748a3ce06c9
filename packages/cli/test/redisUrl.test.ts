/**
 * `--redis-url` as the commands check, describe and scrub it: each accepted form, each refused one
 * with its message (what is wrong, the accepted forms named, never the password, nothing blanked by
 * the scrubber), and the message as the built command prints it.
 */

import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as CommonOptions from "../src/CommonOptions.js"
import * as RedisUrl from "../src/RedisUrl.js"
import * as Bin from "./helpers/bin.js"

const secret = "Hunter2-very-secret"
const url = (text: string) => Redacted.make(text)

describe("RedisUrl.check", () => {
  it.each([
    "redis://localhost:6379/0",
    `redis://app:${secret}@10.0.0.5:7000/3`,
    "rediss://cache.example.com:6380",
    "redis://[::1]:6379",
    "/var/run/redis/redis.sock",
    `redis+sentinel://:${secret}@10.0.0.1:26379,10.0.0.2:26379/mymaster`,
    "redis+sentinel://s1/mymaster/2"
  ])("accepts %s", (text) => {
    expect(RedisUrl.check(url(text))).toBeUndefined()
  })

  it.each([
    ["redis://127.0.0.1:99999/0", "--redis-url: port 99999 is out of range (1-65535)"],
    [`redis://:${secret}@127.0.0.1:65536/0`, "--redis-url: port 65536 is out of range (1-65535)"],
    ["redis://127.0.0.1:port/0", "--redis-url: the port is not a number"],
    ["redis://localhost/db1", '--redis-url: the database "db1" is not a number (/0, /1, …)'],
    [
      `https://u:${secret}@example.com/`,
      "--redis-url: the scheme https:// is not one of redis://, rediss:// (TLS) or redis+sentinel:// (expected redis://host[:port][/db], rediss://… for TLS (user:password@ before the host when needed), redis+sentinel://host[:port][,host[:port]…]/masterName[/db], or a unix socket path)"
    ],
    ["localhost:6379", "--redis-url: not a Redis URL (expected redis://host[:port][/db]"],
    [
      "redis+sentinel://s1:26379",
      "--redis-url: a redis+sentinel:// URL needs the master's name after the sentinels"
    ],
    [
      "redis+sentinel:///mymaster",
      "--redis-url: a redis+sentinel:// URL needs at least one sentinel (host:port)"
    ],
    ["redis+sentinel://s1/mymaster/x", '--redis-url: the database "x" is not a number']
  ])("refuses %s: %s", (text, message) => {
    const problem = RedisUrl.check(url(text))
    expect(problem).toContain(message)
    expect(problem).not.toContain(secret)
    // What the command prints goes through the scrubber: nothing of the message is blanked.
    expect(RedisUrl.scrub(problem!)).toBe(problem)
  })
})

describe("CommonOptions.resolveConnection (every command, dead-letters, demo and serve among them)", () => {
  const given = (text: string, cluster = false) => ({
    redisUrl: url(text),
    cluster,
    tlsCa: Option.none(),
    tlsCert: Option.none(),
    tlsKey: Option.none()
  })
  it.effect(
    "takes every URL form, a Sentinel URL among them; refuses a bad one and --cluster with Sentinel",
    () =>
      Effect.gen(function* () {
        const sentinel = yield* CommonOptions.resolveConnection(given(`redis+sentinel://:${secret}@s1/m`))
        expect(sentinel.partitions).toBeUndefined()
        expect(RedisUrl.describe(sentinel.url)).toBe("sentinel master m via s1:26379")
        const cluster = yield* CommonOptions.resolveConnection(given("rediss://h:6380/1", true))
        expect(cluster.options.cluster).toBe(true)
        const bad = yield* Effect.flip(CommonOptions.resolveConnection(given("redis://h:99999")))
        expect([bad.exitCode, bad.message]).toEqual([2, "--redis-url: port 99999 is out of range (1-65535)"])
        const refused = yield* Effect.flip(
          CommonOptions.resolveConnection(given(`redis+sentinel://:${secret}@s1/m`, true))
        )
        expect(refused.message).toMatch(/^--cluster \(REDIS_CLUSTER\) needs a redis:\/\/ or rediss:\/\/ URL/)
        expect(refused.message).not.toContain(secret)
      }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})

describe("RedisUrl.describe and scrub", () => {
  it.each([
    [`redis://app:${secret}@10.0.0.5:7000/3`, "10.0.0.5:7000/3"],
    ["rediss://cache.example.com", "rediss://cache.example.com:6379"],
    [
      `redis+sentinel://:${secret}@s1:26379,s2:26380/mymaster`,
      "sentinel master mymaster via s1:26379,s2:26380"
    ],
    ["redis://127.0.0.1:99999/0", "(invalid URL)"]
  ])("describes %s as %s", (text, expected) => {
    expect(RedisUrl.describe(url(text))).toBe(expected)
  })

  it("scrubs credentials of any URL and the given URL's password, and keeps a usage hint's placeholder", () => {
    expect(RedisUrl.scrub(`connect to redis://app:${secret}@h:1 failed`)).toBe(
      "connect to redis://***@h:1 failed"
    )
    expect(RedisUrl.scrub(`WRONGPASS ${secret}`, url(`redis+sentinel://:${secret}@s1/m`))).toBe(
      "WRONGPASS ***"
    )
    expect(RedisUrl.scrub("expected redis://[user:password@]host[:port][/db]")).toBe(
      "expected redis://[user:password@]host[:port][/db]"
    )
  })
})

describe("the built command", () => {
  beforeAll(() => Bin.assertBuilt())

  it.effect("answers a port out of range with one line saying so, exit 2", () =>
    Effect.gen(function* () {
      const result = yield* Bin.run(["tail", "--redis-url", `redis://:${secret}@127.0.0.1:99999/0`])
      expect(result.code).toBe(2)
      expect(result.stdout).toBe("")
      expect(result.stderr).toBe("maf-events: --redis-url: port 99999 is out of range (1-65535)\n")
    })
  )
})
