/**
 * The checker by table: synthetic histories, each changing one thing of a clean run, and the
 * violations (by rule) the checker must report for it — none where a known truth explains it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Checker from "../src/Checker.js"
import { clientName, type Delivery, type Entry, type Fault, type History } from "../src/History.js"

const entries: ReadonlyArray<Entry> = [
  { id: "1000-0", tag: "a1:0" },
  { id: "1001-0", tag: "f1:0" },
  { id: "1002-0", tag: "a2:0" }
]

const events = (list: ReadonlyArray<Entry>): Array<Delivery> =>
  list.map((e) => ({ _tag: "Event", id: e.id, tag: e.tag, at: 2000 }))

/** A clean run: two awaited events and one fire-and-forget, read by every reader, handled once. */
const clean: History = {
  seed: 1,
  topology: "single",
  seconds: 10,
  publishBoundMillis: 2500,
  waitsForReplicas: false,
  faults: [],
  awaited: [
    { tag: "a1:0", at: 1000, millis: 3, result: { _tag: "Written", id: "1000-0" } },
    { tag: "a2:0", at: 1002, millis: 3, result: { _tag: "Written", id: "1002-0" } }
  ],
  nowait: [{ tag: "f1:0", at: 1001, accepted: true }],
  dropsCounted: 0,
  flushedAtEnd: true,
  readers: [
    { name: "live-1", from: "$", startAfter: "0-0", deliveries: events(entries), caughtUp: true },
    { name: "replay", from: "0", startAfter: "0-0", deliveries: events(entries), caughtUp: true }
  ],
  handled: entries.map((e) => ({
    member: "m1",
    id: e.id,
    tag: e.tag,
    at: 3000,
    deliveryCount: 1,
    outcome: "ack" as const
  })),
  groupGaps: [],
  memberEnds: [],
  deadLettered: [],
  group: { pendingAtEnd: 0, caughtUp: true },
  final: entries,
  resources: {
    baselineConnections: 2,
    finalConnections: 2,
    baselinePerServer: { "chaos-bus": 1, "chaos-m1": 1 },
    finalPerServer: [
      { name: "chaos-bus", port: 6379, count: 1 },
      { name: "chaos-m1", port: 6379, count: 1 }
    ],
    rssMaxMb: 150,
    rssBoundMb: 1024
  }
}

const fault = (kind: Fault["kind"], at: number, more: Partial<Fault> = {}): Fault => ({
  kind,
  at,
  end: at + 100,
  detail: kind,
  losesData: false,
  failsOver: false,
  ...more
})

/** The stream at the end without `a1:0`. */
const withoutA1 = entries.filter((e) => e.tag !== "a1:0")
/** Readers and group that saw everything, with the stream at the end missing `a1:0`. */
const a1Gone = (h: History): History => ({ ...h, final: withoutA1 })

