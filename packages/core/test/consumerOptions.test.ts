/**
 * A member's options as the member loop runs on them (`internal/consumerOptions.ts`): every default,
 * each bound at its edge (the least accepted, the first refused, with the whole message), durations
 * in any form, and the texts a dead letter keeps short. What a member does with them is the matter
 * of the `EventConsumer.*` tests.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { EventCatalog, type EventConsumer, EventKind, WireCodec } from "@maf/events"
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import {
  defaultConsumerName,
  defaults,
  errorTextMax,
  resolve,
  shortened
} from "../src/internal/consumerOptions.js"

const options = (more: Partial<EventConsumer.MemberOptions> = {}): EventConsumer.MemberOptions => ({
  group: "g",
  ...more
})

/** The message of the `RangeError` resolving throws, or a note that it did not. */
const refusal = (more: Record<string, unknown>): string => {
  try {
    resolve(options(more as Partial<EventConsumer.MemberOptions>))
    return "(accepted)"
  } catch (error) {
    expect(error).toBeInstanceOf(RangeError)
    return (error as Error).message
  }
}

const hostname = process.env.HOSTNAME
afterEach(() => {
  if (hostname === undefined) delete process.env.HOSTNAME
  else process.env.HOSTNAME = hostname
})

describe("a member's options", () => {
  it("every default", () => {
    process.env.HOSTNAME = "box"
    const config = resolve(options())
    expect(config).toMatchObject({
      stream: "maf:events",
      group: "g",
      consumer: `box-${process.pid}`,
      from: "$",
      concurrency: 1,
      maxDeliveries: 5,
      minIdleMillis: 30_000,
      deadLetterStream: "maf:events:dead",
      onMissingGroup: "recreate",
      drainMillis: 10_000,
      blockMillis: 1_000,
      removeIdleAfterMillis: 3_600_000,
      propagateTrace: true,
      parentOnProducer: false
    })
    expect(config.retrySchedule).toBe(defaults.retrySchedule)
    expect(config.failureSchedule).toBe(defaults.failureSchedule)
    expect(config.codec).toBe(WireCodec.canonical)
  })

  it("the default member name: HOSTNAME and the process id, host when HOSTNAME is unset", () => {
    process.env.HOSTNAME = "trading-7"
    expect(defaultConsumerName()).toBe(`trading-7-${process.pid}`)
    delete process.env.HOSTNAME
    expect(defaultConsumerName()).toBe(`host-${process.pid}`)
  })

  it("what is given is kept: names, stream, dead-letter stream, schedules, policies, a catalog's codec", () => {
    const retrySchedule = Schedule.map(Schedule.spaced("1 second"), () => Duration.seconds(1))
    const failureSchedule = Schedule.recurs(2)
    const Fill = EventKind.make("trade.fill", Schema.Struct({ qty: Schema.Number }))
    const catalog = EventCatalog.canonical.pipe(EventCatalog.add(Fill))
    const config = resolve({
      group: "g",
      consumer: "me",
      stream: "s",
      retrySchedule,
      failureSchedule,
      onMissingGroup: "fail",
      propagateTrace: false,
      parentOnProducer: true,
      catalog
    })
    expect(config).toMatchObject({
      consumer: "me",
      stream: "s",
      deadLetterStream: "s:dead",
      onMissingGroup: "fail",
      propagateTrace: false,
      parentOnProducer: true
    })
    expect(config.retrySchedule).toBe(retrySchedule)
    expect(config.failureSchedule).toBe(failureSchedule)
    expect(config.codec.catalog).toBe(catalog)
    expect(resolve(options({ stream: "s", deadLetterStream: "dead" })).deadLetterStream).toBe("dead")
  })

  it("each bound at its edge: the least accepted", () => {
    expect(resolve(options({ concurrency: 1 })).concurrency).toBe(1)
    expect(resolve(options({ maxDeliveries: 0 })).maxDeliveries).toBe(0)
    expect(resolve(options({ minIdle: 3 })).minIdleMillis).toBe(3)
    expect(resolve(options({ drainTimeout: 0 })).drainMillis).toBe(0)
    expect(resolve(options({ removeIdleConsumersAfter: 0 })).removeIdleAfterMillis).toBe(0)
    expect(resolve(options({ removeIdleConsumersAfter: Duration.infinity })).removeIdleAfterMillis).toBe(
      Number.POSITIVE_INFINITY
    )
    // A block is at least a millisecond, in whole milliseconds (up).
    expect(resolve(options({ block: 0 })).blockMillis).toBe(1)
    expect(resolve(options({ block: "1500 micros" })).blockMillis).toBe(2)
    expect(resolve(options({ block: "2 seconds" })).blockMillis).toBe(2_000)
    for (const from of ["$", "0", "1715680953123-0", "5"]) expect(resolve(options({ from })).from).toBe(from)
  })

  it("each bound at its edge: the first refused, with the whole message", () => {
    const cases: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
      [{ group: "" }, "group must be a non-empty string"],
      [{ group: 5 }, "group must be a non-empty string"],
      [{ consumer: "" }, "consumer must be a non-empty string"],
      [{ consumer: 5 }, "consumer must be a non-empty string"],
      [{ concurrency: 0 }, "concurrency must be an integer >= 1, got 0"],
      [{ concurrency: 2.5 }, "concurrency must be an integer >= 1, got 2.5"],
      [{ maxDeliveries: -1 }, "maxDeliveries must be an integer >= 0, got -1"],
      [{ maxDeliveries: 0.5 }, "maxDeliveries must be an integer >= 0, got 0.5"],
      [{ from: "" }, 'from must be "$", "0" or an entry id like 1715680953123-0, got '],
      [{ from: "later" }, 'from must be "$", "0" or an entry id like 1715680953123-0, got later'],
      [{ onMissingGroup: "ignore" }, 'onMissingGroup must be "recreate" or "fail", got ignore'],
      [{ minIdle: 2 }, "minIdle must be a duration of at least 3 ms, got 2"],
      [{ minIdle: -5 }, "minIdle must be a duration of at least 3 ms, got -5"],
      [{ minIdle: "soon" }, "minIdle must be a duration of at least 3 ms, got soon"],
      [{ drainTimeout: -1 }, "drainTimeout must be a duration of at least 0 ms, got -1"],
      [{ block: -1 }, "block must be a duration of at least 0 ms, got -1"],
      [
        { removeIdleConsumersAfter: -1 },
        "removeIdleConsumersAfter must be a duration of at least 0 ms, got -1"
      ]
    ]
    for (const [given, message] of cases)
      expect(refusal(given), JSON.stringify(given)).toBe(`EventConsumer option ${message}`)
  })

  it("a text is kept up to 500 characters: a longer one is cut to 499 and an ellipsis", () => {
    expect(errorTextMax).toBe(500)
    const exactly = "x".repeat(500)
    expect(shortened(exactly)).toBe(exactly)
    const longer = `${"y".repeat(499)}zz`
    expect(shortened(longer)).toBe(`${"y".repeat(499)}…`)
    expect(shortened("")).toBe("")
  })
})
