/**
 * `RedisUrl.parse`: each accepted form and what it gives, each refused one and its message, by a
 * table; no message of any refused URL holds a byte of its password. Pure: no server.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import * as RedisUrl from "../src/RedisUrl.js"

const secret = "s3cr3t-Pa55"

/** A parsed URL as plain data (the password revealed), to compare with a table's row. */
const plain = (parsed: RedisUrl.RedisUrl) => {
  const { password, ...rest } = parsed
  const out: Record<string, unknown> = { ...rest }
  if ("url" in rest) delete out.url
  if (password !== undefined) out.password = Redacted.value(password)
  return out
}

const accepted: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ["redis://localhost:6379/0", { _tag: "Single", tls: false, host: "localhost", port: 6379, db: 0 }],
  ["redis://localhost", { _tag: "Single", tls: false, host: "localhost", port: 6379, db: 0 }],
  ["redis://10.0.0.5:7000/3", { _tag: "Single", tls: false, host: "10.0.0.5", port: 7000, db: 3 }],
  ["redis://127.0.0.1:65535/", { _tag: "Single", tls: false, host: "127.0.0.1", port: 65535, db: 0 }],
  ["REDIS://Host:1", { _tag: "Single", tls: false, host: "Host", port: 1, db: 0 }],
  [
    "rediss://cache.example.com:6380/1",
    { _tag: "Single", tls: true, host: "cache.example.com", port: 6380, db: 1 }
  ],
  [
    `redis://:${secret}@h:6379/0`,
    { _tag: "Single", tls: false, host: "h", port: 6379, db: 0, password: secret }
  ],
  [
    `redis://app:${secret}@h/2`,
    { _tag: "Single", tls: false, host: "h", port: 6379, db: 2, username: "app", password: secret }
  ],
  ["redis://app@h", { _tag: "Single", tls: false, host: "h", port: 6379, db: 0, username: "app" }],
  // A password with "@", "/" and ":" percent-encoded, and one with "/" and "@" not encoded.
  [
    "redis://u:a%40b%2Fc%3Ad@h:1/0",
    { _tag: "Single", tls: false, host: "h", port: 1, db: 0, username: "u", password: "a@b/c:d" }
  ],
  [
    "redis://u:a/b@c@h:2",
    { _tag: "Single", tls: false, host: "h", port: 2, db: 0, username: "u", password: "a/b@c" }
  ],
  ["redis://[::1]:6380/4", { _tag: "Single", tls: false, host: "::1", port: 6380, db: 4 }],
  ["redis://h:6379/0?family=6", { _tag: "Single", tls: false, host: "h", port: 6379, db: 0 }],
  ["/var/run/redis.sock", { _tag: "Single", tls: false, host: "/var/run/redis.sock", port: 0, db: 0 }],
  [
    "redis+sentinel://10.0.0.1:26379,10.0.0.2:26380/mymaster",
    {
      _tag: "Sentinel",
      sentinels: [
        { host: "10.0.0.1", port: 26379 },
        { host: "10.0.0.2", port: 26380 }
      ],
      name: "mymaster",
      db: 0
    }
  ],
  [
    `redis+sentinel://svc:${secret}@s1:5000/primary/2`,
    {
      _tag: "Sentinel",
      sentinels: [{ host: "s1", port: 5000 }],
      name: "primary",
      db: 2,
      username: "svc",
      password: secret
    }
  ],
  [
    "redis+sentinel://s1,[::1]:26380,s3:1/my%20master/",
    {
      _tag: "Sentinel",
      sentinels: [
        { host: "s1", port: 26379 },
        { host: "::1", port: 26380 },
        { host: "s3", port: 1 }
      ],
      name: "my master",
      db: 0
    }
  ]
]