const cases: ReadonlyArray<{
  readonly name: string
  readonly history: History
  readonly rules: ReadonlyArray<string>
}> = [
  { name: "a clean run", history: clean, rules: [] },
  // ---- publish
  { name: "a Written event missing, no fault", history: a1Gone(clean), rules: ["publish.written-lost"] },
  {
    name: "a Written event missing after a server that lost its data",
    history: a1Gone({ ...clean, faults: [fault("crash", 1500, { losesData: true })] }),
    rules: []
  },
  {
    name: "a Written event missing, the data loss over before it was published",
    history: a1Gone({ ...clean, faults: [fault("crash", 500, { losesData: true })] }),
    rules: ["publish.written-lost"]
  },
  {
    name: "a Written event trimmed (below the trim's floor)",
    history: a1Gone({ ...clean, faults: [fault("trim", 1500, { trimmedBelow: "1001-0" })] }),
    rules: []
  },
  {
    name: "a Written event missing above a trim's floor",
    history: a1Gone({ ...clean, faults: [fault("trim", 1500, { trimmedBelow: "999-0" })] }),
    rules: ["publish.written-lost"]
  },
  {
    name: "a Written event no replica acknowledged, lost across a failover",
    history: a1Gone({
      ...clean,
      waitsForReplicas: true,
      awaited: [
        { ...clean.awaited[0]!, result: { _tag: "Written", id: "1000-0", replicas: 0 } },
        clean.awaited[1]!
      ],
      faults: [fault("failover", 1500, { failsOver: true })]
    }),
    rules: []
  },
  {
    name: "a Written event a replica acknowledged, lost across a failover",
    history: a1Gone({
      ...clean,
      waitsForReplicas: true,
      awaited: [
        { ...clean.awaited[0]!, result: { _tag: "Written", id: "1000-0", replicas: 1 } },
        clean.awaited[1]!
      ],
      faults: [fault("failover", 1500, { failsOver: true })]
    }),
    rules: ["publish.written-lost"]
  },
  {
    name: "a NotWritten Timeout in the stream (an unknown outcome)",
    history: {
      ...clean,
      awaited: [
        { ...clean.awaited[0]!, result: { _tag: "NotWritten", reason: "Timeout" } },
        clean.awaited[1]!
      ]
    },
    rules: []
  },
  {
    name: "a NotWritten Unavailable in the stream",
    history: {
      ...clean,
      awaited: [
        { ...clean.awaited[0]!, result: { _tag: "NotWritten", reason: "Unavailable" } },
        clean.awaited[1]!
      ]
    },
    rules: ["publish.not-written-but-there"]
  },
  {
    name: "a publish over its bound",
    history: { ...clean, awaited: [{ ...clean.awaited[0]!, millis: 2600 }, clean.awaited[1]!] },
    rules: ["publish.bound"]
  },
  {
    name: "a Written id that is not the entry's",
    history: {
      ...clean,
      awaited: [{ ...clean.awaited[0]!, result: { _tag: "Written", id: "999-0" } }, clean.awaited[1]!]
    },
    rules: ["publish.written-id"]
  },
  {
    name: "a Written id that is not a stream id (another command's reply)",
    history: {
      ...clean,
      awaited: [
        { ...clean.awaited[0]!, result: { _tag: "Written", id: ["1000-0", "1001-0"] as unknown as string } },
        clean.awaited[1]!
      ]
    },
    rules: ["publish.written-id"]
  },
  {
    name: "a fire-and-forget event taken and never written, not counted as dropped",
    history: { ...clean, final: entries.filter((e) => e.tag !== "f1:0") },
    rules: ["publish.drops-counted"]
  },
  {
    name: "a fire-and-forget event taken and never written, counted as dropped",
    history: { ...clean, final: entries.filter((e) => e.tag !== "f1:0"), dropsCounted: 1 },
    rules: []
  },
  {
    name: "fire-and-forget events refused by the full buffer, each counted",
    history: {
      ...clean,
      nowait: [...clean.nowait, { tag: "f1:1", at: 1003, accepted: false }],
      dropsCounted: 1
    },
    rules: []
  },
  {
    name: "more drops counted than made",
    history: { ...clean, dropsCounted: 2 },
    rules: ["publish.drops-counted"]
  },
  {
    name: "a bus that did not write what it held within 30 s after the publishers stopped (a stuck writer)",
    history: { ...clean, flushedAtEnd: false },
    rules: ["publish.stuck"]
  },
  // ---- readers
  {
    name: "a reader delivering an entry twice",
    history: {
      ...clean,
      readers: [clean.readers[0]!, { ...clean.readers[1]!, deliveries: events([...entries, entries[2]!]) }]
    },
    rules: ["readers.duplicate"]
  },
  {
    name: "a reader delivering out of order",
    history: {
      ...clean,
      readers: [
        clean.readers[0]!,
        { ...clean.readers[1]!, deliveries: events([entries[1]!, entries[0]!, entries[2]!]) }
      ]
    },
    rules: ["readers.order"]
  },
  {
    name: "a reader skipping an entry",
    history: {
      ...clean,
      readers: [clean.readers[0]!, { ...clean.readers[1]!, deliveries: events([entries[0]!, entries[2]!]) }]
    },
    rules: ["readers.skipped"]
  },
  {
    name: "a reader skipping an entry a Gap covers",
    history: {
      ...clean,
      readers: [
        clean.readers[0]!,
        {
          ...clean.readers[1]!,
          deliveries: [
            ...events([entries[0]!]),
            { _tag: "Gap", streamId: "1002-0", after: "1000-0", lost: 1, at: 2000 },
            ...events([entries[2]!])
          ]
        }
      ]
    },
    rules: []
  },
  {
    name: "a live reader starting after entries it then does not deliver",
    history: {
      ...clean,
      readers: [
        { ...clean.readers[0]!, startAfter: "1001-0", deliveries: events([entries[2]!]) },
        clean.readers[1]!
      ]
    },
    rules: []
  },
  {
    name: "a reader that did not catch up",
    history: { ...clean, readers: [clean.readers[0]!, { ...clean.readers[1]!, caughtUp: false }] },
    rules: ["readers.caught-up"]
  },
  {
    name: "an entry lost with the server's data that a reader had not read, without a Gap (the restart explains it)",
    history: {
      ...a1Gone(clean),
      faults: [fault("crash", 1500, { losesData: true })],
      readers: [clean.readers[0]!, { ...clean.readers[1]!, deliveries: events(withoutA1) }]
    },
    rules: []
  },
  {
    name: "an entry lost with a crash, then below a later trim's floor, that a reader had not read, without a Gap (the reader can tell: the stream's count went back)",
    history: {
      ...a1Gone(clean),
      faults: [fault("crash", 1500, { losesData: true }), fault("trim", 1800, { trimmedBelow: "1001-0" })],
      readers: [clean.readers[0]!, { ...clean.readers[1]!, deliveries: events(withoutA1) }]
    },
    rules: ["readers.skipped"]
  },
  {
    name: "an entry a failover took (written on the old master), passed by a reader without a Gap before a trim's floor passed it (the new master never had it)",
    history: {
      ...a1Gone(clean),
      faults: [fault("failover", 1500, { failsOver: true }), fault("trim", 2500, { trimmedBelow: "1001-0" })],
      readers: [clean.readers[0]!, { ...clean.readers[1]!, deliveries: events(withoutA1) }]
    },
    rules: []
  },
  {
    name: "an entry gone with a failover, passed by a reader without a Gap after a trim's floor had passed it (the trim is owed a Gap)",
    history: {
      ...a1Gone(clean),
      faults: [fault("failover", 1500, { failsOver: true }), fault("trim", 1800, { trimmedBelow: "1001-0" })],
      readers: [clean.readers[0]!, { ...clean.readers[1]!, deliveries: events(withoutA1) }]
    },
    rules: ["readers.skipped"]
  },
  {
    name: "a fire-and-forget entry lost with the server's data that one reader read and the other had not, without a Gap",
    history: {
      ...clean,
      final: entries.filter((e) => e.tag !== "f1:0"),
      dropsCounted: 0,
      faults: [fault("crash", 1500, { losesData: true })],
      readers: [
        clean.readers[0]!,
        { ...clean.readers[1]!, deliveries: events(entries.filter((e) => e.tag !== "f1:0")) }
      ]
    },
    rules: []
  },
  {
    name: "a fire-and-forget event written twice (a retried batch), both copies lost with the server's data, one copy unread by a reader, without a Gap",
    history: {
      ...clean,
      final: entries.filter((e) => e.tag !== "f1:0"),
      faults: [fault("crash", 1500, { losesData: true })],
      readers: [
        {
          ...clean.readers[0]!,
          deliveries: events([entries[0]!, entries[1]!, { id: "1001-1", tag: "f1:0" }, entries[2]!])
        },
        { ...clean.readers[1]!, deliveries: events([entries[0]!, entries[1]!, entries[2]!]) }
      ]
    },
    rules: []
  },
  {
    name: "an awaited publish answered Timeout, written after all, then lost with the server's data, unread by a reader, without a Gap",
    history: {
      ...a1Gone(clean),
      awaited: [
        { ...clean.awaited[0]!, result: { _tag: "NotWritten", reason: "Timeout" } },
        clean.awaited[1]!
      ],
      faults: [fault("crash", 1500, { losesData: true })],
      readers: [clean.readers[0]!, { ...clean.readers[1]!, deliveries: events(withoutA1) }]
    },
    rules: []
  },
  {
    name: "a fire-and-forget entry trimmed that one reader read and the other had not, without a Gap",
    history: {
      ...clean,
      final: entries.filter((e) => e.tag !== "f1:0"),
      faults: [fault("trim", 1500, { trimmedBelow: "1002-0" })],
      readers: [
        clean.readers[0]!,
        { ...clean.readers[1]!, deliveries: events(entries.filter((e) => e.tag !== "f1:0")) }
      ]
    },
    rules: ["readers.skipped"]
  },
  {
    name: "a trimmed entry a reader had not read, without a Gap",
    history: {
      ...a1Gone(clean),
      faults: [fault("trim", 1500, { trimmedBelow: "1001-0" })],
      readers: [clean.readers[0]!, { ...clean.readers[1]!, deliveries: events(withoutA1) }]
    },
    rules: ["readers.skipped"]
  },
  // ---- groups
  {
    name: "a member that stopped consuming by itself",
    history: { ...clean, memberEnds: [{ member: "m2", cause: "TypeError: not a function" }] },
    rules: ["groups.member-ended"]
  },
  {
    name: "an entry never handled",
    history: { ...clean, handled: clean.handled.slice(1) },
    rules: ["groups.unhandled"]
  },
  {
    name: "an entry whose handling only failed",
    history: { ...clean, handled: [{ ...clean.handled[0]!, outcome: "fail" }, ...clean.handled.slice(1)] },
    rules: ["groups.unhandled"]
  },
  {
    name: "an entry dead-lettered",
    history: {
      ...clean,
      handled: [{ ...clean.handled[0]!, outcome: "fail" }, ...clean.handled.slice(1)],
      deadLettered: [{ id: "5000-0", tag: "a1:0" }]
    },
    rules: []
  },
  {
    name: "an entry removed while pending (a group Gap)",
    history: { ...clean, handled: clean.handled.slice(1), groupGaps: [{ member: "m2", ids: ["1000-0"] }] },
    rules: []
  },
  {
    name: "an acknowledged entry delivered again, no fault between",
    history: {
      ...clean,
      handled: [...clean.handled, { ...clean.handled[0]!, member: "m2", at: 4000, deliveryCount: 2 }]
    },
    rules: ["groups.acked-redelivered"]
  },
  {
    name: "an acknowledged entry delivered again after the acking member's connection was killed",
    history: {
      ...clean,
      faults: [fault("clientKill", 3500, { touched: [clientName(clean.handled[0]!.member)] })],
      handled: [...clean.handled, { ...clean.handled[0]!, member: "m2", at: 4000, deliveryCount: 2 }]
    },
    rules: []
  },
  {
    name: "an acknowledged entry delivered again, only other clients' connections killed between",
    history: {
      ...clean,
      faults: [
        fault("clientKill", 3500, { touched: [clientName("live-1"), clientName("m2")] }),
        fault("memberKill", 3600, { touched: [clientName("m3")] })
      ],
      handled: [...clean.handled, { ...clean.handled[0]!, member: "m2", at: 4000, deliveryCount: 2 }]
    },
    rules: ["groups.acked-redelivered"]
  },
  {
    name: "an acknowledged entry delivered again after a server hang",
    history: {
      ...clean,
      faults: [fault("hangLong", 3500)],
      handled: [...clean.handled, { ...clean.handled[0]!, member: "m2", at: 4000, deliveryCount: 2 }]
    },
    rules: []
  },
  {
    name: "an acknowledged entry delivered again, only a trim between",
    history: {
      ...clean,
      faults: [fault("trim", 3500, { trimmedBelow: "1-0" })],
      handled: [...clean.handled, { ...clean.handled[0]!, member: "m2", at: 4000, deliveryCount: 2 }]
    },
    rules: ["groups.acked-redelivered"]
  },
  {
    name: "entries pending at the end",
    history: { ...clean, group: { pendingAtEnd: 2, caughtUp: true } },
    rules: ["groups.pending"]
  },
  // ---- resources
  {
    name: "a client holding more connections to a server than at the start",
    history: {
      ...clean,
      resources: {
        ...clean.resources,
        finalPerServer: [
          { name: "chaos-bus", port: 6379, count: 2 },
          { name: "chaos-m1", port: 6379, count: 1 }
        ]
      }
    },
    rules: ["resources.connections"]
  },
  {
    name: "a client connected to more servers than at the start (a Cluster's nodes)",
    history: {
      ...clean,
      resources: {
        ...clean.resources,
        finalPerServer: [
          { name: "chaos-bus", port: 6379, count: 1 },
          { name: "chaos-bus", port: 6380, count: 1 },
          { name: "chaos-m1", port: 6379, count: 1 }
        ]
      }
    },
    rules: []
  },
  {
    name: "RSS above its bound",
    history: { ...clean, resources: { ...clean.resources, rssMaxMb: 2000 } },
    rules: ["resources.rss"]
  }
]

