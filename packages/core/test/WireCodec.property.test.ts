/**
 * Properties of the wire codec, checked on generated values: events of every kind come back from
 * their wire form unchanged, the decoder turns anything at all into a `ReadResult` without
 * throwing, and the encoder writes a well-formed body for any payload at all.
 */
import { describe, expect, it } from "@effect/vitest"
import { Event, EventCatalog, EventKind, ReadResult, WireCodec } from "@maf/events"
import { Arbitrary, FastCheck as fc, Schema } from "effect"

const streamId = "1778757753123-0"
const envelopeKeys = [...WireCodec.bodyKeys]
const resultTags: ReadonlyArray<ReadResult.ReadResult["_tag"]> = [
  "KnownEvent",
  "UnknownKind",
  "Malformed",
  "Gap"
]

/** What every decode must give: one of the four variants, carrying the stream id it was given. */
const expectReadResult = (result: ReadResult.ReadResult, id: string = streamId) => {
  expect(resultTags).toContain(result._tag)
  expect(result.streamId).toBe(id)
}

/** The value of the last complete `data` field (a trailing name without a value does not count). */
const lastDataField = (fields: ReadonlyArray<string>): string | undefined => {
  let raw: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === "data") raw = fields[i + 1]
  return raw
}

/** The canonical kinds; each one's body decodes to its member of `Event.Canonical`. */
const canonicalKinds = Object.values(EventKind.canonical) as ReadonlyArray<{
  readonly kind: Event.CanonicalKind
  readonly body: Schema.Schema<Event.Canonical, any>
}>

const hasNegativeZero = (value: unknown): boolean =>
  Object.is(value, -0) ||
  (typeof value === "object" && value !== null && Object.values(value).some(hasNegativeZero))

/**
 * Events of a kind, from its body Schema. JSON has no -0 (the encoder writes it as 0), but the
 * payload arbitrary of `Event.PayloadSchema` (`fc.jsonValue()`) makes some: those events are left out
 * of the exact round trip.
 */
const eventsOf = <E extends Event.Any>(body: Schema.Schema<E, any>): fc.Arbitrary<E> =>
  Arbitrary.make(body).filter((event) => !hasNegativeZero(event.payload))

/** Any event of a canonical kind, from the kinds' own body Schemas. */
const canonicalEvent: fc.Arbitrary<Event.Canonical> = fc.oneof(
  ...canonicalKinds.map((kind) => eventsOf(kind.body))
)

/** A user kind whose payload's wire form differs from its type: renamed keys, numbers and dates as text. */
const TradeFill = EventKind.make(
  "trade.fill",
  Schema.Struct({
    symbol: Schema.String,
    qty: Schema.NumberFromString,
    filledAt: Schema.propertySignature(Schema.Date).pipe(Schema.fromKey("filled_at")),
    notional: Schema.BigInt,
    venue: Schema.OptionFromNullOr(Schema.String)
  })
)
/**
 * A codec of the canonical kinds and `TradeFill`, made in each test that uses it (a codec made as
 * the file loads is made before any test, and the mutation run could not tell which tests use it).
 */
const tradeCodec = () => WireCodec.make(EventCatalog.canonical.pipe(EventCatalog.add(TradeFill)))

