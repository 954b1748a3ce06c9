import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { Command } from "ioredis"
import { encodeCommand, FramedCommand } from "../src/internal/commandFrame.js"

/** The bytes ioredis itself sends for the command (a string, encoded as the socket does: UTF-8). */
const ioredisFrame = (name: string, args: ReadonlyArray<string>): Buffer => {
  const written = new Command(name, [...args]).toWritable({})
  return typeof written === "string" ? Buffer.from(written, "utf8") : written
}

// Any code points, texts of one to four bytes a unit (lone surrogates included: UTF-8 writes them
// as U+FFFD), texts whose UTF-8 length has more digits than their length in UTF-16 units (the header
// moves), and texts of one byte a unit.
const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: fc.constantFrom("a", "é", "€", "𝄞", "\u0000", "\ud800"), maxLength: 400 }),
  fc.nat({ max: 1200 }).map((n) => "x".repeat(n)),
  fc.constantFrom("", "€".repeat(4), "€".repeat(34), "é".repeat(50), "€".repeat(334))
)

describe("encodeCommand", () => {
  it.prop(
    "writes the bytes ioredis writes for the same command",
    { name: fc.constantFrom("eval", "evalsha", "xadd"), args: fc.array(text, { maxLength: 30 }) },
    ({ name, args }) => {
      expect(encodeCommand(name, args).equals(ioredisFrame(name, args))).toBe(true)
    },
    { fastCheck: { numRuns: 500 } }
  )

  it("grows the frame when the arguments take three bytes a unit, past the room made for them", () => {
    // 3.6 MB of UTF-8 where 1.2 MB was allotted.
    const args = Array.from({ length: 300 }, (_, i) => "€".repeat(4000 + i))
    const frame = encodeCommand("evalsha", args)
    expect(frame.equals(ioredisFrame("evalsha", args))).toBe(true)
  })

  it("grows a frame begun in the middle of a slab, leaving the frames before and after it intact", () => {
    // 1,030 texts of 1,000 bytes need a room just under a slab (1 MB): the second such frame starts
    // a fresh slab whatever was left, and leaves a known rest of it.
    const filler = Array.from({ length: 1030 }, () => "x".repeat(1000))
    encodeCommand("evalsha", filler)
    const before = encodeCommand("evalsha", filler)
    const rest = (1 << 20) - before.length
    // Six texts of 1,000 units are given room for one byte a unit (plus one at three), which the rest
    // holds; at three bytes a unit they take more, and the frame moves to a buffer of its own.
    const multiByte = Array.from({ length: 6 }, () => "€".repeat(1000))
    expect(rest).toBeGreaterThan(6 * 1016 + 2000 + 64)
    expect(rest).toBeLessThan(6 * 3000)
    const grown = encodeCommand("evalsha", multiByte)
    const after = encodeCommand("evalsha", ["a", "bc"])
    expect(grown.equals(ioredisFrame("evalsha", multiByte))).toBe(true)
    expect(before.equals(ioredisFrame("evalsha", filler))).toBe(true)
    expect(after.equals(ioredisFrame("evalsha", ["a", "bc"]))).toBe(true)
  })

  it("writes frames larger than a slab, and the frames after it intact", () => {
    const large = ["y".repeat(3 << 20)]
    const small = ["a", "bc"]
    const first = encodeCommand("evalsha", large)
    const second = encodeCommand("evalsha", small)
    const third = encodeCommand("evalsha", small)
    expect(first.equals(ioredisFrame("evalsha", large))).toBe(true)
    expect(second.equals(ioredisFrame("evalsha", small))).toBe(true)
    expect(third.equals(second)).toBe(true)
  })

  it("never hands out the same bytes twice: frames cut from one slab do not overlap", () => {
    const frames = Array.from({ length: 50 }, (_, i) => encodeCommand("evalsha", [`${i}`.repeat(i * 100)]))
    frames.forEach((frame, i) => {
      expect(frame.equals(ioredisFrame("evalsha", [`${i}`.repeat(i * 100)]))).toBe(true)
    })
  })
})

const bytesOf = (written: string | Buffer): Buffer =>
  typeof written === "string" ? Buffer.from(written, "utf8") : written

describe("FramedCommand", () => {
  it("is written as encodeCommand writes its name and arguments", () => {
    const command = new FramedCommand("evalsha", ["sha", "1", "key", "100", ["a", "b€"]])
    const expected = encodeCommand("evalsha", ["sha", "1", "key", "100", "a", "b€"])
    expect(bytesOf(command.toWritable({})).equals(expected)).toBe(true)
  })

  it("is written as ioredis writes it when an argument is not a string", () => {
    const args = ["sha", Buffer.from("b€"), "c"]
    const written = bytesOf(new FramedCommand("evalsha", args).toWritable({}))
    expect(written.equals(bytesOf(new Command("evalsha", args).toWritable({})))).toBe(true)
  })
})
