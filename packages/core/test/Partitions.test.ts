/**
 * The naming and routing scheme of partitioned streams (`Partitions`), by tables: Redis' key slots
 * (against `CLUSTER KEYSLOT` of a cluster-mode redis-server 7.0.15), the keys of N partitions (one
 * slot range each, hash tags shared by their dead-letter keys, the stream's own key for N = 1), the
 * spread over the masters of a cluster made by `redis-cli --cluster create`, and routing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Partitions } from "@maf/events"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import { crc16, tags } from "../src/internal/partitions.js"

/** CRC16/XMODEM of bytes, a bit at a time, as the algorithm is defined (no table). */
const crc16OfBytes = (bytes: Uint8Array): number => {
  let crc = 0
  for (const byte of bytes) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

/** The UTF-8 bytes ioredis sends for a text (a lone surrogate as U+FFFD, as Node writes it). */
const utf8 = (text: string): Uint8Array => Buffer.from(text, "utf8")

/** UTF-16 code units anywhere, the edges of each UTF-8 length and of the surrogates most often. */
const codeUnit = fc
  .oneof(
    fc.constantFrom(
      0x00,
      0x7f,
      0x80,
      0x7ff,
      0x800,
      0xd7ff,
      0xd800,
      0xdbff,
      0xdc00,
      0xdfff,
      0xe000,
      0xfffd,
      0xffff,
      0x7b,
      0x7d
    ),
    fc.integer({ min: 0, max: 0xffff })
  )
  .map((code) => String.fromCharCode(code))

/** Texts of code units, with whole surrogate pairs among them. */
const anyText = fc
  .array(fc.oneof(codeUnit, fc.constantFrom("😀", "𝄞", "{", "}", "a")), { maxLength: 12 })
  .map((units) => units.join(""))

/** The hash tag rule as Redis' cluster specification states it: between the first `{` and the first `}` after it, if not empty. */
const hashed = (key: string): string => {
  const tag = /^[^{]*\{([^}]*)\}/.exec(key)?.[1]
  return tag === undefined || tag === "" ? key : tag
}

/** Keys and the slot `redis-cli -p <cluster node> CLUSTER KEYSLOT <key>` answered for each. */
const keySlots: ReadonlyArray<readonly [string, number]> = [
  ["123456789", 12739],
  ["foo", 12182],
  ["somekey", 11058],
  ["foo{hash_tag}", 2515],
  ["bar{hash_tag}", 2515],
  ["{user1000}.following", 3443],
  ["foo{}{bar}", 8363],
  ["foo{{bar}}zap", 4015],
  ["foo{bar}{zap}", 5061],
  ["", 0],
  ["héllo", 11061],
  ["日本語", 12788],
  ["😀", 2959],
  ["maf:events", 5140],
  ["maf:events:p0/3:{3}", 1584],
  ["maf:events:p0/3:{3}:dead", 1584],
  ["trading", 6731],
  ["{", 4092],
  ["}", 12090],
  ["{}", 15257],
  ["a{b", 13340],
  ["a}b{c}", 7365]
]

/** The slot ranges of `masters` masters as `redis-cli --cluster create` assigns them (redis-cli.c). */
const redisCliSlots = (masters: number): ReadonlyArray<readonly [number, number]> => {
  const perNode = Math.fround(16384 / masters)
  const ranges: Array<readonly [number, number]> = []
  let first = 0
  let cursor = 0
  for (let i = 0; i < masters; i++) {
    let last = Math.round(cursor + perNode - 1)
    if (last > 16384 || i === masters - 1) last = 16383
    if (last < first) last = first
    ranges.push([first, last])
    first = last + 1
    cursor = Math.fround(cursor + perNode)
  }
  return ranges
}

const masterOf = (slot: number, ranges: ReadonlyArray<readonly [number, number]>) =>
  ranges.findIndex(([first, last]) => slot >= first && slot <= last)

describe("Partitions", () => {
  it.each(keySlots)("the slot of %j is %i, as CLUSTER KEYSLOT answers", (key, slot) => {
    expect(Partitions.keySlot(key)).toBe(slot)
  })

  it("CRC16/XMODEM of 123456789 is 0x31C3 (the check value of the algorithm)", () => {
    expect(Partitions.crc16("123456789")).toBe(0x31c3)
  })

  it.prop(
    "the CRC16 of any text, or of a part of it, is that of its UTF-8 bytes (a lone surrogate as U+FFFD)",
    { text: anyText, a: fc.nat(), b: fc.nat() },
    ({ text, a, b }) => {
      expect(Partitions.crc16(text)).toBe(crc16OfBytes(utf8(text)))
      const from = Math.min(a, b) % (text.length + 1)
      const to = from + (Math.max(a, b) % (text.length - from + 1))
      expect(crc16(text, from, to)).toBe(crc16OfBytes(utf8(text.slice(from, to))))
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "the slot of any key is the CRC16 of its hash tag (or of the key) modulo 16384",
    { key: fc.array(fc.constantFrom("{", "}", "a", "b", "é"), { maxLength: 8 }).map((cs) => cs.join("")) },
    ({ key }) => {
      expect(Partitions.keySlot(key)).toBe(crc16OfBytes(utf8(hashed(key))) % 16384)
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it("one partition is the stream's own key, unchanged (wire compatible with the Python reference)", () => {
    expect(Partitions.keys("maf:events", 1)).toEqual(["maf:events"])
    expect(Partitions.keys("a{b}c", 1)).toEqual(["a{b}c"])
  })

  it("three partitions of maf:events: their names, slots and dead-letter keys", () => {
    const keys = Partitions.keys("maf:events", 3)
    expect(keys).toEqual(["maf:events:p0/3:{3}", "maf:events:p1/3:{1}", "maf:events:p2/3:{0}"])
    expect(keys.map(Partitions.keySlot)).toEqual([1584, 9842, 13907])
    expect(keys.map((key) => Partitions.keySlot(Partitions.deadLetterKey(key)))).toEqual([1584, 9842, 13907])
    expect(Partitions.deadLetterKey(keys[0]!)).toBe("maf:events:p0/3:{3}:dead")
  })

  it("every count from 2 to 1024: partition i hashes into the i-th slot range, keys distinct, name kept", () => {
    for (let n = 2; n <= Partitions.maxPartitions; n++) {
      const keys = Partitions.keys("s", n)
      expect(new Set(keys).size).toBe(n)
      keys.forEach((key, i) => {
        const { first, last } = Partitions.slotRange(i, n)
        const slot = Partitions.keySlot(key)
        if (!(slot >= first && slot <= last && key.startsWith(`s:p${i}/${n}:{`))) {
          expect.fail(`partition ${i} of ${n}: ${key} at slot ${slot}, outside ${first}-${last}`)
        }
      })
    }
  })

  it("each partition's hash tag is the smallest number whose slot lies in its range; found once a count", () => {
    for (const n of [2, 3, 7, 64, 1024]) {
      const found = tags(n)
      expect(tags(n)).toBe(found)
      found.forEach((tag, i) => {
        const { first, last } = Partitions.slotRange(i, n)
        const inRange = (t: number) => {
          const slot = Partitions.keySlot(String(t))
          return slot >= first && slot <= last
        }
        if (!inRange(tag)) expect.fail(`partition ${i} of ${n}: tag ${tag} outside ${first}-${last}`)
        for (let smaller = 0; smaller < tag; smaller++) {
          if (inRange(smaller)) expect.fail(`partition ${i} of ${n}: ${smaller} lies in range, before ${tag}`)
        }
      })
    }
  })

  it("the slot ranges cover the 16384 slots in order, two slots clear of each boundary", () => {
    expect(Partitions.slotRange(0, 3)).toEqual({ first: 2, last: 5458 })
    expect(Partitions.slotRange(1, 3)).toEqual({ first: 5463, last: 10919 })
    expect(Partitions.slotRange(2, 3)).toEqual({ first: 10924, last: 16381 })
    expect(Partitions.slotRange(1023, 1024)).toEqual({ first: 16370, last: 16381 })
  })

  it.each([
    [3, 3],
    [3, 6],
    [3, 12],
    [4, 8],
    [5, 10],
    [6, 6],
    [6, 12],
    [7, 21],
    [9, 27],
    [10, 100],
    [16, 64],
    [32, 1024]
  ])("%i masters made by redis-cli --cluster create, %i partitions: as many on each master", (masters, n) => {
    const ranges = redisCliSlots(masters)
    const perMaster = new Array<number>(masters).fill(0)
    for (const key of Partitions.keys("maf:events", n))
      perMaster[masterOf(Partitions.keySlot(key), ranges)]!++
    expect(perMaster).toEqual(new Array(masters).fill(n / masters))
  })

  it("the redis-cli layout of 3 masters is the one a cluster of this machine shows", () => {
    expect(redisCliSlots(3)).toEqual([
      [0, 5460],
      [5461, 10922],
      [10923, 16383]
    ])
  })

  it("names that cannot be partitioned are refused with the reason", () => {
    expect(() => Partitions.keys("a{b}c", 3)).toThrow(/may not hold "\{" or "\}"/)
    expect(() => Partitions.keys("a}", 2)).toThrow(RangeError)
    expect(() => Partitions.keys("", 2)).toThrow("Partitions: a partitioned stream needs a name")
    expect(() => Partitions.keys("s", 0)).toThrow(/integer from 1 to 1024, got 0/)
    expect(() => Partitions.keys("s", 1025)).toThrow(/got 1025/)
    expect(() => Partitions.keys("s", 2.5)).toThrow(/got 2.5/)
  })

  it("routing: the CRC16 of the routing key modulo the count; no arena is partition 0", () => {
    expect(Partitions.partitionOf("", 3)).toBe(0)
    expect(Partitions.partitionOf("anything", 1)).toBe(0)
    // Python's binascii.crc_hqx(b"trading", 0) is 39499: 39499 mod 3 = 1, mod 7 = 5.
    expect(Partitions.crc16("trading")).toBe(39499)
    expect(Partitions.partitionOf("trading", 3)).toBe(1)
    expect(Partitions.partitionOf("trading", 7)).toBe(5)
    expect(Partitions.byArena({ kind: "arena.start", arena: "trading" })).toBe("trading")
    expect(Partitions.byArena({ kind: "system.status" })).toBe("")
  })

  it("routing spreads many arenas about evenly", () => {
    const counts = [0, 0, 0]
    for (let i = 0; i < 3000; i++) counts[Partitions.partitionOf(`arena-${i}`, 3)]!++
    for (const count of counts) expect(count).toBeGreaterThan(900)
  })

  it("advance keeps the last id delivered of each partition; gaps and unpartitioned results leave it", () => {
    const known = { _tag: "KnownEvent", streamId: "5-0", partition: "s:p1/3:{1}", event: {} } as const
    let positions: Partitions.Positions = {}
    positions = Partitions.advance(positions, known as never)
    positions = Partitions.advance(positions, {
      _tag: "Gap",
      streamId: "9-0",
      after: "5-0",
      lost: 2,
      partition: "s:p1/3:{1}"
    })
    positions = Partitions.advance(positions, { ...known, streamId: "7-0", partition: undefined } as never)
    expect(positions).toEqual({ "s:p1/3:{1}": "5-0" })
  })

  it.effect("MAF_EVENTS_PARTITIONS: default 1, a count from 1 to 1024, anything else refused", () =>
    Effect.gen(function* () {
      const read = (env: Record<string, string>) =>
        Effect.either(Effect.withConfigProvider(Partitions.config, ConfigProvider.fromJson(env)))
      expect(yield* read({})).toEqual(Either.right(1))
      expect(yield* read({ MAF_EVENTS_PARTITIONS: "6" })).toEqual(Either.right(6))
      expect(yield* read({ MAF_EVENTS_PARTITIONS: "1" })).toEqual(Either.right(1))
      expect(yield* read({ MAF_EVENTS_PARTITIONS: "1024" })).toEqual(Either.right(1024))
      expect(Either.isLeft(yield* read({ MAF_EVENTS_PARTITIONS: "1025" }))).toBe(true)
      expect(Either.isLeft(yield* read({ MAF_EVENTS_PARTITIONS: "0" }))).toBe(true)
      expect(Either.isLeft(yield* read({ MAF_EVENTS_PARTITIONS: "2000" }))).toBe(true)
      expect(Either.isLeft(yield* read({ MAF_EVENTS_PARTITIONS: "three" }))).toBe(true)
    })
  )
})