describe("WireCodec: decode(encode(event)) is the event", () => {
  for (const kind of canonicalKinds) {
    it.prop(`for every ${kind.kind} event`, { event: eventsOf(kind.body) }, ({ event }) => {
      const result = WireCodec.decode(streamId, [WireCodec.dataField, WireCodec.encode(event)])
      expect(result).toEqual(ReadResult.knownEvent(streamId, event))
    })
  }

  it.prop(
    "for every event of a user kind whose payload Schema transforms (added with EventCatalog.add)",
    // NumberFromString writes -0 as "0" (String(-0)): eventsOf leaves -0 out here too.
    { event: eventsOf(TradeFill.body) },
    ({ event }) => {
      const codec = tradeCodec()
      const result = codec.decode(streamId, [WireCodec.dataField, codec.encode(event)])
      expect(result).toEqual(ReadResult.knownEvent(streamId, event))
    }
  )

  it.prop(
    "a typed payload is written in its Schema's encoded (wire) form",
    { event: Arbitrary.make(TradeFill.body) },
    ({ event }) => {
      const body = JSON.parse(tradeCodec().encode(event))
      expect(Object.keys(body)).toEqual(envelopeKeys)
      expect(body.payload).toEqual({
        symbol: event.payload.symbol,
        qty: String(event.payload.qty),
        filled_at: event.payload.filledAt.toISOString(),
        notional: String(event.payload.notional),
        venue: event.payload.venue._tag === "Some" ? event.payload.venue.value : null
      })
    }
  )

  it("a payload its own Schema cannot encode is still written, made JSON-safe as it is", () => {
    const event = {
      kind: "trade.fill",
      arena: "",
      arenaId: "",
      phase: "",
      ts: "2026-05-14T11:22:33.123456+00:00",
      correlationId: "0".repeat(32),
      payload: { symbol: 42, qty: 1n }
    }
    const codec = tradeCodec()
    expect(JSON.parse(codec.encode(event)).payload).toEqual({ symbol: 42, qty: "1" })
    expect(codec.decode(streamId, ["data", codec.encode(event)])).toMatchObject({
      _tag: "Malformed",
      reason: "schema",
      // Each issue by its path in the body.
      message: expect.stringMatching(/^payload\.symbol: Expected string, actual 42; payload: /)
    })
  })

  it("a payload whose Schema's transform throws is still written, as it is", () => {
    const Fragile = EventKind.make(
      "fragile",
      Schema.transform(Schema.Struct({ n: Schema.Number }), Schema.Struct({ n: Schema.Number }), {
        decode: (wire) => wire,
        encode: () => {
          throw new Error("cannot encode")
        }
      })
    )
    const codec = WireCodec.make(EventCatalog.canonical.pipe(EventCatalog.add(Fragile)))
    const text = codec.encode(Fragile.make({ payload: { n: 1 } }) as unknown as Event.Any)
    expect(JSON.parse(text).payload).toEqual({ n: 1 })
  })

  it("a canonical kind's payload goes through no Schema, in a codec with typed kinds too", () => {
    // A Schema of the payload would copy its own keys; JSON calls its toJSON.
    const payload = new (class {
      toJSON() {
        return { written: "by toJSON" }
      }
    })()
    const event = {
      kind: "agent.signal",
      arena: "",
      arenaId: "",
      phase: "",
      ts: "2026-05-14T11:22:33.123456+00:00",
      correlationId: "0".repeat(32),
      payload
    }
    expect(JSON.parse(tradeCodec().encode(event)).payload).toEqual({ written: "by toJSON" })
  })
})

