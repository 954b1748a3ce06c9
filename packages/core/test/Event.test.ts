/**
 * The event model: how `Event.make` completes an input, how a `ts` is read, how kinds are defined
 * and added to a catalog, and how a `ReadResult` is matched.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Event, EventCatalog, EventKind, ReadResult, WireCodec } from "@maf/events"
import { Clock, DateTime, Effect, Either, Match, Option, Random, Schema, TestClock } from "effect"
import { formatMicros } from "../src/internal/timestamp.js"

const ts = "2026-05-14T11:22:33.123456+00:00"
const correlationId = "0123456789abcdef0123456789abcdef"

/** A version-4 uuid without dashes: 32 lowercase hex, version nibble 4, variant nibble 8, 9, a or b. */
const uuid4Hex = /^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/

const withSeed = (seed: unknown) => Effect.withRandom(Random.make(seed))

describe("Event.make", () => {
  it.effect("takes ts from the Clock, in the wire's format: six fractional digits and +00:00", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 4, 14, 11, 22, 33, 123))
      const event = yield* Event.make({ kind: "phase.start" })
      expect(event.ts).toBe("2026-05-14T11:22:33.123000+00:00")
      expect(event.ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/)
    })
  )

  it.effect(
    "writes six fractional digits even at a whole second (where Python's isoformat writes none)",
    () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(Date.UTC(2026, 4, 14, 11, 22, 34))
        expect((yield* Event.make({ kind: "phase.start" })).ts).toBe("2026-05-14T11:22:34.000000+00:00")
        yield* TestClock.setTime(0)
        expect((yield* Event.make({ kind: "phase.start" })).ts).toBe("1970-01-01T00:00:00.000000+00:00")
      })
  )

  it.effect("writes what the Clock says before 1970 and past 2255 (beyond safe-integer microseconds)", () =>
    Effect.gen(function* () {
      for (const millis of [
        Date.UTC(1969, 11, 31, 23, 59, 59, 1),
        Date.UTC(2026, 4, 14, 11, 22, 33, 1),
        // 2255-06-05T23:47:34.740991Z is the last safe integer in microseconds.
        Date.UTC(2255, 5, 5, 23, 47, 34, 740),
        Date.UTC(2255, 5, 5, 23, 47, 34, 742),
        Date.UTC(9999, 11, 31, 23, 59, 59, 999)
      ]) {
        yield* TestClock.setTime(millis)
        const nanos = yield* Clock.currentTimeNanos
        const { ts } = yield* Event.make({ kind: "phase.start" })
        // The TestClock's nanoseconds are its milliseconds times 10^6 as a float: past 2^53 they
        // are rounded, so the text is compared with the Clock's own figure, and the date and time up
        // to the second with the milliseconds'.
        expect(ts).toBe(formatMicros(nanos / 1000n))
        expect(ts.slice(0, 19)).toBe(new Date(millis).toISOString().slice(0, 19))
      }
    })
  )

  it.effect("follows the Clock as it moves", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 11, 31, 23, 59, 59, 999))
      const before = yield* Event.make({ kind: "phase.start" })
      yield* TestClock.adjust("1 millis")
      const after = yield* Event.make({ kind: "phase.start" })
      expect([before.ts, after.ts]).toEqual([
        "2026-12-31T23:59:59.999000+00:00",
        "2027-01-01T00:00:00.000000+00:00"
      ])
    })
  )

  it.effect("takes the correlation id from Random: the same seed gives the same id", () =>
    Effect.gen(function* () {
      const first = yield* Event.make({ kind: "agent.start" }).pipe(withSeed("seed"))
      const second = yield* Event.make({ kind: "agent.start" }).pipe(withSeed("seed"))
      const other = yield* Event.make({ kind: "agent.start" }).pipe(withSeed("another seed"))
      expect(first.correlationId).toBe(second.correlationId)
      expect(other.correlationId).not.toBe(first.correlationId)
    })
  )

  it.effect("makes correlation ids of 32 lowercase hex characters, shaped as a uuid4 without dashes", () =>
    Effect.gen(function* () {
      const event = yield* Event.make({ kind: "agent.start" }).pipe(withSeed("seed"))
      expect(event.correlationId).toMatch(uuid4Hex)
    })
  )

  it.prop(
    "makes a uuid4-shaped correlation id from any seed, and different ids one after another",
    { seed: Schema.Int },
    ({ seed }) => {
      const [a, b] = Effect.runSync(
        Effect.all([Event.randomCorrelationId, Event.randomCorrelationId]).pipe(withSeed(seed))
      )
      expect(a).toMatch(uuid4Hex)
      expect(b).toMatch(uuid4Hex)
      expect(a).not.toBe(b)
    }
  )

  it.effect('fills the defaults: envelope strings "", payload {}', () =>
    Effect.gen(function* () {
      const event = yield* Event.make({ kind: "arena.start", ts, correlationId })
      expect(event).toStrictEqual({
        kind: "arena.start",
        arena: "",
        arenaId: "",
        phase: "",
        ts,
        correlationId,
        payload: {}
      })
    })
  )

  it.effect("treats members given as undefined as omitted", () =>
    Effect.gen(function* () {
      const event = yield* Event.make({
        kind: "arena.start",
        arena: undefined,
        arenaId: undefined,
        phase: undefined,
        ts,
        correlationId,
        payload: undefined
      })
      expect(event).toStrictEqual({
        kind: "arena.start",
        arena: "",
        arenaId: "",
        phase: "",
        ts,
        correlationId,
        payload: {}
      })
    })
  )

  it.effect("keeps everything it is given, ts and correlationId included", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(0)
      const input = {
        kind: "phase.complete",
        arena: "trading",
        arenaId: "a1",
        phase: "analysis",
        ts: "2020-01-01T00:00:00Z",
        correlationId: "not-a-uuid but fine",
        payload: { score: 0.9 }
      } as const
      expect(yield* Event.make(input)).toStrictEqual(input)
    })
  )

  it.effect('fills an empty ts or correlationId ("") as an omitted one, as the reference does', () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 4, 14))
      const event = yield* Event.make({ kind: "phase.start", ts: "", correlationId: "" })
      expect(event.ts).toBe("2026-05-14T00:00:00.000000+00:00")
      expect(event.correlationId).toMatch(uuid4Hex)
    })
  )

  it.effect("keeps the payload as given (not copied)", () =>
    Effect.gen(function* () {
      const payload = { score: 0.9 }
      expect((yield* Event.make({ kind: "phase.complete", payload })).payload).toBe(payload)
    })
  )
})