describe("Checker.check", () => {
  for (const { name, history, rules } of cases) {
    it(`${name}: ${rules.length === 0 ? "no violation" : rules.join(", ")}`, () => {
      const verdict = Checker.check(history)
      expect([...new Set(verdict.violations.map((v) => v.rule))].sort()).toEqual([...rules].sort())
      expect(verdict.ok).toBe(rules.length === 0)
    })
  }

  it("names the events of a violation in its message", () => {
    const [violation] = Checker.check(a1Gone(clean)).violations
    expect(violation?.message).toBe(
      "a1:0 was answered Written as 1000-0 but is not in the stream, and no fault explains it"
    )
  })

  it("counts what a fault explains as lost, with its cause", () => {
    const verdict = Checker.check(a1Gone({ ...clean, faults: [fault("crash", 1500, { losesData: true })] }))
    expect(verdict.figures.lost).toEqual({ "server data loss": 1 })
  })

  it("counts entries a server took away before a reader read them, unannounced", () => {
    const verdict = Checker.check({
      ...a1Gone(clean),
      faults: [fault("crash", 1500, { losesData: true })],
      readers: [clean.readers[0]!, { ...clean.readers[1]!, deliveries: events(withoutA1) }]
    })
    expect(verdict.figures.lostUnannounced).toBe(1)
  })

  it("lists ten violations of a rule and counts the rest", () => {
    const awaited = Array.from({ length: 15 }, (_, n) => ({
      tag: `a1:${n}`,
      at: 1000,
      millis: 3000,
      result: { _tag: "NotWritten" as const, reason: "Timeout" }
    }))
    const verdict = Checker.check({ ...clean, awaited })
    const bound = verdict.violations.filter((v) => v.rule === "publish.bound")
    expect(bound.length).toBe(11)
    expect(bound.at(-1)?.message).toBe("… and 5 more publish.bound violations")
  })
})
