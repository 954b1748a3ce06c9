/**
 * What the consumer-group commands print: a delivery's JSON line (tail's, then delivery_count, group
 * and consumer), a gap, a group's state (lag null when unknown), a dead letter, durations for people.
 */
import { describe, expect, it } from "@effect/vitest"
import { type EventConsumer, WireCodec } from "@maf/events"
import * as DeadLetters from "../src/DeadLetters.js"
import * as Format from "../src/Format.js"
import * as GroupFormat from "../src/GroupFormat.js"

const data = JSON.stringify({
  schema_version: "1",
  kind: "llm.call",
  arena: "trading",
  arena_id: "run-1",
  phase: "gather",
  ts: "2026-05-14T11:22:33.123456+00:00",
  correlation_id: "0123456789abcdef0123456789abcdef",
  payload: { model: "m" }
})

const deliveryOf = (fields: ReadonlyArray<string>, deliveryCount: number): EventConsumer.Delivery =>
  Object.assign(WireCodec.decode("5-0", fields), {
    stream: "s",
    group: "g",
    consumer: "c",
    deliveryCount
  }) as EventConsumer.Delivery

const plain: Format.PrettyOptions = { color: false }

describe("GroupFormat", () => {
  it("a delivery's JSON object is tail's, then delivery_count, group and consumer, which win over body keys", () => {
    const delivery = deliveryOf(["data", data], 2)
    const object = GroupFormat.deliveryObject(delivery, JSON.parse(data))
    expect(Object.keys(object)).toEqual([
      ...Object.keys(Format.jsonObject(delivery, JSON.parse(data))),
      "delivery_count",
      "group",
      "consumer"
    ])
    expect(object).toMatchObject({
      stream_id: "5-0",
      variant: "event",
      delivery_count: 2,
      group: "g",
      consumer: "c"
    })
    const unknown = deliveryOf(
      ["data", JSON.stringify({ kind: "x.y", group: "theirs", ts: "2026-05-14T11:22:33Z" })],
      1
    )
    expect(GroupFormat.deliveryObject(unknown)).toEqual({
      stream_id: "5-0",
      variant: "unknown",
      kind: "x.y",
      group: "g",
      ts: "2026-05-14T11:22:33Z",
      delivery_count: 1,
      consumer: "c"
    })
  })

  it("a delivery's pretty line is tail's, with the delivery count from the second delivery on", () => {
    const first = deliveryOf(["data", data], 1)
    expect(GroupFormat.prettyDelivery(first, plain)).toBe(Format.pretty(first, plain))
    expect(GroupFormat.prettyDelivery(deliveryOf(["data", data], 3), plain)).toBe(
      `${Format.pretty(first, plain)}  (delivery 3)`
    )
  })

  it("a gap names the removed ids", () => {
    const gap: EventConsumer.Gap = {
      _tag: "Gap",
      streamId: "1-0",
      ids: ["1-0", "2-0"],
      lost: 2,
      stream: "s",
      group: "g",
      consumer: "c"
    }
    expect(GroupFormat.gapObject(gap)).toEqual({
      stream_id: "1-0",
      variant: "gap",
      ids: ["1-0", "2-0"],
      lost: 2,
      group: "g",
      consumer: "c"
    })
    expect(GroupFormat.prettyGap(gap)).toContain("2 pending entries were removed")
  })

  it("a group's state: lag null when the server cannot tell; consumers with their idle time", () => {
    const info = {
      name: "g",
      pending: 3,
      lastDeliveredId: "9-0",
      lag: undefined,
      consumers: [{ name: "member-one", pending: 3, idleMillis: 61_500 }]
    }
    expect(GroupFormat.infoObject("s", info)).toEqual({
      stream: "s",
      group: "g",
      pending: 3,
      lag: null,
      last_delivered_id: "9-0",
      consumers: [{ name: "member-one", pending: 3, idle_ms: 61_500 }]
    })
    expect(GroupFormat.prettyInfo("s", info).split("\n")).toEqual([
      "group g on s",
      "  pending            3",
      "  lag                unknown (the server cannot tell)",
      "  last delivered id  9-0",
      "  consumers          1",
      "    NAME        PENDING  IDLE",
      "    member-one        3  1 min 1 s"
    ])
  })

  it.each([
    [0, "0 ms"],
    [999, "999 ms"],
    [1_000, "1.0 s"],
    [59_949, "59.9 s"],
    [60_000, "1 min 0 s"],
    [3_599_999, "59 min 59 s"],
    [3_600_000, "1 h 0 min"],
    [90_061_000, "25 h 1 min"]
  ])("duration(%d) is %s", (millis, text) => {
    expect(GroupFormat.duration(millis)).toBe(text)
  })

  it("a dead letter read back: the consumer's fields, the original entry as tail shows it", () => {
    const fields = [
      "data",
      data,
      "original_id",
      "3-0",
      "group",
      "g",
      "consumer",
      "c",
      "delivery_count",
      "5",
      "error",
      "exit code 3: boom"
    ]
    const letter = DeadLetters.decode("7-0", fields)
    expect(GroupFormat.deadLetterObject(letter)).toEqual({
      id: "7-0",
      original_id: "3-0",
      group: "g",
      consumer: "c",
      delivery_count: 5,
      error: "exit code 3: boom",
      event: { stream_id: "3-0", variant: "event", ...JSON.parse(data) }
    })
    expect(GroupFormat.prettyDeadLetter(letter, plain).split("\n")[1]).toBe(
      "    dead letter 7-0: group g, consumer c, 5 deliveries: exit code 3: boom"
    )
    // An original without a data field stays a malformed entry, its fields kept.
    const bare = DeadLetters.decode("8-0", ["other", "x", "original_id", "4-0", "error", "e"])
    expect(GroupFormat.deadLetterObject(bare)).toMatchObject({
      original_id: "4-0",
      delivery_count: null,
      event: { stream_id: "4-0", variant: "malformed", reason: "no_data_field", raw: null }
    })
  })
})
