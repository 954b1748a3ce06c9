/**
 * `EventLine.decode`: what a line of `publish --input` is (an event, a gap notice to skip, or why it
 * is bad), by a table; and `PublishInput.publishLines` on the in-memory bus: the events in order,
 * the counts, windows of a small buffer.
 */
import { describe, expect, it } from "@effect/vitest"
import { EventBus, EventReader, MemoryStreamBackend } from "@maf/events"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as EventLine from "../src/EventLine.js"
import * as PublishInput from "../src/PublishInput.js"

describe("EventLine.decode", () => {
  it.each([
    ['{"kind":"agent.start"}', { kind: "agent.start" }],
    [
      '{"stream_id":"1-0","variant":"event","schema_version":"1","kind":"llm.call","arena":"a","arena_id":"r","phase":"p","ts":"2026-05-14T11:22:33.123456+00:00","correlation_id":"c","payload":{"x":1}}',
      {
        kind: "llm.call",
        arena: "a",
        arenaId: "r",
        phase: "p",
        ts: "2026-05-14T11:22:33.123456+00:00",
        correlationId: "c",
        payload: { x: 1 }
      }
    ],
    ['{"kind":"x","arena":null,"payload":null,"ts":""}', { kind: "x", ts: "" }],
    ['{"kind":"x","ts":"2026-05-14T11:22:33Z","extra":[1]}', { kind: "x", ts: "2026-05-14T11:22:33Z" }]
  ])("reads %s as an event", (line, input) => {
    const decoded = EventLine.decode(line)
    if (decoded._tag !== "Event") throw new Error(`not an event: ${JSON.stringify(decoded)}`)
    const given: Record<string, unknown> = { ...decoded.input }
    expect(Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined))).toEqual(input)
  })

  it("skips a gap notice of a tail export", () => {
    expect(EventLine.decode('{"stream_id":"5-0","variant":"gap","after":"0-0","lost":3}')._tag).toBe("Gap")
  })

  it.each([
    ["{not json", /^not JSON: /],
    ["[1,2]", /^not a JSON object \(an array\)$/],
    ["42", /^not a JSON object \(a number\)$/],
    ["null", /^not a JSON object \(null\)$/],
    ["{}", /^kind is missing$/],
    ['{"kind":""}', /^kind must not be empty$/],
    ['{"kind":7}', /^kind must be a string, got 7$/],
    ['{"kind":"x","phase":true}', /^phase must be a string, got true$/],
    ['{"kind":"x","correlation_id":{}}', /^correlation_id must be a string, got \{\}$/],
    ['{"kind":"x","payload":"text"}', /^payload must be a JSON object$/],
    ['{"kind":"x","payload":[1]}', /^payload must be a JSON object$/],
    ['{"kind":"x","ts":"yesterday"}', /^ts is not an ISO-8601 timestamp/],
    [
      '{"stream_id":"5-0","variant":"malformed","reason":"json_decode","raw":"{"}',
      /^a malformed entry of the export \(json_decode\): no event to publish$/
    ]
  ])("refuses %s", (line, reason) => {
    const decoded = EventLine.decode(line)
    if (decoded._tag !== "Bad") throw new Error(`not refused: ${JSON.stringify(decoded)}`)
    expect(decoded.reason).toMatch(reason)
  })
})

describe("PublishInput.publishLines on the in-memory bus", () => {
  it.scoped("publishes the events in order through windows of half the buffer, and counts each line", () =>
    Effect.gen(function* () {
      const stream = "test:publish-lines"
      // One backend, shared by the bus (closed by publishLines) and the reader after it.
      const backend = Layer.succeedContext(yield* Layer.build(MemoryStreamBackend.layer))
      const capacity = 4
      const lines = [
        ...Array.from({ length: 9 }, (_, i) => JSON.stringify({ kind: "agent.signal", payload: { i } })),
        "",
        "oops",
        JSON.stringify({ variant: "gap" }),
        JSON.stringify({ kind: "agent.signal", payload: { i: 9 } })
      ]
      const bad: Array<string> = []
      const program = Effect.gen(function* () {
        const summary = yield* PublishInput.publishLines(Stream.fromIterable(lines), {
          keys: [stream],
          bus: EventBus.layer({ stream, bufferCapacity: capacity }).pipe(Layer.provide(backend)),
          capacity,
          drainTimeout: "5 seconds",
          onBadLine: (line, reason) => Effect.sync(() => bad.push(`${line}: ${reason}`)),
          onGiveUp: () => Effect.die("no give-up on the memory bus"),
          onDrainTimeout: Effect.die("no deadline on the memory bus")
        })
        const read = yield* EventReader.stream({ stream, from: "0" }).pipe(Stream.take(10), Stream.runCollect)
        return { summary, read: Chunk.toReadonlyArray(read) }
      })
      const { summary, read } = yield* program.pipe(
        Effect.provide(EventReader.layer.pipe(Layer.provide(backend)))
      )
      expect(summary).toMatchObject({
        written: 10,
        not_written: 1,
        lines: 13,
        bad_lines: 1,
        skipped: 1,
        dropped: 0,
        unsent: 0
      })
      expect(bad).toEqual([expect.stringMatching(/^11: not JSON/)])
      expect(
        read.map((r) => (r._tag === "KnownEvent" ? (r.event.payload as { i: number }).i : r._tag))
      ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    })
  )
})
