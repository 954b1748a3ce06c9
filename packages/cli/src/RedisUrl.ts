/**
 * The Redis URL of the commands. It may hold a password, so it stays `Redacted`: nothing prints it;
 * {@link describe} gives `host:port/db` without credentials for messages.
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"

/**
 * What is wrong with a URL (`undefined` when it is a `redis://` or `rediss://` URL, or a unix socket
 * path). The message never repeats the URL.
 *
 * @since 0.1.0
 * @category validation
 */
export const check = (url: Redacted.Redacted<string>): string | undefined => {
  const value = Redacted.value(url)
  if (value.startsWith("/")) return undefined
  try {
    const parsed = new URL(value)
    if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
      return `--redis-url must be a redis:// or rediss:// URL, not ${parsed.protocol}//…`
    }
    return parsed.hostname === "" ? "--redis-url has no host" : undefined
  } catch {
    return "--redis-url is not a URL (expected redis://[user:password@]host[:port][/db])"
  }
}

/**
 * The server's address for people: `host:port` (and `/db` when not 0), `rediss://` kept for TLS;
 * never the user or password.
 *
 * @since 0.1.0
 * @category getters
 */
export const describe = (url: Redacted.Redacted<string>): string => {
  const value = Redacted.value(url)
  if (value.startsWith("/")) return value
  try {
    const parsed = new URL(value)
    const db = parsed.pathname.replace(/^\//, "")
    const address = `${parsed.hostname}:${parsed.port === "" ? "6379" : parsed.port}`
    return `${parsed.protocol === "rediss:" ? "rediss://" : ""}${address}${db !== "" && db !== "0" ? `/${db}` : ""}`
  } catch {
    return "(invalid URL)"
  }
}

const credentials = /([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi

/**
 * Removes credentials from any URL in a text (`redis://user:secret@host` → `redis://***@host`), and
 * every occurrence of the given URL's password: for messages that come from elsewhere.
 *
 * @since 0.1.0
 * @category getters
 */
export const scrub = (text: string, url?: Redacted.Redacted<string> | undefined): string => {
  let out = text.replace(credentials, "$1***@")
  if (url !== undefined) {
    try {
      const password = decodeURIComponent(new URL(Redacted.value(url)).password)
      if (password.length >= 3) out = out.split(password).join("***")
    } catch {
      // not a URL: nothing more to remove
    }
  }
  return out
}
