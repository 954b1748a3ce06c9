/**
 * Where a dashboard feed of a partitioned stream stands, as its Server-Sent Events `id:` carries it
 * (what `EventSource` sends back as `Last-Event-ID` when it reconnects, and the page as `from` when
 * it is reloaded): the last id of every partition, `<partition index>:<entry id>` joined by commas
 * (`0:1715680953123-0,1:1715680950000-0,2:1715680953124-1`), so that a reconnect resumes each
 * partition right after its own last entry, neither replaying nor skipping. It grows with the
 * partitions, about 17 characters each. (On one key the id is the entry's own id.)
 *
 * @since 0.3.0
 */
import { type Partitions, StreamBackend } from "@maf/events"

/**
 * A feed's position as its `id:` says it.
 *
 * @since 0.3.0
 * @category encoding
 */
export const encode = (keys: ReadonlyArray<string>, positions: Partitions.Positions): string =>
  keys.flatMap((key, i) => (positions[key] === undefined ? [] : [`${i}:${positions[key]}`])).join(",")

/**
 * Whether a start position is a partitioned feed's position (as opposed to `$`, `0` or an entry id).
 *
 * @since 0.3.0
 * @category guards
 */
export const isPosition = (text: string): boolean => text.includes(":")

/**
 * A partitioned feed's position read back against the stream's partition keys: the positions by key,
 * or what is wrong (a partition index out of range, named twice, or an id that is not one).
 *
 * @since 0.3.0
 * @category decoding
 */
export const decode = (keys: ReadonlyArray<string>, text: string): Partitions.Positions | string => {
  const positions: Record<string, string> = {}
  for (const part of text.split(",")) {
    const colon = part.indexOf(":")
    const index = Number(part.slice(0, colon))
    const id = part.slice(colon + 1)
    const key = /^\d+$/.test(part.slice(0, colon)) ? keys[index] : undefined
    if (key === undefined)
      return `a position names partition ${JSON.stringify(part.slice(0, colon))}, not one of 0 to ${keys.length - 1}`
    if (positions[key] !== undefined) return `a position names partition ${index} twice`
    if (id !== "0" && StreamBackend.parseEntryId(id) === undefined)
      return `a position of partition ${index} must be 0 or an entry id like 1715680953123-0, got ${JSON.stringify(id)}`
    positions[key] = id
  }
  return positions
}
