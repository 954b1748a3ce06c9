import { describe, expect, it } from "@effect/vitest"
import { type Event, ReadResult } from "@maf/events"
import * as Format from "../src/Format.js"

const event: Event.Canonical = {
  kind: "llm.call",
  arena: "trading",
  arenaId: "run-7",
  phase: "analysis",
  ts: "2026-05-14T11:22:33.123456+00:00",
  correlationId: "0123456789abcdef0123456789abcdef",
  payload: { model: "gpt-4o-mini", tokens: 812, note: "two words" }
}
const wireKeys = ["schema_version", "kind", "arena", "arena_id", "phase", "ts", "correlation_id", "payload"]
const ansi = new RegExp(String.fromCharCode(27))

describe("Format.jsonLine", () => {
  it("a known event: stream_id, variant, then the wire body in the reference's key order", () => {
    const line = JSON.parse(Format.jsonLine(ReadResult.knownEvent("1-0", event)))
    expect(Object.keys(line)).toEqual(["stream_id", "variant", ...wireKeys])
    expect(line).toEqual({
      stream_id: "1-0",
      variant: "event",
      schema_version: "1",
      kind: "llm.call",
      arena: "trading",
      arena_id: "run-7",
      phase: "analysis",
      ts: "2026-05-14T11:22:33.123456+00:00",
      correlation_id: "0123456789abcdef0123456789abcdef",
      payload: { model: "gpt-4o-mini", tokens: 812, note: "two words" }
    })
  })

  it("a known event with the entry's body: its keys exactly as the entry had them", () => {
    const body = { ts: "2026-05-14T11:22:33Z", kind: "llm.call", extra: 1 }
    const line = JSON.parse(Format.jsonLine(ReadResult.knownEvent("1-1", event), body))
    expect(Object.keys(line)).toEqual(["stream_id", "variant", "ts", "kind", "extra"])
    expect(line.extra).toBe(1)
  })

  it("an unknown kind: variant unknown and the raw body's keys; stream_id and variant are never overwritten", () => {
    const body = {
      schema_version: "1",
      kind: "trade.fill",
      arena: "t",
      payload: { qty: 1 },
      variant: "x",
      stream_id: "y"
    }
    const line = JSON.parse(Format.jsonLine(ReadResult.unknownKind("2-0", "trade.fill", body)))
    expect(line).toEqual({
      stream_id: "2-0",
      variant: "unknown",
      schema_version: "1",
      kind: "trade.fill",
      arena: "t",
      payload: { qty: 1 }
    })
    expect(Object.keys(line)).toEqual(["stream_id", "variant", "schema_version", "kind", "arena", "payload"])
  })

  it("a malformed entry: stream_id, variant, reason, raw (null without a data field)", () => {
    for (const reason of ["json_decode", "schema"] as const) {
      const line = JSON.parse(
        Format.jsonLine(ReadResult.malformed("3-0", reason, "bad", "{oops", ["data", "{oops"]))
      )
      expect(line).toEqual({ stream_id: "3-0", variant: "malformed", reason, raw: "{oops" })
      expect(Object.keys(line)).toEqual(["stream_id", "variant", "reason", "raw"])
    }
    const none = JSON.parse(
      Format.jsonLine(ReadResult.malformed("3-1", "no_data_field", "none", undefined, ["x", "1"]))
    )
    expect(none).toEqual({ stream_id: "3-1", variant: "malformed", reason: "no_data_field", raw: null })
  })

  it("a gap: stream_id of the next entry, variant, after, lost (a number or null)", () => {
    const counted = JSON.parse(Format.jsonLine(ReadResult.gap("9-0", "4-0", 120)))
    expect(counted).toEqual({ stream_id: "9-0", variant: "gap", after: "4-0", lost: 120 })
    expect(Object.keys(counted)).toEqual(["stream_id", "variant", "after", "lost"])
    expect(JSON.parse(Format.jsonLine(ReadResult.gap("9-0", "4-0", undefined))).lost).toBeNull()
  })

  it("is one line", () => {
    const multiline = { ...event, payload: { text: "a\nb" } }
    expect(Format.jsonLine(ReadResult.knownEvent("1-0", multiline))).not.toContain("\n")
  })
})