describe("Event.dateTime", () => {
  const millis = (text: string) => Event.dateTime({ ts: text }).pipe(Option.map(DateTime.toEpochMillis))

  it.each([
    { form: "the reference's form: 6 digits and +00:00", ts, ms: Date.UTC(2026, 4, 14, 11, 22, 33, 123) },
    { form: "Z with 3 digits", ts: "2026-05-14T11:22:33.123Z", ms: Date.UTC(2026, 4, 14, 11, 22, 33, 123) },
    {
      form: "a +02:00 offset",
      ts: "2026-05-14T13:22:33.123456+02:00",
      ms: Date.UTC(2026, 4, 14, 11, 22, 33, 123)
    },
    {
      form: "a -05:00 offset",
      ts: "2026-05-14T06:22:33.5-05:00",
      ms: Date.UTC(2026, 4, 14, 11, 22, 33, 500)
    },
    {
      form: "an offset without a colon",
      ts: "2026-05-14T16:52:33+0530",
      ms: Date.UTC(2026, 4, 14, 11, 22, 33)
    },
    { form: "naive, read as UTC", ts: "2026-05-14T11:22:33.5", ms: Date.UTC(2026, 4, 14, 11, 22, 33, 500) },
    {
      form: "no fraction (Python at microsecond 0)",
      ts: "2026-05-14T11:22:34+00:00",
      ms: Date.UTC(2026, 4, 14, 11, 22, 34)
    },
    { form: "no fraction, Z", ts: "2026-05-14T11:22:34Z", ms: Date.UTC(2026, 4, 14, 11, 22, 34) },
    { form: "no seconds", ts: "2026-05-14T11:22Z", ms: Date.UTC(2026, 4, 14, 11, 22) },
    {
      form: "a space for T (Python's str)",
      ts: "2026-05-14 11:22:33.123456+00:00",
      ms: Date.UTC(2026, 4, 14, 11, 22, 33, 123)
    },
    {
      form: "9 fractional digits, cut to the millisecond",
      ts: "2026-05-14T11:22:33.123999999Z",
      ms: Date.UTC(2026, 4, 14, 11, 22, 33, 123)
    },
    { form: "the epoch", ts: "1970-01-01T00:00:00+00:00", ms: 0 },
    { form: "a leap day", ts: "2028-02-29T12:00:00Z", ms: Date.UTC(2028, 1, 29, 12) }
  ])("reads $form", ({ ts, ms }) => {
    expect(millis(ts)).toEqual(Option.some(ms))
  })

  it.each([
    { what: "a word", ts: "yesterday" },
    { what: "the empty string", ts: "" },
    { what: "a date without a time", ts: "2026-05-14" },
    { what: "epoch seconds", ts: "1778757753" },
    { what: "February 30th", ts: "2026-02-30T00:00:00Z" },
    { what: "February 29th of a common year", ts: "2026-02-29T00:00:00Z" },
    { what: "month 13", ts: "2026-13-01T00:00:00Z" },
    { what: "hour 24", ts: "2026-05-14T24:00:00Z" },
    { what: "second 60", ts: "2026-05-14T11:22:60Z" },
    { what: "an offset of 25 hours", ts: "2026-05-14T11:22:33+25:00" },
    { what: "text around a timestamp", ts: ` ${ts}` }
  ])("is None for $what", ({ ts }) => {
    expect(Event.dateTime({ ts })).toEqual(Option.none())
  })

  it("reads years 0001-0099 as written, not as 1901-1999", () => {
    // Python's datetime.min, as its isoformat writes it.
    expect(millis("0001-01-01T00:00:00+00:00")).toEqual(Option.some(-62135596800000))
  })

  it("cuts a sub-millisecond fraction toward the past before 1970, as after", () => {
    // 500 µs before the epoch is in the millisecond that starts at -1 ms.
    expect(millis("1969-12-31T23:59:59.999500+00:00")).toEqual(Option.some(-1))
  })
})

