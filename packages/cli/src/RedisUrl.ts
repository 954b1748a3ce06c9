/**
 * The Redis URL of the commands. It may hold a password, so it stays `Redacted`: nothing prints it;
 * {@link describe} gives `host:port/db` (or the sentinels and master) without credentials for
 * messages. The URL forms are the library's (`RedisUrl` of `@maf/events-redis`).
 *
 * @since 0.1.0
 */
import { RedisUrl } from "@maf/events-redis"
import type * as Redacted from "effect/Redacted"

/**
 * What is wrong with a URL (`undefined` when it is one of the accepted forms: `redis://`,
 * `rediss://`, `redis+sentinel://`, a unix socket path), as `--redis-url: <what>`. The message never
 * repeats the URL.
 *
 * @since 0.1.0
 * @category validation
 */
export const check = (url: Redacted.Redacted<string>): string | undefined => {
  const parsed = RedisUrl.parse(url)
  return RedisUrl.isRedisUrlError(parsed) ? `--redis-url: ${parsed.message}` : undefined
}

/**
 * The server's address for people: `host:port` (and `/db` when not 0), `rediss://` kept for TLS,
 * `sentinel master <name> via host:port,…` for Sentinel; never the user or password.
 *
 * @since 0.1.0
 * @category getters
 */
export const describe = (url: Redacted.Redacted<string>): string => {
  const parsed = RedisUrl.parse(url)
  return RedisUrl.isRedisUrlError(parsed) ? "(invalid URL)" : RedisUrl.describe(parsed)
}

/**
 * Removes credentials from any URL in a text (`redis://user:secret@host` → `redis://***@host`), and
 * every occurrence of the given URL's password: for messages that come from elsewhere.
 *
 * @since 0.1.0
 * @category getters
 */
export const scrub: (text: string, url?: Redacted.Redacted<string> | undefined) => string = RedisUrl.scrub
