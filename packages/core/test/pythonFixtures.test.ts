/**
 * Wire compatibility with the Python reference: every entry of `fixtures/python-wire.json` (written
 * by the reference's real `EventBus.publish`, or by raw `XADD` for shapes it cannot write; see
 * `scripts/fixtures/README.md`) decodes to the variant the fixture expects, and what our encoder
 * writes for the same event is, as JSON, what the reference writes.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Event, ReadResult, WireCodec } from "@maf/events"
import { DateTime, Option } from "effect"

interface EventExpect {
  readonly variant: "event"
  readonly kind: string
  readonly arena: string
  readonly arena_id: string
  readonly phase: string
  readonly ts: string
  readonly ts_epoch_micros?: string
  readonly correlation_id: string
  readonly payload: { readonly [key: string]: unknown }
}

interface UnknownExpect {
  readonly variant: "unknown"
  readonly kind: string
}

interface MalformedExpect {
  readonly variant: "malformed"
  readonly reason: ReadResult.MalformedReason
}

interface FixtureCase<X = EventExpect | UnknownExpect | MalformedExpect> {
  readonly name: string
  readonly description: string
  readonly stream_id: string
  readonly fields: ReadonlyArray<string>
  readonly fields_base64?: ReadonlyArray<string>
  readonly expect: X
}

const cases = JSON.parse(
  readFileSync(new URL("./fixtures/python-wire.json", import.meta.url), "utf8")
) as ReadonlyArray<FixtureCase>

const eventCases = cases.filter((c): c is FixtureCase<EventExpect> => c.expect.variant === "event")
const unknownCases = cases.filter((c): c is FixtureCase<UnknownExpect> => c.expect.variant === "unknown")
const malformedCases = cases.filter(
  (c): c is FixtureCase<MalformedExpect> => c.expect.variant === "malformed"
)

/** The fixture's `{"$float": "NaN" | "Infinity" | "-Infinity"}` markers, back to the numbers they stand for. */
const reviveFloats = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(reviveFloats)
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
    if (entries.length === 1 && entries[0]![0] === "$float") return Number(entries[0]![1])
    const out: Record<string, unknown> = {}
    for (const [key, member] of entries) {
      Object.defineProperty(out, key, {
        value: reviveFloats(member),
        enumerable: true,
        writable: true,
        configurable: true
      })
    }
    return out
  }
  return value
}

/** The value of the last complete `data` field, as Redis keeps them and redis-py folds them. */
const lastDataField = (fields: ReadonlyArray<string>): string | undefined => {
  let raw: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === "data") raw = fields[i + 1]
  return raw
}

const decodeCase = (c: FixtureCase) => WireCodec.decode(c.stream_id, c.fields)

/** The event a fixture case expects, as our model holds it. */
const expectedEvent = (e: EventExpect): Event.Any => ({
  kind: e.kind,
  arena: e.arena,
  arenaId: e.arena_id,
  phase: e.phase,
  ts: e.ts,
  correlationId: e.correlation_id,
  payload: reviveFloats(e.payload)
})

const envelopeKeys = [...WireCodec.bodyKeys]

/** Entries shaped as the reference's `publish` writes them: one `data` field, all 8 keys in its order. */
const isReferenceShaped = (c: FixtureCase): boolean => {
  if (
    c.fields.length !== 2 ||
    c.fields[0] !== "data" ||
    !c.fields[1]!.startsWith('{"schema_version": "1", ')
  ) {
    return false
  }
  // Only the keys matter here: bare NaN/Infinity tokens (not JSON) are replaced before parsing.
  const body = JSON.parse(c.fields[1]!.replace(/-?\b(?:NaN|Infinity)\b/g, "null"))
  return JSON.stringify(Object.keys(body)) === JSON.stringify(envelopeKeys)
}

describe("the Python fixtures", () => {
  it("cover all 19 canonical kinds with event cases, and every variant", () => {
    expect(new Set(eventCases.map((c) => c.expect.kind))).toEqual(new Set(Event.canonicalKinds))
    expect(cases).toHaveLength(69)
    expect(unknownCases.length).toBeGreaterThan(0)
    expect(new Set(malformedCases.map((c) => c.expect.reason))).toEqual(
      new Set(["no_data_field", "json_decode", "schema"])
    )
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length)
  })

  it("record the decision that a body without payload is an event with payload {}", () => {
    const missing = cases.find((c) => c.name === "envelope/missing-payload")
    expect(missing?.expect).toMatchObject({ variant: "event", payload: {} })
    expect(JSON.parse(lastDataField(missing!.fields)!)).not.toHaveProperty("payload")
  })

  it("hold in fields the lossy UTF-8 decoding of the exact bytes (U+FFFD per invalid sequence)", () => {
    const withBytes = cases.filter((c) => c.fields_base64 !== undefined)
    expect(withBytes.map((c) => c.name)).toEqual(["wire/invalid-utf8"])
    for (const c of withBytes) {
      const decoded = c.fields_base64!.map((b64) =>
        new TextDecoder("utf-8").decode(Buffer.from(b64, "base64"))
      )
      expect(decoded).toEqual(c.fields)
    }
  })
})

