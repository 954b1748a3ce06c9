/**
 * What a cursor takes as the reply of its own read, and what it takes for a connection out of step
 * (another command's reply handed to the read): a failed read, its cursor opened anew.
 */
import { describe, expect, it } from "@effect/vitest"
import { isReadOf, isReplyOf, isStreamId, isStreamInfo, outOfStep } from "../src/internal/replyShape.js"

describe("reply shapes", () => {
  it("a read of the stream: none, or the stream's entries; anything else is not", () => {
    expect(isReadOf(null, "s")).toBe(true)
    expect(isReadOf([["s", [["1-0", ["data", "{}"]]]]], "s")).toBe(true)
    expect(isReadOf([["s", []]], "s")).toBe(true)
    // Another command's replies: CLIENT SETNAME's, an XADD's id, XINFO's fields, another stream's read.
    expect(isReadOf("OK", "s")).toBe(false)
    expect(isReadOf("1796631389734-1", "s")).toBe(false)
    expect(isReadOf(["length", 3, "radix-tree-keys", 1], "s")).toBe(false)
    expect(isReadOf([["other", []]], "s")).toBe(false)
    expect(isReadOf([["s", "x"]], "s")).toBe(false)
    expect(isReadOf(undefined, "s")).toBe(false)
  })

  it("a stream's info: fields, length first", () => {
    expect(isStreamInfo(["length", 0, "radix-tree-keys", 0])).toBe(true)
    expect(isStreamInfo(null)).toBe(false)
    expect(isStreamInfo([["s", []]])).toBe(false)
    expect(isStreamInfo("OK")).toBe(false)
  })

  it("a script's reply: a list of its parts", () => {
    expect(isReplyOf(["0-0", [], [], []], 4)).toBe(true)
    expect(isReplyOf([[], []], 4)).toBe(false)
    expect(isReplyOf("PONG", 2)).toBe(false)
  })

  it("an XADD's reply: an entry id", () => {
    expect(isStreamId("1796631389734-1")).toBe(true)
    expect(isStreamId("OK")).toBe(false)
    expect(isStreamId(["", "1-0", "7"])).toBe(false)
    expect(isStreamId(3)).toBe(false)
  })

  it("a write answered so has an unknown outcome (Timeout), nothing known written", () => {
    const error = outOfStep("XADD", 3, "write")
    expect(error.reason).toBe("Timeout")
    expect(error.written).toBe(0)
    expect(error.message).toBe(
      "XADD was answered with another command's reply (3): the connection is out of step, the outcome unknown"
    )
  })

  it("the failure says which command got which reply, shortened, as Unavailable", () => {
    const error = outOfStep("XREAD", "x".repeat(100))
    expect(error.reason).toBe("Unavailable")
    expect(error.message).toMatch(
      /^XREAD was answered with another command's reply \("x{36}\.\.\.\): the connection is out of step/
    )
  })
})