describe("Event.Timestamp", () => {
  const decode = Schema.decodeUnknownEither(Event.Timestamp)

  it("accepts ISO-8601 date-times in any valid form, unchanged", () => {
    for (const text of [
      ts,
      "2026-05-14T11:22:33.123Z",
      "2026-05-14T13:22:33+02:00",
      "2026-05-14T11:22:33.5"
    ]) {
      expect(decode(text)).toEqual(Either.right(text))
    }
  })

  it("rejects strings that are not dates, and non-strings", () => {
    for (const value of [
      "yesterday",
      "",
      "2026-02-30T00:00:00Z",
      "2026-05-14",
      1778757753123,
      null,
      undefined
    ]) {
      expect(Either.isLeft(decode(value))).toBe(true)
    }
  })

  it.prop(
    "its arbitrary makes timestamps in the wire's format, each a valid date",
    { ts: Event.Timestamp },
    ({ ts }) => {
      expect(ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/)
      expect(Option.isSome(Event.dateTime({ ts }))).toBe(true)
    }
  )
})

const TradeFill = EventKind.make("trade.fill", Schema.Struct({ symbol: Schema.String, qty: Schema.Number }))

describe("EventKind.make", () => {
  it("makes an input of its kind from the fields given, unchanged", () => {
    const fields = { arena: "trading", phase: "execution", payload: { symbol: "AAPL", qty: 10 } }
    expect(TradeFill.make(fields)).toStrictEqual({ ...fields, kind: "trade.fill" })
    expectTypeOf(TradeFill.make(fields)).toEqualTypeOf<
      Event.Input<"trade.fill", { readonly symbol: string; readonly qty: number }>
    >()
  })

  it("defines a kind with its name, its payload Schema and whether encoding runs it", () => {
    expect(TradeFill.kind).toBe("trade.fill")
    expect(TradeFill.transformsPayload).toBe(true)
    expect(EventKind.canonical["phase.complete"].transformsPayload).toBe(false)
    expect(Schema.decodeUnknownSync(TradeFill.payload)({ symbol: "AAPL", qty: 10 })).toEqual({
      symbol: "AAPL",
      qty: 10
    })
  })

  it("requires the payload of a typed kind, not of an untyped one (compile time)", () => {
    const typedFields = (fields: Parameters<typeof TradeFill.make>[0]) => fields
    // @ts-expect-error a typed kind's payload is required
    typedFields({ arena: "trading" })
    // @ts-expect-error a typed kind's payload must have its type
    typedFields({ payload: { symbol: "AAPL", qty: "ten" } })
    expect(EventKind.canonical["agent.start"].make({ arena: "trading" })).toStrictEqual({
      arena: "trading",
      kind: "agent.start"
    })
  })

  it("defines the 19 canonical kinds, each named as the reference names it", () => {
    expect(Object.keys(EventKind.canonical)).toEqual([...Event.canonicalKinds])
    for (const [name, kind] of Object.entries(EventKind.canonical)) expect(kind.kind).toBe(name)
    expect(Event.canonicalKinds).toHaveLength(19)
  })
})