describe("WireCodec.decode of entries the Python reference wrote", () => {
  describe("event cases decode to KnownEvent with the envelope exactly and the payload deep-equal", () => {
    it.each(eventCases)("$name", (c) => {
      const result = decodeCase(c)
      expect(result._tag).toBe("KnownEvent")
      if (result._tag !== "KnownEvent") return
      expect(result.streamId).toBe(c.stream_id)
      const { event } = result
      expect(event.kind).toBe(c.expect.kind)
      expect(event.arena).toBe(c.expect.arena)
      expect(event.arenaId).toBe(c.expect.arena_id)
      expect(event.phase).toBe(c.expect.phase)
      expect(event.ts).toBe(c.expect.ts)
      expect(event.correlationId).toBe(c.expect.correlation_id)
      expect(event.payload).toEqual(reviveFloats(c.expect.payload))
      expect(event).toEqual(expectedEvent(c.expect))
    })
  })

  describe("Event.dateTime of an event's ts is its instant, to the millisecond", () => {
    it.each(eventCases.filter((c) => c.expect.ts_epoch_micros !== undefined))("$name", (c) => {
      const result = decodeCase(c)
      if (result._tag !== "KnownEvent") throw new Error(`expected KnownEvent, got ${result._tag}`)
      const instant = Event.dateTime(result.event).pipe(Option.map(DateTime.toEpochMillis))
      expect(instant).toEqual(Option.some(Number(BigInt(c.expect.ts_epoch_micros!) / 1000n)))
    })
  })

  it("generated correlation ids are 32 lowercase hex characters", () => {
    for (const name of ["envelope/all-defaults", "envelope/empty-correlation-id"]) {
      const result = decodeCase(cases.find((c) => c.name === name)!)
      if (result._tag !== "KnownEvent") throw new Error(`${name}: expected KnownEvent, got ${result._tag}`)
      expect(result.event.correlationId).toMatch(/^[0-9a-f]{32}$/)
    }
  })

  describe("unknown kinds decode to UnknownKind with the raw kind and the whole body", () => {
    it.each(unknownCases)("$name", (c) => {
      expect(decodeCase(c)).toEqual(
        ReadResult.unknownKind(c.stream_id, c.expect.kind, JSON.parse(lastDataField(c.fields)!))
      )
    })
  })

  describe("malformed entries decode to Malformed with the reason, the raw text and the fields", () => {
    it.each(malformedCases)("$name", (c) => {
      const result = decodeCase(c)
      expect(result).toMatchObject({
        _tag: "Malformed",
        streamId: c.stream_id,
        reason: c.expect.reason,
        raw: lastDataField(c.fields),
        fields: c.fields
      })
      if (result._tag === "Malformed") expect(result.message).not.toBe("")
    })
  })
})

describe("WireCodec.encode writes what the reference writes", () => {
  // Where we differ on purpose: JSON has no NaN/±Infinity, so we write them as strings (the reference
  // writes bare tokens that strict JSON readers reject), and -0 is written as 0.
  const deliberateDifferences = new Set(["payload/non-finite-floats", "payload/floats"])
  const comparable = eventCases.filter((c) => isReferenceShaped(c) && !deliberateDifferences.has(c.name))

  const compare = (c: FixtureCase<EventExpect>) => {
    const ours = JSON.parse(WireCodec.encode(expectedEvent(c.expect)))
    const theirs = JSON.parse(c.fields[1]!)
    expect(ours).toEqual(theirs)
    expect(Object.keys(ours)).toEqual(envelopeKeys)
    // Same text once both are normalised by JSON.stringify: same values, same key order, all the way down.
    expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs))
  }

  it("compares most of the reference-written event cases", () => {
    expect(comparable.length).toBeGreaterThanOrEqual(42)
  })

  describe("the same body, as parsed JSON, with the keys in the reference's order", () => {
    it.each(comparable)("$name", compare)
  })

  it("writes NaN, Infinity and -Infinity as strings where the reference writes bare tokens", () => {
    const c = eventCases.find((x) => x.name === "payload/non-finite-floats")!
    expect(c.fields[1]).toContain('"nan": NaN, "inf": Infinity, "ninf": -Infinity')
    const ours = JSON.parse(WireCodec.encode(expectedEvent(c.expect)))
    expect(ours.payload).toEqual({
      nan: "NaN",
      inf: "Infinity",
      ninf: "-Infinity",
      list: ["NaN", "Infinity", "-Infinity", 1.5],
      nested: { score: "NaN" },
      string_nan: "NaN"
    })
  })

  it("writes -0.0 as 0, and every other float of the reference's as the same number", () => {
    const c = eventCases.find((x) => x.name === "payload/floats")!
    const ours = JSON.parse(WireCodec.encode(expectedEvent(c.expect)))
    const theirs = JSON.parse(c.fields[1]!)
    expect(Object.is(theirs.payload.neg_zero, -0)).toBe(true)
    expect(ours.payload).toEqual({ ...theirs.payload, neg_zero: 0 })
  })
})
