/**
 * `XINFO STREAM`'s reply as the port's `StreamInfo`.
 *
 * @internal
 */
import type { StreamBackend } from "@maf/events"

/** A flat `[key, value, …]` reply as a map. */
export const fieldsOf = (reply: unknown): Map<string, unknown> => {
  const map = new Map<string, unknown>()
  if (Array.isArray(reply))
    for (let i = 0; i + 1 < reply.length; i += 2) map.set(String(reply[i]), reply[i + 1])
  return map
}

/** The info of a stream from its `XINFO STREAM` reply. */
export const parseInfo = (reply: unknown): StreamBackend.StreamInfo => {
  const map = fieldsOf(reply)
  const firstEntry = map.get("first-entry")
  const number = (key: string) => {
    const v = map.get(key)
    return v === undefined || v === null ? undefined : Number(v)
  }
  const string = (key: string) => {
    const v = map.get(key)
    return v === undefined || v === null ? undefined : String(v)
  }
  return {
    length: number("length") ?? 0,
    firstId: Array.isArray(firstEntry) ? String(firstEntry[0]) : undefined,
    lastId: string("last-generated-id") ?? "0-0",
    entriesAdded: number("entries-added"),
    maxDeletedEntryId: string("max-deleted-entry-id")
  }
}

/** The info of a stream that does not exist. */
export const emptyInfo: StreamBackend.StreamInfo = {
  length: 0,
  firstId: undefined,
  lastId: "0-0",
  entriesAdded: 0,
  maxDeletedEntryId: "0-0"
}
