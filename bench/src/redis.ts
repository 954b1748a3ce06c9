/**
 * Plain-ioredis helpers of the bench: clients for the raw side, fresh stream keys, a fast
 * server-side preload, and a check that a case wrote what it says.
 */
import { Redis } from "ioredis"

/** A plain client with ioredis' defaults, as a program using ioredis directly would make it. */
export const rawClient = async (url: string): Promise<Redis> => {
  const client = new Redis(url)
  await client.ping()
  return client
}

export const withRawClient = async <A>(url: string, use: (client: Redis) => Promise<A>): Promise<A> => {
  const client = await rawClient(url)
  try {
    return await use(client)
  } finally {
    client.disconnect()
  }
}

let counter = 0

/** A stream key no other case or round uses. */
export const freshKey = (name: string): string => `bench:${name}:${process.pid}:${++counter}`

/** `XADD` of `count` copies of `body` in a server-side loop, 10,000 per call, untrimmed. */
const preloadScript = `
for i = 1, tonumber(ARGV[1]) do
  redis.call("XADD", KEYS[1], "*", "data", ARGV[2])
end
return redis.call("XLEN", KEYS[1])
`

/** Fills `key` with `count` copies of `body`; returns the id of the last entry. */
export const preload = (url: string, key: string, count: number, body: string): Promise<string> =>
  withRawClient(url, async (client) => {
    for (let done = 0; done < count; done += 10_000) {
      await client.eval(preloadScript, 1, key, String(Math.min(10_000, count - done)), body)
    }
    const length = await client.xlen(key)
    if (length !== count) throw new Error(`preload of ${key}: ${length} entries, expected ${count}`)
    const [last] = (await client.xrevrange(key, "+", "-", "COUNT", 1)) as Array<[string, unknown]>
    return last![0]
  })

/** How many entries were ever added to `key` (`XINFO STREAM`'s `entries-added`). */
export const entriesAdded = async (client: Redis, key: string): Promise<number> => {
  const reply = (await client.xinfo("STREAM", key)) as Array<unknown>
  const at = reply.indexOf("entries-added")
  return Number(reply[at + 1])
}

/** Fails the case when `key` did not receive exactly `expected` entries; then deletes it. */
export const checkAndDelete = (url: string, key: string, expected: number, what: string): Promise<void> =>
  withRawClient(url, async (client) => {
    try {
      const added = await entriesAdded(client, key)
      if (added !== expected) throw new Error(`${what}: ${added} entries in Redis, expected ${expected}`)
    } finally {
      await client.del(key)
    }
  })

export const deleteKey = (url: string, key: string): Promise<void> =>
  withRawClient(url, async (client) => {
    await client.del(key)
  })

/** The server's `redis_version` and `process_id`. */
export const serverInfo = (url: string): Promise<{ readonly version: string; readonly pid: number }> =>
  withRawClient(url, async (client) => {
    const info = await client.info("server")
    return {
      version: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown",
      pid: Number(/process_id:(\d+)/.exec(info)?.[1])
    }
  })
