/**
 * The events of the partitioned sides: the bench's event (`body.ts`) under one arena id a partition,
 * so that events published in turn spread evenly over a stream's partitions. The arena ids are as
 * long as the bench's own, so every body is still {@link bodyBytes} bytes; the library routes by
 * arena id (`partitionBy`), and the raw side sends each partition the same text the library writes
 * there.
 */
import { type Event, Partitions } from "@maf/events"
import { bodyBytes, input, rawBody } from "../body.js"

/** The events of a partitioned stream, partition `p`'s at index `p`. */
export interface PartitionedEvents {
  /** What the library is given for partition `p`. */
  readonly inputs: ReadonlyArray<Event.Input<"agent.signal">>
  /** The text the raw side sends to partition `p`: the library's encoding of `inputs[p]`. */
  readonly bodies: ReadonlyArray<string>
  /** The library's routing: by arena id. */
  readonly partitionBy: (event: Event.Input<string, unknown>) => string
}

const arenaIdAt = (n: number): string => `arena-2026-05-14-${String(n).padStart(4, "0")}`

/** For each partition of `partitions`, the first arena id `arena-2026-05-14-<n>` routed to it. */
const arenaIds = (partitions: number): ReadonlyArray<string> => {
  const found: Array<string | undefined> = Array.from({ length: partitions })
  for (let n = 1; found.includes(undefined); n++) {
    if (n > 9999) throw new Error(`no arena id for every one of ${partitions} partitions`)
    const id = arenaIdAt(n)
    const p = Partitions.partitionOf(id, partitions)
    if (found[p] === undefined) found[p] = id
  }
  return found as Array<string>
}

/** The events of a stream of `partitions` partitions. */
export const partitionedEvents = (partitions: number): PartitionedEvents => {
  const ids = arenaIds(partitions)
  const field = (id: string) => `"arena_id":"${id}"`
  const own = field(input.arenaId ?? "")
  if (!rawBody.includes(own)) throw new Error("the bench body has no arena_id field")
  const bodies = ids.map((id) => rawBody.replace(own, field(id)))
  for (const body of bodies) {
    if (Buffer.byteLength(body) !== bodyBytes) throw new Error(`a partition's body is not ${bodyBytes} bytes`)
  }
  return {
    inputs: ids.map((arenaId) => ({ ...input, arenaId })),
    bodies,
    partitionBy: (event) => event.arenaId ?? ""
  }
}

/** How many of `events` events, published in turn over `partitions` partitions, go to partition `p`. */
export const shareOf = (events: number, partitions: number, p: number): number =>
  Math.floor(events / partitions) + (p < events % partitions ? 1 : 0)