describe("Format.pretty", () => {
  const plain = { color: false }

  it("shows the stream id, the time of day, kind, arena, phase and a readable payload", () => {
    const line = Format.pretty(ReadResult.knownEvent("1715680953123-0", event), plain)
    for (const part of ["1715680953123-0", "11:22:33.123", "llm.call", "trading", "analysis"]) {
      expect(line).toContain(part)
    }
    expect(line).toContain('model=gpt-4o-mini tokens=812 note="two words"')
    expect(line).not.toMatch(ansi)
  })

  it("aligns the columns", () => {
    const a = Format.pretty(ReadResult.knownEvent("1-0", event), plain)
    const b = Format.pretty(
      ReadResult.knownEvent("1-1", { ...event, kind: "arena.start", arena: "x" }),
      plain
    )
    expect(a.indexOf("analysis")).toBe(b.indexOf("analysis"))
  })

  it("marks unknown kinds, malformed entries and gaps", () => {
    const unknown = Format.pretty(
      ReadResult.unknownKind("2-0", "trade.fill", { kind: "trade.fill", ts: event.ts, payload: { qty: 3 } }),
      plain
    )
    expect(unknown).toContain("?trade.fill")
    expect(unknown).toContain("qty=3")
    const malformed = Format.pretty(
      ReadResult.malformed("3-0", "json_decode", "Unexpected token", "{oops", []),
      plain
    )
    expect(malformed).toContain("malformed (json_decode)")
    expect(malformed).toContain('raw="{oops"')
    expect(Format.pretty(ReadResult.gap("9-0", "4-0", 120), plain)).toContain("gap: 120 entries after 4-0")
    expect(Format.pretty(ReadResult.gap("9-0", "4-0", undefined), plain)).toContain("an unknown number of")
  })

  it("colours by kind family and variant when asked, and only then", () => {
    const coloured = Format.pretty(ReadResult.knownEvent("1-0", event), { color: true })
    expect(coloured).toMatch(ansi)
    expect(coloured).toContain(`\u001b[${Format.kindColor("llm.call")}m`)
    expect(Format.kindColor("llm.error")).toBe("1;31")
    expect(Format.kindColor("llm.call")).not.toBe(Format.kindColor("agent.signal"))
    for (const result of [
      ReadResult.unknownKind("2-0", "x.y", { kind: "x.y" }),
      ReadResult.malformed("3-0", "schema", "m", "{}", []),
      ReadResult.gap("9-0", "4-0", 1)
    ]) {
      expect(Format.pretty(result, { color: true })).toMatch(ansi)
      expect(Format.pretty(result, plain)).not.toMatch(ansi)
    }
  })

  it("cuts the payload preview to the terminal's width", () => {
    const long = { ...event, payload: { text: "x".repeat(500) } }
    const line = Format.pretty(ReadResult.knownEvent("1-0", long), { color: false, width: 120 })
    expect(line.length).toBeLessThanOrEqual(120)
    expect(line.endsWith("…")).toBe(true)
  })

  it("colours only on a terminal, never with NO_COLOR, always with FORCE_COLOR", () => {
    expect(Format.useColor({}, true)).toBe(true)
    expect(Format.useColor({}, false)).toBe(false)
    expect(Format.useColor({ NO_COLOR: "1" }, true)).toBe(false)
    expect(Format.useColor({ NO_COLOR: "" }, true)).toBe(true)
    expect(Format.useColor({ FORCE_COLOR: "1" }, false)).toBe(true)
    expect(Format.useColor({ FORCE_COLOR: "0" }, false)).toBe(false)
    expect(Format.useColor({ NO_COLOR: "1", FORCE_COLOR: "1" }, true)).toBe(false)
  })

  it("reads times in any ISO-8601 form, as UTC", () => {
    expect(Format.timeOfDay("2026-05-14T13:22:33.5+02:00")).toBe("11:22:33.500")
    expect(Format.timeOfDay("not a time")).toBe("not a time")
  })
})