/** Python's `json.dumps` with its defaults: `, ` and `: `, ASCII only, bare NaN/Infinity, -0.0. */
const pythonDumps = (value: unknown): string => {
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN"
    if (value === Number.POSITIVE_INFINITY) return "Infinity"
    if (value === Number.NEGATIVE_INFINITY) return "-Infinity"
    return Object.is(value, -0) ? "-0.0" : JSON.stringify(value)
  }
  if (typeof value === "string") {
    return JSON.stringify(value).replace(
      /[^\x20-\x7e]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`
    )
  }
  if (Array.isArray(value)) return `[${value.map(pythonDumps).join(", ")}]`
  if (typeof value === "object" && value !== null) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${pythonDumps(k)}: ${pythonDumps(v)}`)
      .join(", ")}}`
  }
  return JSON.stringify(value)
}

/** JSON values as Python can write them: any double, NaN, ±Infinity and -0 included. */
const { pythonValue } = fc.letrec((tie) => ({
  pythonValue: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.string({ unit: "binary" }),
    fc.array(tie("pythonValue"), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie("pythonValue"), { maxKeys: 4 })
  )
}))

/** A body as the reference writes it, of a canonical kind, with such a payload. */
const pythonBody = fc.record({
  kind: fc.constantFrom(...Event.canonicalKinds),
  payload: fc.dictionary(fc.string(), pythonValue, { maxKeys: 6 })
})

const pythonText = ({ kind, payload }: { readonly kind: string; readonly payload: unknown }): string =>
  pythonDumps({
    schema_version: "1",
    kind,
    arena: "a",
    arena_id: "",
    phase: "",
    ts: "2026-05-14T11:22:33.123456+00:00",
    correlation_id: "0".repeat(32),
    payload
  })

describe("WireCodec.decode reads what Python's json.dumps writes", () => {
  it.prop(
    "NaN, Infinity, -Infinity and -0.0 anywhere in the payload come back as those numbers",
    { body: pythonBody },
    ({ body }) => {
      const result = WireCodec.decode(streamId, ["data", pythonText(body)])
      expect(result._tag).toBe("KnownEvent")
      if (result._tag === "KnownEvent") {
        expect(result.event.kind).toBe(body.kind)
        expect(result.event.payload).toEqual(body.payload)
      }
    }
  )
})

/** Text that is JSON-ish often: fragments of bodies, Python's tokens, escapes and any code units. */
const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  fc.json(),
  fc
    .array(
      fc.constantFrom(
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        '"',
        "\\",
        '"kind"',
        '"phase.start"',
        '"ts"',
        '"2026-05-14T11:22:33Z"',
        '"payload"',
        "NaN",
        "Infinity",
        "-Infinity",
        "-",
        "1e",
        "0.",
        "null",
        "\\u",
        "\\ud800",
        " "
      ),
      { maxLength: 30 }
    )
    .map((parts) => parts.join(""))
)

/** Bodies that decode to a KnownEvent: as we write them, and as the reference writes them. */
const validBody = fc.oneof(canonicalEvent.map(WireCodec.encode), pythonBody.map(pythonText))

/** The fuzz properties try more cases than the default 100. */
const fuzz = { fastCheck: { numRuns: 500 } }

describe("WireCodec.decode never throws and always returns a ReadResult", () => {
  it.prop(
    "on any string as data",
    { text: anyText },
    ({ text }) => {
      const fields = ["data", text]
      const result = WireCodec.decode(streamId, fields)
      expectReadResult(result)
      if (result._tag === "Malformed") {
        expect(result.raw).toBe(text)
        expect(result.fields).toEqual(fields)
        if (text === "") expect(result.reason).toBe("no_data_field")
      }
    },
    fuzz
  )

  it.prop(
    "on any list of fields: odd lengths, no data, many data; only the last complete data field counts",
    {
      id: fc.string(),
      fields: fc.array(fc.oneof(fc.constant("data"), fc.constant(""), fc.string(), validBody), {
        maxLength: 9
      })
    },
    ({ id, fields }) => {
      const result = WireCodec.decode(id, fields)
      expectReadResult(result, id)
      const raw = lastDataField(fields)
      if (raw === undefined || raw === "") {
        expect(result).toMatchObject({ _tag: "Malformed", reason: "no_data_field", raw, fields })
      } else {
        const single = WireCodec.decode(id, ["data", raw])
        expect(result).toEqual(single._tag === "Malformed" ? { ...single, fields } : single)
      }
    },
    fuzz
  )

  it.prop(
    "on fields without a data field: always Malformed no_data_field",
    {
      fields: fc.array(
        fc.string().filter((s) => s !== "data"),
        { maxLength: 9 }
      )
    },
    ({ fields }) => {
      expect(WireCodec.decode(streamId, fields)).toEqual(
        ReadResult.malformed(
          streamId,
          "no_data_field",
          "the entry has no (non-empty) data field",
          undefined,
          fields
        )
      )
    },
    fuzz
  )

  it.prop(
    "on any JSON value",
    { value: fc.jsonValue() },
    ({ value }) => {
      const text = JSON.stringify(value)
      const result = WireCodec.decode(streamId, ["data", text])
      expectReadResult(result)
      const isObject = typeof value === "object" && value !== null && !Array.isArray(value)
      if (!isObject || typeof (value as { kind?: unknown }).kind !== "string") {
        expect(result).toMatchObject({ _tag: "Malformed", reason: "schema", raw: text })
      } else if (!Event.isCanonicalKind((value as { kind: string }).kind)) {
        expect(result).toEqual(
          ReadResult.unknownKind(streamId, (value as { kind: string }).kind, value as any)
        )
      }
    },
    fuzz
  )

  const textMutation = fc.oneof(
    fc.record({ op: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
    fc.record({ op: fc.constant("insert" as const), at: fc.nat(), text: anyText }),
    fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({
      op: fc.constant("replace" as const),
      at: fc.nat(),
      text: fc.string({ unit: "binary", maxLength: 1 })
    })
  )
  type TextMutation = typeof textMutation extends fc.Arbitrary<infer M> ? M : never

  const mutate = (text: string, m: TextMutation): string => {
    const at = text.length === 0 ? 0 : m.at % (text.length + 1)
    switch (m.op) {
      case "delete":
        return text.slice(0, at) + text.slice(at + m.length)
      case "insert":
        return text.slice(0, at) + m.text + text.slice(at)
      case "truncate":
        return text.slice(0, at)
      case "replace":
        return text.slice(0, at) + m.text + text.slice(at + 1)
    }
  }

  it.prop(
    "on valid bodies with their text mutated",
    { body: validBody, mutations: fc.array(textMutation, { minLength: 1, maxLength: 5 }) },
    ({ body, mutations }) => {
      const text = mutations.reduce(mutate, body)
      expectReadResult(WireCodec.decode(streamId, ["data", text]))
    },
    fuzz
  )

  it.prop(
    "on valid bodies with envelope keys removed or replaced by any JSON; a KnownEvent is always a valid event",
    {
      event: canonicalEvent,
      edits: fc.array(
        fc.record({
          key: fc.constantFrom(...envelopeKeys, "stream_id", "__proto__"),
          value: fc.option(fc.jsonValue(), { nil: undefined })
        }),
        { minLength: 1, maxLength: 4 }
      )
    },
    ({ event, edits }) => {
      const body: Record<string, unknown> = JSON.parse(WireCodec.encode(event))
      for (const { key, value } of edits) {
        if (value === undefined) delete body[key]
        else Object.defineProperty(body, key, { value, enumerable: true, writable: true, configurable: true })
      }
      const result = WireCodec.decode(streamId, ["data", JSON.stringify(body)])
      expectReadResult(result)
      if (result._tag === "KnownEvent") {
        const e = result.event
        for (const s of [e.kind, e.arena, e.arenaId, e.phase, e.ts, e.correlationId])
          expect(typeof s).toBe("string")
        expect(Event.isCanonicalKind(e.kind)).toBe(true)
        expect(Event.dateTime(e)._tag).toBe("Some")
        expect(typeof e.payload === "object" && e.payload !== null && !Array.isArray(e.payload)).toBe(true)
      }
    },
    fuzz
  )
})

/** Every kind of value fast-check can make. */
const anyValue = fc.anything({
  withBigInt: true,
  withMap: true,
  withSet: true,
  withDate: true,
  withTypedArray: true,
  withNullPrototype: true,
  withObjectString: true,
  withBoxedValues: true,
  withSparseArray: true
})

const eventWith = (payload: unknown): Event.Any => ({
  kind: "agent.signal",
  arena: "a",
  arenaId: "",
  phase: "",
  ts: "2026-05-14T11:22:33.123456+00:00",
  correlationId: "0".repeat(32),
  payload
})

describe("WireCodec.encode never throws and writes a well-formed body", () => {
  it.prop(
    "for any value as payload: JSON with exactly the 8 keys in the reference's order",
    { payload: anyValue },
    ({ payload }) => {
      const body = JSON.parse(WireCodec.encode(eventWith(payload)))
      expect(typeof body === "object" && body !== null && !Array.isArray(body)).toBe(true)
      expect(Object.keys(body)).toEqual(envelopeKeys)
      expect(body.schema_version).toBe("1")
      expect(typeof body.payload === "object" && body.payload !== null && !Array.isArray(body.payload)).toBe(
        true
      )
    },
    fuzz
  )

  it.prop(
    "for any value as payload: the entry reads back as a KnownEvent, and writing that event again gives the same text",
    { payload: anyValue },
    ({ payload }) => {
      const text = WireCodec.encode(eventWith(payload))
      const result = WireCodec.decode(streamId, ["data", text])
      expect(result._tag).toBe("KnownEvent")
      if (result._tag === "KnownEvent") expect(WireCodec.encode(result.event)).toBe(text)
    },
    fuzz
  )

  it.prop(
    "for any values in the envelope: every envelope member is written as a string",
    {
      kind: anyValue,
      arena: anyValue,
      arenaId: anyValue,
      phase: anyValue,
      ts: anyValue,
      correlationId: anyValue
    },
    (envelope) => {
      const body = JSON.parse(WireCodec.encode({ ...envelope, payload: {} } as unknown as Event.Any))
      expect(Object.keys(body)).toEqual(envelopeKeys)
      for (const key of envelopeKeys.slice(0, 7)) expect(typeof body[key]).toBe("string")
    },
    fuzz
  )
})
