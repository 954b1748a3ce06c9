/**
 * The Redis URL forms, parsed (the implementation of the public `RedisUrl` module): one server
 * (`redis://`, `rediss://`, a unix socket path) and a master watched by Sentinel
 * (`redis+sentinel://`); and the scrubbing of credentials from messages.
 *
 * @internal
 */
import * as Data from "effect/Data"
import * as Redacted from "effect/Redacted"
import type * as RedisUrl from "../RedisUrl.js"

const constructors = Data.taggedEnum<RedisUrl.RedisUrl>()

/** Makes a `Single`. */
export const Single = constructors.Single

/** Makes a `Sentinel`. */
export const Sentinel = constructors.Sentinel

/** What is wrong with a URL, in one line that never holds its credentials. */
export class RedisUrlError extends Data.TaggedError("RedisUrlError")<{ readonly message: string }> {}

/** The accepted forms, for messages. */
export const forms =
  "redis://host[:port][/db], rediss://… for TLS (user:password@ before the host when needed), redis+sentinel://host[:port][,host[:port]…]/masterName[/db], or a unix socket path"

/** The default port of a server, and of a sentinel. */
export const defaultPorts = { server: 6379, sentinel: 26379 } as const

const schemes = ["redis", "rediss", "redis+sentinel"] as const

const fail = (message: string) => new RedisUrlError({ message })

interface Credentials {
  readonly username?: string | undefined
  readonly password?: Redacted.Redacted<string> | undefined
}

const credentialsOf = (userinfo: string | undefined): Credentials | RedisUrlError => {
  if (userinfo === undefined) return {}
  const colon = userinfo.indexOf(":")
  const rawUser = colon === -1 ? userinfo : userinfo.slice(0, colon)
  const rawPassword = colon === -1 ? "" : userinfo.slice(colon + 1)
  try {
    const username = decodeURIComponent(rawUser)
    const password = decodeURIComponent(rawPassword)
    return {
      ...(username !== "" ? { username } : {}),
      ...(password !== "" ? { password: Redacted.make(password) } : {})
    }
  } catch {
    return fail("the user or password is not valid percent-encoding (write % as %25)")
  }
}

