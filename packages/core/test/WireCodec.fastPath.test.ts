/**
 * The codec's fast paths against what they stand for, on generated values:
 *
 * - decoding a canonical kind checks the body by hand before the Schema: it must accept exactly the
 *   bodies the kind's body Schema accepts, and build the same event (same keys, same order); its
 *   check of a timestamp must answer for every text of the writers' form, as the Schema's filter
 *   does, and leave every other form to that filter;
 * - encoding assembles the body's JSON text from its parts: it must be `JSON.stringify` of the body
 *   object, whatever the envelope strings hold;
 * - a plain JSON payload is written as it is, without its JSON-safe copy: it must be written as the
 *   copy would be.
 */
import { describe, expect, it } from "@effect/vitest"
import { type Event, EventKind, WireCodec } from "@maf/events"
import { Arbitrary, Either, FastCheck as fc, Schema } from "effect"
import { decodeCanonical, isTimestamp, writerFormTimestamp } from "../src/internal/canonicalBody.js"
import { parseMicros } from "../src/internal/timestamp.js"

const streamId = "1778757753123-0"

const canonicalKinds = Object.keys(EventKind.canonical) as ReadonlyArray<Event.CanonicalKind>

const bodySchemaOf = (kind: Event.CanonicalKind): Schema.Schema<Event.Canonical, unknown> =>
  EventKind.canonical[kind].body as Schema.Schema<Event.Canonical, any>

const pad = (n: number, width: number) => String(n).padStart(width, "0")

/** Timestamps in the writers' own form, fields anywhere in (and past) their ranges. */
const writerFormText = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }),
    fc.integer({ min: 0, max: 19 }),
    fc.integer({ min: 0, max: 39 }),
    fc.integer({ min: 0, max: 29 }),
    fc.integer({ min: 0, max: 69 }),
    fc.integer({ min: 0, max: 69 }),
    fc.integer({ min: 0, max: 999_999 })
  )
  .map(
    ([y, mo, d, h, mi, s, us]) =>
      `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(us, 6)}+00:00`
  )

/**
 * Envelope strings: any code points, and runs of the characters JSON escapes or might (quotes,
 * backslashes, control characters, lone surrogates, and DEL, U+2028 and the like, which it does not).
 */
const envelopeString = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.string({
    unit: fc.constantFrom(
      "a",
      "é",
      '"',
      "\\",
      "\u0000",
      "\u001f",
      "\u007f",
      "\u2028",
      "\ud800",
      "\udfff",
      "𝄞"
    ),
    maxLength: 12
  })
)

/** `JSON.stringify` of an event's body object, keys in the reference's order. */
const bodyObjectText = (event: Event.Any): string =>
  JSON.stringify({
    schema_version: "1",
    kind: event.kind,
    arena: event.arena,
    arena_id: event.arenaId,
    phase: event.phase,
    ts: event.ts,
    correlation_id: event.correlationId,
    payload: event.payload
  })

/** What `writerFormTimestamp` answers for. */
const writerForm = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/

/** A writer-form timestamp with one character replaced. */
const alteredTimestamp = fc
  .tuple(writerFormText, fc.nat({ max: 31 }), fc.constantFrom("0", "9", "-", ":", "T", " ", "Z", "x", "+"))
  .map(([ts, at, c]) => ts.slice(0, at) + c + ts.slice(at + 1))

const timestamp = fc.oneof(
  writerFormText,
  alteredTimestamp,
  Arbitrary.make(EventKind.canonical["agent.signal"].body).map((event) => event.ts),
  fc.constantFrom(
    "2026-05-14T11:22:33Z",
    "2026-05-14 11:22:33.123+02:00",
    "2024-02-29T00:00:00.000000+00:00",
    "2023-02-29T00:00:00.000000+00:00",
    "2000-02-29T23:59:59.999999+00:00",
    "1900-02-29T23:59:59.999999+00:00"
  ),
  fc.string()
)

/** A field: left out, a value of its type, or any JSON value. */
const field = (valid: fc.Arbitrary<unknown>) =>
  fc.option(fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: fc.jsonValue() }), {
    nil: undefined
  })

const body = fc
  .record({
    kind: fc.constantFrom(...canonicalKinds),
    arena: field(fc.string()),
    arena_id: field(fc.string()),
    phase: field(fc.string()),
    ts: field(timestamp),
    correlation_id: field(fc.string()),
    payload: field(fc.dictionary(fc.string(), fc.jsonValue())),
    extra: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 })
  })
  .map(({ extra, ...fields }) => {
    const out: Record<string, unknown> = { ...extra }
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value
    return JSON.stringify(out)
  })