describe("EventCatalog", () => {
  const Scored = EventKind.make("phase.complete", Schema.Struct({ score: Schema.Number }))
  const body = (payload: unknown) =>
    JSON.stringify({
      schema_version: "1",
      kind: "phase.complete",
      ts,
      correlation_id: correlationId,
      payload
    })

  it("add replaces a canonical kind with a typed one, and keeps the others", () => {
    const catalog = EventCatalog.canonical.pipe(EventCatalog.add(Scored))
    expect(catalog.kinds.size).toBe(19)
    expect(catalog.kinds.get("phase.complete")).toBe(Scored)
    expect(catalog.kinds.get("phase.start")).toBe(EventKind.canonical["phase.start"])
    expect(EventCatalog.canonical.kinds.get("phase.complete")).toBe(EventKind.canonical["phase.complete"])
    expectTypeOf<
      Extract<EventCatalog.EventOf<typeof catalog>, { kind: "phase.complete" }>["payload"]
    >().toEqualTypeOf<{
      readonly score: number
    }>()
  })

  it("add works data-first as well", () => {
    expect(EventCatalog.add(EventCatalog.canonical, Scored).kinds.get("phase.complete")).toBe(Scored)
  })

  it("a codec of the catalog decodes the replaced kind with its Schema", () => {
    const codec = WireCodec.make(EventCatalog.canonical.pipe(EventCatalog.add(Scored)))
    const good = codec.decode("1-0", ["data", body({ score: 0.9 })])
    expect(good).toMatchObject({
      _tag: "KnownEvent",
      event: { kind: "phase.complete", payload: { score: 0.9 } }
    })
    const bad = codec.decode("2-0", ["data", body({ score: "high" })])
    expect(bad).toMatchObject({ _tag: "Malformed", reason: "schema" })
    expect(bad._tag === "Malformed" && bad.message).toContain("payload")
    // The canonical codec still takes any JSON object.
    expect(WireCodec.decode("2-0", ["data", body({ score: "high" })])._tag).toBe("KnownEvent")
  })

  it("a catalog of only user kinds reads the canonical kinds as unknown", () => {
    const codec = WireCodec.make(EventCatalog.make(TradeFill))
    expect(codec.decode("1-0", ["data", body({ score: 0.9 })])).toMatchObject({
      _tag: "UnknownKind",
      kind: "phase.complete"
    })
  })

  it("isEventCatalog tells catalogs from other values", () => {
    expect(EventCatalog.isEventCatalog(EventCatalog.canonical)).toBe(true)
    expect(EventCatalog.isEventCatalog({ kinds: new Map() })).toBe(false)
    expect(EventCatalog.isEventCatalog(null)).toBe(false)
  })
})

describe("ReadResult", () => {
  const describeResult = (result: ReadResult.ReadResult): string =>
    Match.valueTags(result, {
      KnownEvent: (r) => `${r.streamId}: ${r.event.kind}`,
      UnknownKind: (r) => `${r.streamId}: unknown kind ${r.kind}`,
      Malformed: (r) => `${r.streamId}: malformed (${r.reason})`,
      Gap: (r) => `${r.streamId}: gap after ${r.after}, ${r.lost ?? "?"} lost`
    })

  it("is matched exhaustively with Match.valueTags", () => {
    const event = Effect.runSync(Event.make({ kind: "phase.start", ts, correlationId }))
    expect(
      [
        ReadResult.knownEvent("1-0", event),
        ReadResult.unknownKind("2-0", "trade.fill", { kind: "trade.fill" }),
        ReadResult.malformed("3-0", "json_decode", "Unexpected token", "{", ["data", "{"]),
        ReadResult.gap("9-0", "3-0", 5),
        ReadResult.gap("12-0", "9-0", undefined)
      ].map(describeResult)
    ).toEqual([
      "1-0: phase.start",
      "2-0: unknown kind trade.fill",
      "3-0: malformed (json_decode)",
      "9-0: gap after 3-0, 5 lost",
      "12-0: gap after 9-0, ? lost"
    ])
  })

  it("a match that leaves a member out does not compile", () => {
    const partial = (result: ReadResult.ReadResult) =>
      // @ts-expect-error the Gap case is missing
      Match.valueTags(result, { KnownEvent: () => 1, UnknownKind: () => 2, Malformed: () => 3 })
    const unknownTag = (result: ReadResult.ReadResult) =>
      Match.valueTags(result, {
        KnownEvent: () => 1,
        UnknownKind: () => 2,
        Malformed: () => 3,
        Gap: () => 4,
        // @ts-expect-error not a member of ReadResult
        Other: () => 5
      })
    expect(typeof partial).toBe("function")
    expect(typeof unknownTag).toBe("function")
  })

  it("what WireCodec.decode returns is matched the same way", () => {
    const results = [
      WireCodec.decode("1-0", [
        "data",
        WireCodec.encode(Effect.runSync(Event.make({ kind: "llm.call", ts, correlationId })))
      ]),
      WireCodec.decode("2-0", ["data", JSON.stringify({ kind: "trade.fill", ts })]),
      WireCodec.decode("3-0", ["other", "x"])
    ]
    expect(results.map(describeResult)).toEqual([
      "1-0: llm.call",
      "2-0: unknown kind trade.fill",
      "3-0: malformed (no_data_field)"
    ])
    expect(results.map(ReadResult.isKnownEvent)).toEqual([true, false, false])
  })
})
