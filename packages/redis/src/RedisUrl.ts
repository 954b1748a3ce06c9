/**
 * The Redis URL forms the library accepts, parsed: one server (`redis://`, `rediss://` for TLS, or a
 * unix socket path) and a master watched by Sentinel
 * (`redis+sentinel://[user:password@]host[:port][,host[:port]…]/<masterName>[/db]`). Pure: no
 * connection is made. The password is kept `Redacted`, and an error's message never repeats any part
 * of the credentials.
 *
 * @since 0.3.0
 */
import type * as Cause from "effect/Cause"
import type * as Data from "effect/Data"
import type * as Redacted from "effect/Redacted"
import * as Internal from "./internal/redisUrl.js"

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

/**
 * @since 0.3.0
 * @category constructors
 */
export const Single: Data.Case.Constructor<Single, "_tag"> = Internal.Single

/**
 * @since 0.3.0
 * @category constructors
 */
export const Sentinel: Data.Case.Constructor<Sentinel, "_tag"> = Internal.Sentinel

/**
 * What is wrong with a URL, in one line that never holds its credentials.
 *
 * @since 0.3.0
 * @category errors
 */
export interface RedisUrlError extends Cause.YieldableError {
  readonly _tag: "RedisUrlError"
  readonly message: string
}

/**
 * The constructor of a {@link RedisUrlError}.
 *
 * @since 0.3.0
 * @category errors
 */
export const RedisUrlError: new (args: { readonly message: string }) => RedisUrlError = Internal.RedisUrlError

/**
 * The accepted forms, for messages (no text of the form `scheme://…@` that a scrubber of credentials
 * would take for some).
 *
 * @since 0.3.0
 * @category constants
 */
export const forms: string = Internal.forms

/**
 * The default port of a server, and of a sentinel.
 *
 * @since 0.3.0
 * @category constants
 */
export const defaultPorts: { readonly server: 6379; readonly sentinel: 26379 } = Internal.defaultPorts

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
export const parse: (url: string | Redacted.Redacted<string>) => RedisUrl | RedisUrlError = Internal.parse

/**
 * Whether a value is a {@link RedisUrlError} (what {@link parse} answers for a URL it refuses).
 *
 * @since 0.3.0
 * @category guards
 */
export const isRedisUrlError: (u: unknown) => u is RedisUrlError = Internal.isRedisUrlError

/**
 * The server or sentinels a parsed URL names, for people: `host:port` (and `/db` when not 0),
 * `rediss://` kept for TLS, a socket's path, or `sentinel master <name> via host:port,…`; never the
 * user or password.
 *
 * @since 0.3.0
 * @category getters
 */
export const describe: (parsed: RedisUrl) => string = Internal.describe

/**
 * A message without credentials: those of any URL in it (`redis://user:secret@host` →
 * `redis://***@host`, a usage text's `[user:password@]` left as it is), and every occurrence of
 * `url`'s password (for messages that come from elsewhere: a server's, a library's).
 *
 * @since 0.3.0
 * @category getters
 */
export const scrub: (text: string, url?: Redacted.Redacted<string> | string | undefined) => string =
  Internal.scrub
