/**
 * What encoding does not do again (the publisher's CPU an event: `docs/benchmarks.md`): an envelope
 * string with nothing to escape is put in quotes as it is, not given to `JSON.stringify`; and the
 * text of the envelope up to `ts` (kind, arena, arena id, phase) is made once for a run of events
 * that share it, again when one of them changes; a plain payload is written by one `JSON.stringify`
 * (its JSON-safe copy is made only when that fails). What the text is, is `WireCodec.fastPath.test.ts`'s
 * matter: here, which strings `JSON.stringify` is asked to write.
 */
import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import { type Event, EventCatalog, WireCodec } from "@maf/events"

const event = (fields: Partial<Event.Any>): Event.Any => ({
  kind: "agent.signal",
  arena: "arena",
  arenaId: "arena-1",
  phase: "trading",
  ts: "2026-05-14T11:22:33.123456+00:00",
  correlationId: "c0ffee",
  payload: { n: 1 },
  ...fields
})

/** What `JSON.stringify` was asked to write while `run` encoded. */
const written = (run: () => void): ReadonlyArray<unknown> => {
  const stringify = vi.spyOn(JSON, "stringify")
  try {
    run()
    return stringify.mock.calls.map(([value]) => value)
  } finally {
    stringify.mockRestore()
  }
}

/** The strings `JSON.stringify` was asked to write while `run` encoded. */
const stringsWritten = (run: () => void): ReadonlyArray<string> =>
  written(run).filter((value): value is string => typeof value === "string")

afterEach(() => {
  vi.restoreAllMocks()
})

describe("WireCodec encoding does not write a text again", () => {
  it("puts an envelope string with nothing to escape in quotes itself", () => {
    const codec = WireCodec.make(EventCatalog.canonical)
    // The payload alone, once.
    expect(written(() => codec.encode(event({})))).toEqual([{ n: 1 }])
    // A quote, a backslash, a control character or a surrogate: JSON.stringify writes it.
    for (const text of ['say "hi"', "a\\b", "tab\there", "\u0000", "𝄞", "\ud800"]) {
      expect(stringsWritten(() => codec.encode(event({ correlationId: text })))).toEqual([text])
    }
  })

  it("makes the envelope's text up to ts once for a run of events sharing it, again when a part changes", () => {
    const codec = WireCodec.make(EventCatalog.canonical)
    // Each part needs escaping, so that JSON.stringify is asked for each when the text is made.
    const parts = { kind: 'k"ind', arena: 'a"rena', arenaId: 'i"d', phase: 'p"hase' }
    const first = event(parts)
    const run = [first, { ...first, ts: "2026-05-14T11:22:34.000000+00:00" }, { ...first, payload: {} }]
    expect(stringsWritten(() => run.forEach(codec.encode))).toEqual(['k"ind', 'a"rena', 'i"d', 'p"hase'])
    for (const [part, text] of Object.entries(parts)) {
      const changed = { ...first, [part]: `${text}!` }
      expect(
        stringsWritten(() => [changed, changed, first].forEach(codec.encode)),
        part
      ).toEqual([...Object.values({ ...parts, [part]: `${text}!` }), ...Object.values(parts)])
    }
  })
})