describe("WireCodec fast paths", () => {
  it.prop(
    "decoding a canonical kind accepts exactly what its body Schema accepts, and builds the same event",
    { text: body },
    ({ text }) => {
      const parsed = JSON.parse(text) as { readonly kind: Event.CanonicalKind }
      const expected = Schema.decodeUnknownEither(bodySchemaOf(parsed.kind))(parsed)
      const result = WireCodec.decode(streamId, [WireCodec.dataField, text])
      // The fast path itself: it builds the event exactly when the Schema accepts the body (it never
      // leaves a body the Schema accepts to the Schema).
      expect(decodeCanonical(parsed.kind, parsed)).toStrictEqual(
        Either.isRight(expected) ? expected.right : undefined
      )
      if (Either.isRight(expected)) {
        expect(result._tag).toBe("KnownEvent")
        if (result._tag !== "KnownEvent") return
        expect(result.event).toStrictEqual(expected.right)
        expect(Object.keys(result.event)).toEqual(Object.keys(expected.right))
      } else {
        expect(result).toMatchObject({ _tag: "Malformed", reason: "schema" })
      }
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "a timestamp of the writers' form is judged by the fast check, as the Timestamp filter judges it; any other by the filter",
    { ts: fc.oneof(timestamp, writerFormText, writerFormText) },
    ({ ts }) => {
      const valid = parseMicros(ts) !== undefined
      expect(writerFormTimestamp(ts)).toBe(writerForm.test(ts) ? valid : undefined)
      expect(isTimestamp(ts)).toBe(valid)
    },
    { fastCheck: { numRuns: 3000 } }
  )

  it.prop(
    "encoding writes JSON.stringify of the body object, whatever the envelope strings hold",
    {
      kind: fc.oneof(fc.constantFrom(...canonicalKinds), envelopeString),
      arena: envelopeString,
      arenaId: envelopeString,
      phase: envelopeString,
      ts: fc.oneof(timestamp, envelopeString),
      correlationId: fc.oneof(fc.hexaString({ minLength: 32, maxLength: 32 }), envelopeString),
      payload: fc.dictionary(fc.string(), fc.jsonValue())
    },
    (event) => {
      expect(WireCodec.encode(event)).toBe(bodyObjectText(event))
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "encoding a run of events whose envelopes repeat and change writes each as JSON.stringify does",
    {
      events: fc.array(
        fc.record({
          kind: fc.constantFrom("agent.signal", "llm.call", "x"),
          arena: fc.constantFrom("", "a", "b"),
          arenaId: fc.constantFrom("", "a", "b"),
          phase: fc.constantFrom("", "a", '"b"'),
          ts: fc.constantFrom("2026-05-14T11:22:33.123456+00:00", ""),
          correlationId: fc.constantFrom("a", "\u00e9"),
          payload: fc.constantFrom({}, { n: 1 })
        }),
        { minLength: 2, maxLength: 20 }
      )
    },
    ({ events }) => {
      for (const event of events) expect(WireCodec.encode(event)).toBe(bodyObjectText(event))
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "a payload is written as its JSON-safe copy is",
    {
      payload: fc.dictionary(
        fc.string(),
        fc.oneof(
          fc.jsonValue(),
          fc.anything({
            withBoxedValues: true,
            withDate: true,
            withMap: true,
            withSet: true,
            withNullPrototype: true,
            withSparseArray: true,
            withTypedArray: true,
            withBigInt: true
          }),
          fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, undefined)
        )
      )
    },
    ({ payload }) => {
      const written = (p: unknown) =>
        (
          JSON.parse(
            WireCodec.encode({
              kind: "agent.signal",
              arena: "",
              arenaId: "",
              phase: "",
              ts: "2026-05-14T11:22:33.123456+00:00",
              correlationId: "",
              payload: p
            })
          ) as { payload: Record<string, unknown> }
        ).payload
      // A bigint is not plain JSON: with it the whole payload takes the full conversion.
      const copied = written({ ...payload, "\u0000copy": 1n })
      delete copied["\u0000copy"]
      expect(JSON.stringify(written(payload))).toBe(JSON.stringify(copied))
    },
    { fastCheck: { numRuns: 1000 } }
  )
})
