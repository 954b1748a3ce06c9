/**
 * The `ts` of a canonical kind's body, as `WireCodec.decode` judges it: a timestamp exactly when the
 * `Timestamp` Schema says so, checked here on the writers' own form (`2026-05-14T11:22:33.123456+00:00`)
 * and its near misses, each field at and past its range (every month's last day, leap years), each
 * separator and digit replaced, and the forms around it; the same text judged the same way every time,
 * whatever was decoded before it. And the codec's fast check of the writers' form (`writerFormTimestamp`)
 * answers for every text of that form, as the Schema does, and for no other.
 */
import { describe, expect, it } from "@effect/vitest"
import { Event, WireCodec } from "@maf/events"
import * as Schema from "effect/Schema"
import { writerFormTimestamp } from "../src/internal/canonicalBody.js"

const isTimestamp = Schema.is(Event.Timestamp)

/** The writers' own form, which the codec's fast check answers for itself. */
const writerForm = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/

/** Whether a body of a canonical kind with this `ts` decodes to an event. */
const decodesWith = (ts: string): boolean =>
  WireCodec.decode("1-0", [WireCodec.dataField, JSON.stringify({ kind: "agent.signal", ts, payload: {} })])
    ._tag === "KnownEvent"

const at = (date: string, time = "11:22:33") => `${date}T${time}.123456+00:00`
const pad = (n: number) => String(n).padStart(2, "0")
const lastDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

const cases: ReadonlyArray<readonly [string, boolean]> = [
  // First of all (a fresh decoder's first answer is its own): a month past December.
  [at("2026-13-14"), false],
  [at("2026-05-14"), true],
  // The same second as the one just accepted, with another date: each judged on its own.
  [at("2026-00-14"), false],
  [at("2026-05-00"), false],
  [at("2026-05-14", "24:22:33"), false],
  [at("2026-05-14", "11:60:33"), false],
  [at("2026-05-14", "11:22:60"), false],
  [at("2026-05-14", "23:59:59"), true],
  [at("2026-05-14", "00:00:00"), true],
  // Every month's last day, and the day after it.
  ...lastDays.flatMap(
    (last, m): ReadonlyArray<readonly [string, boolean]> => [
      [at(`2026-${pad(m + 1)}-${pad(last)}`), true],
      [at(`2026-${pad(m + 1)}-${pad(last + 1)}`), false],
      [at(`2026-${pad(m + 1)}-01`), true]
    ]
  ),
  // February 29th: a year divisible by 4, by 100 (not leap), by 400 (leap).
  [at("2024-02-29"), true],
  [at("2023-02-29"), false],
  [at("1900-02-29"), false],
  [at("2000-02-29"), true],
  // A separator replaced.
  [at("2026/05-14"), false],
  [at("2026-05/14"), false],
  ["2026-05-14x11:22:33.123456+00:00", false],
  [at("2026-05-14", "11-22:33"), false],
  [at("2026-05-14", "11:22-33"), false],
  ["2026-05-14T11:22:33x123456+00:00", false],
  // A digit replaced, in each field.
  [at("2O26-05-14"), false],
  [at("2026-0a-14"), false],
  [at("2026-05-1b"), false],
  [at("2026-05-14", "1c:22:33"), false],
  [at("2026-05-14", "11:2d:33"), false],
  [at("2026-05-14", "11:22:3e"), false],
  ["2026-05-14T11:22:33.12x456+00:00", false],
  // Around the writers' form: other fractions and offsets, text where none belongs.
  ["2026-05-14T11:22:33.1234567+00:00", true],
  ["2026-05-14T11:22:33.1234567890+00:00", false],
  ["2026-05-14T11:22:33.123456junk+00:00", false],
  ["2026-05-14T11:22:33,123456+00:00", true],
  ["2026-05-14T11:22:33.123456+01:00", true],
  ["2026-05-14T11:22:33.123456+99:00", false],
  ["2026-05-14T11:22:33.123456x00:00", false],
  ["2026-05-14 11:22:33.123456+00:00", true],
  ["2026-05-14T11:22:33Z", true],
  ["2026-05-14", false],
  ["", false]
]

describe("WireCodec.decode reads a canonical body's ts as the Timestamp Schema does", () => {
  it.each(cases)("%s: %s", (ts, valid) => {
    expect(isTimestamp(ts)).toBe(valid)
    expect(decodesWith(ts)).toBe(valid)
    // The fast check answers for the writers' form (and rightly), and leaves any other to the Schema.
    expect(writerFormTimestamp(ts)).toBe(writerForm.test(ts) ? valid : undefined)
  })

  it("judges a text the same way every time: an invalid one twice, after a valid one of its second", () => {
    const invalid = at("2026-02-30")
    expect([decodesWith(invalid), decodesWith(invalid)]).toEqual([false, false])
    expect(decodesWith(at("2026-02-28"))).toBe(true)
    expect([decodesWith(invalid), decodesWith(at("2026-02-28"))]).toEqual([false, true])
  })
})