/** `host[:port]` (an IPv6 host in brackets): the pair, or what is wrong (of `node`, when named). */
const hostPortOf = (text: string, defaultPort: number, node?: string): RedisUrl.HostPort | RedisUrlError => {
  const of = node === undefined ? "" : `${node}: `
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text)
  let host: string
  let port: string | undefined
  if (bracketed !== null) {
    host = bracketed[1]!
    port = bracketed[2]
  } else {
    const colon = text.lastIndexOf(":")
    if (colon !== -1 && text.indexOf(":") !== colon) {
      return fail(`${of}an IPv6 address must be in brackets ([::1]:6379)`)
    }
    host = colon === -1 ? text : text.slice(0, colon)
    port = colon === -1 ? undefined : text.slice(colon + 1)
  }
  if (host === "") return fail(`${node ?? "the URL"} has no host`)
  if (/[\s<>"{}|\\^`%]/.test(host)) return fail(`${of}the host has characters no host name has`)
  if (port === undefined || port === "") return { host, port: defaultPort }
  if (!/^\d+$/.test(port)) return fail(`${of}the port is not a number`)
  const n = Number(port)
  if (n < 1 || n > 65535) return fail(`${of}port ${port} is out of range (1-65535)`)
  return { host, port: n }
}

const dbOf = (text: string | undefined): number | RedisUrlError => {
  if (text === undefined || text === "") return 0
  if (!/^\d+$/.test(text)) return fail(`the database "${text}" is not a number (/0, /1, …)`)
  return Number(text)
}

/** A URL parsed, or what is wrong with it. */
export const parse = (url: string | Redacted.Redacted<string>): RedisUrl.RedisUrl | RedisUrlError => {
  const text = typeof url === "string" ? url : Redacted.value(url)
  if (text.startsWith("/")) {
    return Single({ url: Redacted.make(text), tls: false, host: text, port: 0, db: 0 })
  }
  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text)
  if (schemeMatch === null) return fail(`not a Redis URL (expected ${forms})`)
  const scheme = schemeMatch[1]!.toLowerCase()
  if (!(schemes as ReadonlyArray<string>).includes(scheme)) {
    return fail(
      `the scheme ${scheme}:// is not one of redis://, rediss:// (TLS) or redis+sentinel:// (expected ${forms})`
    )
  }
  let rest = text.slice(schemeMatch[0].length)
  // The credentials end at the last "@" (a password may hold "/", "?" or "#" unencoded: nothing of
  // it must be read as a host, a port or a path, which messages may name).
  const at = rest.lastIndexOf("@")
  const userinfo = at === -1 ? undefined : rest.slice(0, at)
  rest = at === -1 ? rest : rest.slice(at + 1)
  const credentials = credentialsOf(userinfo)
  if (credentials instanceof RedisUrlError) return credentials
  const hash = rest.indexOf("#")
  if (hash !== -1) rest = rest.slice(0, hash)
  const question = rest.indexOf("?")
  const query = question === -1 ? "" : rest.slice(question + 1)
  if (question !== -1) rest = rest.slice(0, question)
  const slash = rest.indexOf("/")
  const authority = slash === -1 ? rest : rest.slice(0, slash)
  const segments = slash === -1 ? [] : rest.slice(slash + 1).split("/")

  if (scheme === "redis+sentinel") {
    if (query !== "") return fail("a redis+sentinel:// URL takes no query parameters")
    const sentinels: Array<RedisUrl.HostPort> = []
    const listed = authority.split(",")
    for (let i = 0; i < listed.length; i++) {
      const entry = listed[i]!
      if (entry === "" && listed.length === 1) {
        return fail("a redis+sentinel:// URL needs at least one sentinel (host:port)")
      }
      const node = hostPortOf(entry, defaultPorts.sentinel, `sentinel ${i + 1}`)
      if (node instanceof RedisUrlError) return node
      sentinels.push(node)
    }
    const rawName = segments[0] ?? ""
    if (rawName === "") {
      return fail("a redis+sentinel:// URL needs the master's name after the sentinels (…:26379/mymaster)")
    }
    if (segments.length > 2) {
      return fail("a redis+sentinel:// URL has at most two path segments: /masterName[/db]")
    }
    let name: string
    try {
      name = decodeURIComponent(rawName)
    } catch {
      return fail("the master's name is not valid percent-encoding")
    }
    const db = dbOf(segments[1])
    if (db instanceof RedisUrlError) return db
    return Sentinel({ sentinels, name, db, ...credentials })
  }

  if (authority.includes(",")) {
    return fail(`a ${scheme}:// URL names one server; for several sentinels use redis+sentinel://`)
  }
  const node = hostPortOf(authority, defaultPorts.server)
  if (node instanceof RedisUrlError) return node
  if (segments.length > 1) return fail("the path of a redis:// URL is the database only (/0, /1, …)")
  const db = dbOf(segments[0])
  if (db instanceof RedisUrlError) return db
  return Single({ url: Redacted.make(text), tls: scheme === "rediss", ...node, db, ...credentials })
}

/** Whether a value is a `RedisUrlError`. */
export const isRedisUrlError = (u: unknown): u is RedisUrlError => u instanceof RedisUrlError

/** The server or sentinels of a parsed URL, for people (no credentials). */
export const describe = (parsed: RedisUrl.RedisUrl): string => {
  const db = parsed.db === 0 ? "" : `/${parsed.db}`
  const address = ({ host, port }: RedisUrl.HostPort) =>
    host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`
  if (parsed._tag === "Sentinel") {
    return `sentinel master ${parsed.name}${db} via ${parsed.sentinels.map(address).join(",")}`
  }
  if (parsed.port === 0) return parsed.host
  return `${parsed.tls ? "rediss://" : ""}${address(parsed)}${db}`
}

// The placeholder of a usage text (`redis://[user:password@]host`) is left as it is.
const credentialsInText = /([a-z][a-z0-9+.-]*:\/\/)([^@\s/]*)@/gi
const placeholders = new Set(["[user:password", "[user:pass"])

/** `text` without credentials: those of any URL in it, and every occurrence of `url`'s password. */
export const scrub = (text: string, url?: Redacted.Redacted<string> | string | undefined): string => {
  let out = text.replace(credentialsInText, (match, scheme: string, userinfo: string) =>
    placeholders.has(userinfo) ? match : `${scheme}***@`
  )
  if (url !== undefined) {
    const parsed = parse(url)
    const password = isRedisUrlError(parsed) ? undefined : parsed.password
    if (password !== undefined && Redacted.value(password).length >= 3) {
      out = out.split(Redacted.value(password)).join("***")
    }
  }
  return out
}