const refused: ReadonlyArray<readonly [string, string]> = [
  ["redis://127.0.0.1:99999/0", "port 99999 is out of range (1-65535)"],
  ["redis://127.0.0.1:0/0", "port 0 is out of range (1-65535)"],
  [`redis://:${secret}@127.0.0.1:70000`, "port 70000 is out of range (1-65535)"],
  ["redis://127.0.0.1:63x9/0", "the port is not a number"],
  ["redis://localhost:6379/zero", 'the database "zero" is not a number (/0, /1, …)'],
  ["redis://localhost:6379/0/1", "the path of a redis:// URL is the database only (/0, /1, …)"],
  ["redis:///0", "the URL has no host"],
  [`redis://:${secret}@:6379`, "the URL has no host"],
  ["redis://::1:6379", "an IPv6 address must be in brackets ([::1]:6379)"],
  ["redis://a,b:6379", "a redis:// URL names one server; for several sentinels use redis+sentinel://"],
  [
    `http://u:${secret}@h:80/`,
    "the scheme http:// is not one of redis://, rediss:// (TLS) or redis+sentinel://"
  ],
  [
    "sentinel://h:26379/m",
    "the scheme sentinel:// is not one of redis://, rediss:// (TLS) or redis+sentinel://"
  ],
  ["localhost:6379", "not a Redis URL (expected redis://host[:port][/db], rediss://"],
  ["", "not a Redis URL"],
  ["redis+sentinel:///mymaster", "a redis+sentinel:// URL needs at least one sentinel (host:port)"],
  ["redis+sentinel://s1:26379", "a redis+sentinel:// URL needs the master's name after the sentinels"],
  ["redis+sentinel://s1:26379/", "a redis+sentinel:// URL needs the master's name after the sentinels"],
  ["redis+sentinel://s1:26379,,s3/m", "sentinel 2 has no host"],
  ["redis+sentinel://s1:26379,s2:99999/m", "sentinel 2: port 99999 is out of range (1-65535)"],
  ["redis+sentinel://s1:abc/m", "sentinel 1: the port is not a number"],
  ["redis+sentinel://s1/m/x", 'the database "x" is not a number (/0, /1, …)'],
  ["redis+sentinel://s1/m/1/2", "a redis+sentinel:// URL has at most two path segments: /masterName[/db]"],
  ["redis+sentinel://s1/m?db=1", "a redis+sentinel:// URL takes no query parameters"],
  [`redis://u:${secret}%zz@h`, "the user or password is not valid percent-encoding (write % as %25)"],
  ["redis://ho st:6379", "the host has characters no host name has"]
]

describe("RedisUrl.parse", () => {
  it.each(accepted)("accepts %s", (url, expected) => {
    const parsed = RedisUrl.parse(url)
    if (RedisUrl.isRedisUrlError(parsed)) throw new Error(`refused: ${parsed.message}`)
    expect(plain(parsed)).toEqual(expected)
    if (parsed._tag === "Single") expect(Redacted.value(parsed.url)).toBe(url)
  })

  it.each(refused)("refuses %s: %s", (url, message) => {
    const parsed = RedisUrl.parse(url)
    expect(parsed._tag).toBe("RedisUrlError")
    expect((parsed as RedisUrl.RedisUrlError).message).toContain(message)
  })

  it("never puts any part of the password in a message, nor the credentials in the hint's form", () => {
    const passwords = [secret, "99999", "abc", "ho st", "zero", "a,b", "m", "::1"]
    for (const password of passwords) {
      for (const [url] of refused) {
        const withPassword = url.replace(/^([a-z+]+:\/\/)(?:[^@]*@)?/i, `$1user:${password}@`)
        const parsed = RedisUrl.parse(withPassword)
        if (!RedisUrl.isRedisUrlError(parsed)) continue
        expect(parsed.message).not.toContain(`user:${password}`)
        if (password.length > 5) expect(parsed.message).not.toContain(password)
      }
    }
    // The hint carries no "scheme://…@", which a scrubber of credentials would blank out.
    expect(RedisUrl.forms).not.toMatch(/[a-z]:\/\/[^\s,]*@/i)
  })

  it("takes a Redacted URL as well, and never shows the password when printed", () => {
    const parsed = RedisUrl.parse(Redacted.make(`redis+sentinel://:${secret}@s1:1/m`))
    expect(parsed._tag).toBe("Sentinel")
    expect(String(parsed)).not.toContain(secret)
    expect(JSON.stringify(parsed)).not.toContain(secret)
  })

  it.each([
    ["redis://h:6379/0", "h:6379"],
    ["redis://u:p@h:6380/2", "h:6380/2"],
    ["rediss://h", "rediss://h:6379"],
    ["redis://[::1]:7000", "[::1]:7000"],
    ["/tmp/redis.sock", "/tmp/redis.sock"],
    ["redis+sentinel://u:p@s1:1,s2/m/3", "sentinel master m/3 via s1:1,s2:26379"]
  ])("describes %s as %s", (url, expected) => {
    const parsed = RedisUrl.parse(url)
    if (RedisUrl.isRedisUrlError(parsed)) throw new Error(parsed.message)
    expect(RedisUrl.describe(parsed)).toBe(expected)
  })
})
