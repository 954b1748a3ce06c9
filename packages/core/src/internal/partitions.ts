/**
 * The partitions of a logical stream, as pure functions: Redis' key hashing (CRC16/XMODEM of the
 * key's UTF-8 bytes, or of its hash tag, modulo 16384), the key of each partition (the stream's name
 * and a hash tag chosen so that partition i of N hashes into the i-th of N equal slot ranges), and
 * which partition a routing key goes to. `Partitions.ts` re-exports them with their documentation.
 *
 * @internal
 */

/** Redis Cluster's hash slots. */
export const slotCount = 16384

/** The most partitions a stream may have (each then keeps a range of 16 slots). */
export const maxPartitions = 1024

/** Slots kept clear at each end of a partition's range (see {@link slotRange}). */
const margin = 2

/** CRC16/XMODEM (polynomial 0x1021, initial value 0), a byte at a time. */
const table: Uint16Array = (() => {
  const t = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    t[i] = crc
  }
  return t
})()

const step = (crc: number, byte: number): number => ((crc << 8) & 0xffff) ^ table[((crc >> 8) ^ byte) & 0xff]!

/**
 * CRC16/XMODEM of the UTF-8 bytes of `text` from `from` to `to` (UTF-16 indexes), as ioredis sends
 * them (a lone surrogate is U+FFFD), without making the bytes.
 */
export const crc16 = (text: string, from = 0, to = text.length): number => {
  let crc = 0
  for (let i = from; i < to; i++) {
    let code = text.charCodeAt(i)
    if (code < 0x80) {
      crc = step(crc, code)
      continue
    }
    if (code < 0x800) {
      crc = step(step(crc, 0xc0 | (code >> 6)), 0x80 | (code & 0x3f))
      continue
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const low = i + 1 < to ? text.charCodeAt(i + 1) : 0
      if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
        i++
        crc = step(step(crc, 0xf0 | (code >> 18)), 0x80 | ((code >> 12) & 0x3f))
        crc = step(step(crc, 0x80 | ((code >> 6) & 0x3f)), 0x80 | (code & 0x3f))
        continue
      }
      code = 0xfffd
    }
    crc = step(step(step(crc, 0xe0 | (code >> 12)), 0x80 | ((code >> 6) & 0x3f)), 0x80 | (code & 0x3f))
  }
  return crc
}

/**
 * The hash slot of a key, as Redis Cluster computes it: the CRC16 of the key's hash tag (what lies
 * between its first `{` and the first `}` after it, when that is not empty), else of the whole key,
 * modulo 16384.
 */
export const keySlot = (key: string): number => {
  const open = key.indexOf("{")
  if (open !== -1) {
    const close = key.indexOf("}", open + 1)
    if (close > open + 1) return crc16(key, open + 1, close) % slotCount
  }
  return crc16(key) % slotCount
}

const refuse = (message: string): never => {
  throw new RangeError(message)
}

/** `partitions`, checked: an integer from 1 to {@link maxPartitions}. */
export const requirePartitions = (partitions: number, owner: string): number =>
  Number.isSafeInteger(partitions) && partitions >= 1 && partitions <= maxPartitions
    ? partitions
    : refuse(`${owner} option partitions must be an integer from 1 to ${maxPartitions}, got ${partitions}`)

/** The slots partition `partition` of `partitions` hashes into: its share of the 16384, less a margin at each end. */
export const slotRange = (
  partition: number,
  partitions: number
): { readonly first: number; readonly last: number } => {
  const lo = Math.floor((partition * slotCount) / partitions)
  const hi = Math.floor(((partition + 1) * slotCount) / partitions) - 1
  return { first: lo + margin, last: hi - margin }
}

/** The slot of the hash tag `String(t)`, for every `t` looked at so far. */
const slotsOfTags: Array<number> = []
const slotOfTag = (t: number): number => {
  while (slotsOfTags.length <= t) slotsOfTags.push(crc16(String(slotsOfTags.length)) % slotCount)
  return slotsOfTags[t]!
}

/** The hash tags of each partition count asked for so far: the search runs once a count. */
const tagsByCount = new Map<number, ReadonlyArray<number>>()

/**
 * The hash tag of each partition of `partitions` (2 or more): for partition i, the smallest number
 * whose slot (as a tag, in decimal) lies in {@link slotRange}`(i, partitions)`. One scan fills them
 * all (about 10,000 numbers for 1,024 partitions).
 */
export const tags = (partitions: number): ReadonlyArray<number> => {
  const known = tagsByCount.get(partitions)
  if (known !== undefined) return known
  const found = new Array<number>(partitions).fill(-1)
  let missing = partitions
  // CRC16 spreads decimal numbers over the slots: every range of 1,024 partitions is hit well
  // before a million (each count from 1 to 1,024 is tested).
  for (let t = 0; missing > 0 && t < 1_000_000; t++) {
    const slot = slotOfTag(t)
    const partition = Math.floor((slot * partitions) / slotCount)
    const { first, last } = slotRange(partition, partitions)
    if (found[partition] === -1 && slot >= first && slot <= last) {
      found[partition] = t
      missing--
    }
  }
  if (missing > 0) throw new Error(`no hash tag found for some partitions of ${partitions}`)
  tagsByCount.set(partitions, found)
  return found
}

/**
 * The keys of a stream's partitions: the stream's own name for one partition (unchanged), else
 * `<stream>:p<i>/<N>:{<tag>}` for each (`maf:events:p0/3:{5}`: partition 0 of 3, hash tag 5). A partitioned stream's name may not hold `{` or `}` (a hash
 * tag of its own would put every partition on one slot).
 */
export const keys = (stream: string, partitions: number, owner = "Partitions"): ReadonlyArray<string> => {
  requirePartitions(partitions, owner)
  if (partitions === 1) return [stream]
  if (stream === "") refuse(`${owner}: a partitioned stream needs a name`)
  if (stream.includes("{") || stream.includes("}")) {
    refuse(
      `${owner}: a partitioned stream's name may not hold "{" or "}" (got ${JSON.stringify(stream)}): the partitions' own hash tags spread them over the slots`
    )
  }
  return tags(partitions).map((tag, i) => `${stream}:p${i}/${partitions}:{${tag}}`)
}

/** The partition a routing key goes to: the CRC16/XMODEM of its UTF-8 bytes, modulo `partitions`. */
export const partitionOf = (routingKey: string, partitions: number): number => crc16(routingKey) % partitions

/** The default routing key of an event: its arena (`""` when it has none: partition 0). */
export const byArena = (event: { readonly arena?: string | undefined }): string => event.arena ?? ""
