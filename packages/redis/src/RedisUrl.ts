/**
 * The Redis URL forms the library accepts, parsed: one server (`redis://`, `rediss://` for TLS, or a
 * unix socket path) and a master watched by Sentinel
 * (`redis+sentinel://[user:password@]host[:port][,host[:port]…]/<masterName>[/db]`). Pure: no
 * connection is made. The password is kept `Redacted`, and an error's message never repeats any part
 * of the credentials.
 *
 * @since 0.3.0
 */
import * as Data from "effect/Data"
import * as Redacted from "effect/Redacted"

/**
 * A host and port (of a server or of a sentinel).
 *
 * @since 0.3.0
 * @category models
 */
export interface HostPort {
  readonly host: string
  readonly port: number
}

/**
 * A parsed URL: one server (`Single`: `port` 0 and `host` the path for a unix socket), or a master
 * known by its name to the sentinels (`Sentinel`; the credentials are the master's).
 *
 * @since 0.3.0
 * @category models
 */
export type RedisUrl = Data.TaggedEnum<{
  Single: {
    readonly url: Redacted.Redacted<string>
    readonly tls: boolean
    readonly host: string
    readonly port: number
    readonly db: number
    readonly username?: string | undefined
    readonly password?: Redacted.Redacted<string> | undefined
  }
  Sentinel: {
    readonly sentinels: ReadonlyArray<HostPort>
    readonly name: string
    readonly db: number
    readonly username?: string | undefined
    readonly password?: Redacted.Redacted<string> | undefined
  }
}>

/**
 * One server's URL, parsed.
 *
 * @since 0.3.0
 * @category models
 */
export type Single = Data.TaggedEnum.Value<RedisUrl, "Single">

/**
 * A Sentinel URL, parsed.
 *
 * @since 0.3.0
 * @category models
 */
export type Sentinel = Data.TaggedEnum.Value<RedisUrl, "Sentinel">

const constructors = Data.taggedEnum<RedisUrl>()

/**
 * @since 0.3.0
 * @category constructors
 */
export const Single = constructors.Single

/**
 * @since 0.3.0
 * @category constructors
 */
export const Sentinel = constructors.Sentinel

/**
 * What is wrong with a URL, in one line that never holds its credentials.
 *
 * @since 0.3.0
 * @category errors
 */
export class RedisUrlError extends Data.TaggedError("RedisUrlError")<{ readonly message: string }> {}

/**
 * The accepted forms, for messages (no text of the form `scheme://…@` that a scrubber of credentials
 * would take for some).
 *
 * @since 0.3.0
 * @category constants
 */
export const forms =
  "redis://host[:port][/db], rediss://… for TLS (user:password@ before the host when needed), redis+sentinel://host[:port][,host[:port]…]/masterName[/db], or a unix socket path"

/**
 * The default port of a server, and of a sentinel.
 *
 * @since 0.3.0
 * @category constants
 */
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
const hostPortOf = (text: string, defaultPort: number, node?: string): HostPort | RedisUrlError => {
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

/**
 * Parses a URL: the server or sentinels it names, or a {@link RedisUrlError} saying what is wrong
 * (a scheme other than the accepted ones, no host, a port that is not a number or out of range, a
 * database that is not a number, a Sentinel URL without a sentinel or a master name). Tell them
 * apart by `_tag`.
 *
 * @since 0.3.0
 * @category parsing
 * @example
 * import { RedisUrl } from "@maf/events-redis"
 *
 * const parsed = RedisUrl.parse("redis+sentinel://:secret@10.0.0.1:26379,10.0.0.2:26379/mymaster/1")
 * // parsed._tag === "Sentinel", parsed.name === "mymaster", parsed.db === 1, two sentinels
 */
export const parse = (url: string | Redacted.Redacted<string>): RedisUrl | RedisUrlError => {
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
    const sentinels: Array<HostPort> = []
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

/**
 * Whether a value is a {@link RedisUrlError} (what {@link parse} answers for a URL it refuses).
 *
 * @since 0.3.0
 * @category guards
 */
export const isRedisUrlError = (u: unknown): u is RedisUrlError => u instanceof RedisUrlError

/**
 * The server or sentinels a parsed URL names, for people: `host:port` (and `/db` when not 0),
 * `rediss://` kept for TLS, a socket's path, or `sentinel master <name> via host:port,…`; never the
 * user or password.
 *
 * @since 0.3.0
 * @category getters
 */
export const describe = (parsed: RedisUrl): string => {
  const db = parsed.db === 0 ? "" : `/${parsed.db}`
  const address = ({ host, port }: HostPort) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`)
  if (parsed._tag === "Sentinel") {
    return `sentinel master ${parsed.name}${db} via ${parsed.sentinels.map(address).join(",")}`
  }
  if (parsed.port === 0) return parsed.host
  return `${parsed.tls ? "rediss://" : ""}${address(parsed)}${db}`
}
