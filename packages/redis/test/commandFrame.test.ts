import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { Command } from "ioredis"
import { encodeCommand, FramedCommand } from "../src/internal/commandFrame.js"

/** The bytes ioredis itself sends for the command (a string, encoded as the socket does: UTF-8). */
const ioredisFrame = (name: string, args: ReadonlyArray<string>): Buffer => {
  const written = new Command(name, [...args]).toWritable({})
  return typeof written === "string" ? Buffer.from(written, "utf8") : written
}

// Texts whose UTF-8 length has more digits than their length in UTF-16 units (the header moves),
// texts of one byte a unit, and anything at all (lone surrogates included).
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

describe("FramedCommand", () => {
  it("is written as encodeCommand writes its name and arguments", () => {
    const command = new FramedCommand("evalsha", ["sha", "1", "key", "100", ["a", "b€"]])
    expect(command.toWritable().equals(ioredisFrame("evalsha", ["sha", "1", "key", "100", "a", "b€"]))).toBe(
      true
    )
  })
})
