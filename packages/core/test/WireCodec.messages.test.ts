/**
 * What `WireCodec` says and writes where the types are not kept: a malformed entry's reason and
 * message (what a reader's warning shows), and envelope members that are not strings (from untyped
 * callers), which are written as their text, never thrown on.
 */
import { describe, expect, it } from "@effect/vitest"
import { WireCodec } from "@maf/events"

const ts = "2026-05-14T11:22:33.123456+00:00"

describe("WireCodec.decode of a malformed entry says why", () => {
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, string, string]> = [
    ["no data field", ["other", "x"], "no_data_field", "the entry has no (non-empty) data field"],
    [
      "an empty data field",
      ["data", "", "other", "x"],
      "no_data_field",
      "the entry has no (non-empty) data field"
    ],
    [
      "text that is not JSON (the parser's own words)",
      ["data", "{not json"],
      "json_decode",
      "Expected property name or '}' in JSON at position 1"
    ],
    ["a body that is not an object", ["data", "[1]"], "schema", "the body is not a JSON object"],
    ["a body without a string kind", ["data", '{"kind":5}'], "schema", "the body has no string kind"],
    [
      "a trailing field name without a value (the data before it is read)",
      ["data", "{}", "data"],
      "schema",
      "the body has no string kind"
    ],
    [
      "a ts that is not a timestamp (the field, then what it must be)",
      ["data", JSON.stringify({ kind: "agent.signal", ts: "yesterday" })],
      "schema",
      "ts: an ISO-8601 timestamp"
    ],
    [
      "an envelope member of another type (every issue, joined)",
      ["data", JSON.stringify({ kind: "agent.signal", ts, arena: 5 })],
      "schema",
      "arena: Expected string, actual 5; arena: Expected undefined, actual 5"
    ]
  ]
  it.each(cases)("%s", (_name, fields, reason, message) => {
    expect(WireCodec.decode("1-0", fields)).toMatchObject({ _tag: "Malformed", reason, message })
  })
})

describe("WireCodec.encode of envelope members that are not strings", () => {
  it("writes each as its text; null, undefined and a value whose text throws as empty", () => {
    const throwing = {
      toString(): string {
        throw new Error("no text")
      }
    }
    const event = {
      kind: "agent.signal",
      arena: 5,
      arenaId: null,
      phase: undefined,
      ts: throwing,
      correlationId: true,
      payload: {}
    } as unknown as Parameters<typeof WireCodec.encode>[0]
    expect(JSON.parse(WireCodec.encode(event))).toStrictEqual({
      schema_version: "1",
      kind: "agent.signal",
      arena: "5",
      arena_id: "",
      phase: "",
      ts: "",
      correlation_id: "true",
      payload: {}
    })
  })
})
