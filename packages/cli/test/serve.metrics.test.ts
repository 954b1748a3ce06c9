/**
 * `maf-events serve` scraped as Prometheus would (a real process over a real redis-server): `GET
 * /metrics` answers the text format with the process' `maf_events_*` metrics. The stream's series
 * are there from the start, at 0; after entries flowed through a feed, the reader's and the
 * dashboard's counters moved by exactly what was sent, the delay histogram has its buckets
 * (cumulative, `+Inf` equal to `_count`), the open feed is counted, and the stream's consumer groups
 * show as the group gauges (from `XINFO GROUPS`). The groups come on the feed too, as
 * `event: groups` messages.
 */
import { beforeAll, expect, layer } from "@effect/vitest"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Bin from "./helpers/bin.js"
import * as Sse from "./helpers/sse.js"

beforeAll(() => Bin.assertBuilt())

const stream = `test:serve-metrics:${process.pid}`

/** The value of the sample with exactly this name and these labels (in the order written). */
const sampleValue = (text: string, sample: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `))
  return line === undefined ? undefined : Number(line.slice(sample.length + 1))
}

const scrape = (url: string) =>
  Effect.promise(() =>
    fetch(`${url}metrics`).then(async (r) => ({
      status: r.status,
      contentType: r.headers.get("content-type"),
      text: await r.text()
    }))
  )

/** Scrapes until `check` passes (the groups are read every 2 s), at most 10 s. */
const scrapeUntil = (url: string, check: (text: string) => boolean) =>
  Effect.flatMap(scrape(url), (r) => (check(r.text) ? Effect.succeed(r) : Effect.fail(r.text))).pipe(
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("10 seconds"))),
    Effect.orDie
  )

/** Messages until `n` entries came (groups messages in between), and one groups message at least. */
const untilEntries = (feed: Sse.Feed, n: number) =>
  Effect.gen(function* () {
    const messages: Array<Sse.Message> = []
    while (
      messages.filter((m) => m.event === undefined).length < n ||
      !messages.some((m) => m.event === "groups")
    ) {
      messages.push(...(yield* feed.takeAny(1)))
    }
    return messages
  })

const event = (kind: string, i: number) =>
  JSON.stringify({
    schema_version: "1",
    kind,
    arena: "trading",
    ts: "2026-05-14T11:22:33.123456+00:00",
    payload: { i }
  })

layer(RedisTestServer.layer(), { excludeTestServices: true })("maf-events serve, scraped", (it) => {
  it.scoped(
    "GET /metrics: the reader's and the dashboard's counters, the delay histogram's buckets, the groups' gauges",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        for (const [i, kind] of ["arena.start", "llm.call", "llm.error", "phase.complete"].entries()) {
          yield* server.command("XADD", stream, "*", "data", event(kind, i))
        }
        yield* server.command("XADD", stream, "*", "data", "{not json")
        // A group that took two entries and acknowledged none: 2 pending, 3 not delivered.
        yield* server.command("XGROUP", "CREATE", stream, "workers", "0")
        yield* server.command("XREADGROUP", "GROUP", "workers", "w1", "COUNT", "2", "STREAMS", stream, ">")

        const serve = yield* Bin.start([
          "serve",
          "--port",
          "0",
          "--stream",
          stream,
          "--redis-url",
          server.url
        ])
        yield* serve.until("the dashboard's address", () => /^Dashboard: \S+\n/m.test(serve.stdout()))
        const url = /^Dashboard: (\S+)$/m.exec(serve.stdout())![1]!

        // Before any feed: the text format, the groups' gauges, no entry sent yet.
        const first = yield* scrapeUntil(url, (t) => t.includes("maf_events_group_pending"))
        expect(first.status).toBe(200)
        expect(first.contentType).toBe("text/plain; version=0.0.4; charset=utf-8")
        expect(first.text).toContain("# TYPE maf_events_group_pending gauge")
        expect(sampleValue(first.text, `maf_events_group_pending{group="workers",stream="${stream}"}`)).toBe(
          2
        )
        expect(sampleValue(first.text, `maf_events_group_lag{group="workers",stream="${stream}"}`)).toBe(3)
        // The stream's series are there from the start, at 0: rates and alerts need them before they move.
        for (const name of [
          "read_total",
          "read_gaps_total",
          "read_failures_total",
          "dashboard_sent_total",
          "dashboard_feeds"
        ]) {
          expect(sampleValue(first.text, `maf_events_${name}{stream="${stream}"}`), name).toBe(0)
        }
        expect(sampleValue(first.text, `maf_events_dashboard_delay_ms_count{stream="${stream}"}`)).toBe(0)

        // Entries flow through a feed from 0; the groups come on it too.
        const feed = yield* Sse.open(`${url}events?from=0`)
        const messages = yield* untilEntries(feed, 5)
        const groups = messages.find((m) => m.event === "groups")
        expect(groups === undefined ? undefined : JSON.parse(groups.data).groups).toEqual([
          { name: "workers", pending: 2, lag: 3, consumers: 1, last_delivered_id: expect.any(String) }
        ])

        const read = `maf_events_read_total{stream="${stream}"}`
        const sent = `maf_events_dashboard_sent_total{stream="${stream}"}`
        const second = yield* scrapeUntil(url, (t) => sampleValue(t, sent) === 5)
        expect(sampleValue(second.text, read)).toBe(5)
        expect(
          sampleValue(second.text, `maf_events_read_malformed_total{reason="json_decode",stream="${stream}"}`)
        ).toBe(1)
        expect(sampleValue(second.text, `maf_events_dashboard_feeds{stream="${stream}"}`)).toBe(1)
        expect(second.text).toContain("# TYPE maf_events_dashboard_delay_ms histogram")
        const buckets = second.text
          .split("\n")
          .filter((l) => l.startsWith(`maf_events_dashboard_delay_ms_bucket{stream="${stream}",le="`))
          .map((l) => Number(l.slice(l.lastIndexOf(" ") + 1)))
        expect(buckets).toHaveLength(16)
        for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]!)
        expect(buckets.at(-1)).toBe(5)
        expect(sampleValue(second.text, `maf_events_dashboard_delay_ms_count{stream="${stream}"}`)).toBe(5)

        // More entries, live: the counters move by as many; the group's lag grows with them.
        for (let i = 0; i < 3; i++)
          yield* server.command("XADD", stream, "*", "data", event("agent.signal", 10 + i))
        yield* untilEntries(feed, 3)
        const third = yield* scrapeUntil(
          url,
          (t) =>
            sampleValue(t, sent) === 8 &&
            sampleValue(t, `maf_events_group_lag{group="workers",stream="${stream}"}`) === 6
        )
        expect(sampleValue(third.text, read)).toBe(8)
        // Live entries are sent within milliseconds: some land in the small buckets.
        expect(
          sampleValue(third.text, `maf_events_dashboard_delay_ms_bucket{stream="${stream}",le="1024"}`)
        ).toBeGreaterThan(0)

        yield* feed.close
        const closed = yield* scrapeUntil(
          url,
          (t) => sampleValue(t, `maf_events_dashboard_feeds{stream="${stream}"}`) === 0
        )
        expect(sampleValue(closed.text, sent)).toBe(8)
      }),
    60_000
  )
})
