/**
 * The live dashboard: an HTTP server on `@effect/platform` with these routes.
 *
 * - `GET /`: the page (see `dashboard/page.ts`).
 * - `GET /events`: the event feed as Server-Sent Events. Each result is one message, `data:` its
 *   JSON line (the `tail --format json` line) and, except for gaps, `id:` its stream id. The feed
 *   starts after the `Last-Event-ID` header when there is one (what `EventSource` sends when it
 *   reconnects), else at the `from` query parameter (`$` default, `0`, or an id). Query `kind`
 *   (kind globs, repeatable or comma-separated) and `arena` filter on the server. A comment line is
 *   sent every 15 s to keep the connection open. On a partitioned stream (`partitions`) the feed reads
 *   every partition key, and `id:` is the feed's position over all of them (`FeedPosition`), which
 *   `Last-Event-ID` and `from` also take. With a group probe (`groups`), the stream's
 *   consumer groups come on the same feed as messages of their own type, `event: groups` (no `id:`),
 *   each a `GroupWatch.Snapshot`, every `groupsInterval`.
 * - `GET /metrics`: every `maf_events_*` metric of the process in the Prometheus text format
 *   (`PrometheusText`): the library's readers' and the dashboard's own (`DashboardMetrics`), both at
 *   0 from the start for the stream (the readers' for each partition key of a partitioned stream),
 *   the groups' gauges when it watches them, and those of whatever else the process runs.
 *
 * Filters are bounded (`Feed.checkFilters`: at most 20 kind globs of at most 100 characters, an
 * arena of at most 200): beyond, the feed is answered 400.
 *
 * With a `token`, every request must carry it (`/metrics` too: Prometheus sends it with
 * `authorization: { credentials: … }`), as `Authorization: Bearer <token>` or a `token` query
 * parameter (which the page keeps for its own feed); without, it is answered 401. The token is
 * compared in constant time and never written anywhere.
 *
 * Each feed is a reader `Stream` of its own (a Redis connection of its own), interrupted when the
 * client goes away; closing the layer closes every connection. The groups are read by one fiber for
 * the whole server, whatever the number of feeds.
 *
 * @since 0.1.0
 */

import * as Crypto from "node:crypto"
import * as Http from "node:http"
import * as Net from "node:net"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Partitions, PrometheusText, ReadMetrics, StreamBackend } from "@maf/events"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as DashboardMetrics from "./DashboardMetrics.js"
import * as Page from "./dashboard/page.js"
import * as Feed from "./Feed.js"
import * as FeedPosition from "./FeedPosition.js"
import * as Format from "./Format.js"
import * as GroupWatch from "./GroupWatch.js"

/**
 * Options of the dashboard.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The stream's key (a partitioned stream's name). */
  readonly stream: string
  /** The stream's partitions (see `Partitions`); above 1, every feed reads them all. Default 1. */
  readonly partitions?: number | undefined
  /** Where the stream lives, shown on the page (`localhost:6379`, `in-memory`); never credentials. */
  readonly source: string
  /** The address to listen on. Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** The port; 0 picks a free one. Default 8080. */
  readonly port?: number | undefined
  /** How often an idle feed sends a keep-alive comment. Default 15 s. */
  readonly heartbeat?: Duration.DurationInput | undefined
  /** Reader options of every feed (tests make reads short). */
  readonly read?: Feed.Options["read"]
  /**
   * The access token every request must carry (`Authorization: Bearer <token>`, or `?token=`).
   * Default: none, no check (for a dashboard on a loopback address only).
   */
  readonly token?: Redacted.Redacted<string> | undefined
  /** Where the stream's consumer groups are read from (`GroupWatch.redis`, `GroupWatch.named`). Default: none shown. */
  readonly groups?: GroupWatch.Probe | undefined
  /** How often the groups are read. Default 2 s. */
  readonly groupsInterval?: Duration.DurationInput | undefined
}

/** 127.0.0.0/8 and ::1, in every spelling (IPv4-mapped ones included: `BlockList` maps them). */
const loopback = new Net.BlockList()
loopback.addSubnet("127.0.0.0", 8, "ipv4")
loopback.addAddress("::1", "ipv6")

/**
 * Whether a host is a loopback address (`localhost`, `127.0.0.0/8`, `::1`): reachable from this
 * machine only.
 *
 * @since 0.1.0
 * @category access
 */
export const isLoopback = (host: string): boolean => {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "")
  if (name === "localhost") return true
  const family = Net.isIP(name)
  return family !== 0 && loopback.check(name, family === 4 ? "ipv4" : "ipv6")
}

const digest = (text: string): Buffer => Crypto.createHash("sha256").update(text, "utf8").digest()

/**
 * A check of requests against an access token: whether a request carries it, as
 * `Authorization: Bearer <token>` or a `token` query parameter. Compared in constant time.
 *
 * @since 0.1.0
 * @category access
 */
export const tokenCheck = (
  token: Redacted.Redacted<string>
): ((request: {
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly url: string
}) => boolean) => {
  const expected = digest(Redacted.value(token))
  const matches = (given: string | null | undefined) =>
    given !== undefined && given !== null && Crypto.timingSafeEqual(digest(given), expected)
  return (request) => {
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? "")
    if (bearer !== null && matches(bearer[1])) return true
    return matches(new URL(request.url, "http://localhost").searchParams.get("token"))
  }
}

const unauthorized = HttpServerResponse.text(
  "an access token is required: send Authorization: Bearer <token>, or open the page with ?token=<token>\n",
  { status: 401, headers: { "www-authenticate": 'Bearer realm="maf-events"' } }
)

/**
 * One Server-Sent Events message of a feed item: `id:` (not for gaps: their id is the next entry's,
 * which a reconnect must not skip) and `data:` the JSON line. The id is the entry's, or `id` when
 * given (a partitioned feed's position).
 *
 * @since 0.1.0
 * @category encoding
 */
export const message = (item: Feed.Item, id?: string | undefined): string => {
  const data = `data: ${Format.jsonLine(item.result, item.body)}\n\n`
  return item.result._tag === "Gap" ? data : `id: ${id ?? item.result.streamId}\n${data}`
}

/**
 * Where a feed starts, checked: `from` (`$`, `0`, an entry id) on one key; on a partitioned stream, a
 * position for every partition (a `FeedPosition`, or `from` for each; `$` pinned to each partition's
 * last id now, so that the feed's first `id:` already names every partition), else what is wrong.
 */
const startOf = (
  options: Options,
  from: string
): Effect.Effect<
  { readonly from: string; readonly positions?: Partitions.Positions } | string,
  never,
  StreamBackend.StreamBackend
> => {
  const partitions = options.partitions ?? 1
  if (partitions <= 1 || !FeedPosition.isPosition(from)) {
    const problem = Feed.checkFrom(from)
    if (problem !== undefined) return Effect.succeed(`from ${problem}`)
  }
  if (partitions <= 1) return Effect.succeed({ from })
  const keys = Partitions.keys(options.stream, partitions)
  if (FeedPosition.isPosition(from)) {
    const positions = FeedPosition.decode(keys, from)
    return Effect.succeed(typeof positions === "string" ? positions : { from: "$", positions })
  }
  if (from !== "$") return Effect.succeed({ from, positions: Object.fromEntries(keys.map((k) => [k, from])) })
  // Unpinned when the server does not answer at once: the readers pin `$` themselves, with retries.
  return Partitions.lastIds({ stream: options.stream, partitions }).pipe(
    Effect.timeout(Duration.seconds(2)),
    Effect.map((positions) => ({ from, positions })),
    Effect.orElseSucceed(() => ({ from }))
  )
}

/**
 * The Server-Sent Events message of a groups snapshot: `event: groups`, no `id:` (a reconnect
 * resumes after the last entry, whatever groups were shown).
 *
 * @since 0.3.0
 * @category encoding
 */
export const groupsMessage = (snapshot: GroupWatch.Snapshot): string =>
  `event: groups\ndata: ${JSON.stringify(snapshot)}\n\n`

const kindsOf = (params: URLSearchParams): Array<string> =>
  params
    .getAll("kind")
    .flatMap((k) => k.split(","))
    .map((k) => k.trim())
    .filter((k) => k !== "")

/** Counts an item sent, and for an entry how old it was (now less its id's time). */
const measured = (stream: string) => {
  const sent = DashboardMetrics.sent.pipe(Metric.tagged("stream", stream))
  const delay = DashboardMetrics.delay.pipe(Metric.tagged("stream", stream))
  return (item: Feed.Item) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (item.result._tag === "Gap") return Effect.void
      const id = StreamBackend.parseEntryId(item.result.streamId)
      return Effect.zipRight(
        Metric.increment(sent),
        id === undefined ? Effect.void : Metric.update(delay, Math.max(0, now - id.ms))
      )
    })
}

const feed = (options: Options, groups: GroupWatch.Watch | undefined) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const backend = yield* StreamBackend.StreamBackend
    const params = new URL(request.url, "http://localhost").searchParams
    const lastEventId = request.headers["last-event-id"]?.trim()
    const from = lastEventId !== undefined && lastEventId !== "" ? lastEventId : (params.get("from") ?? "$")
    const arenaParam = params.get("arena") ?? ""
    const arena = arenaParam === "" ? undefined : arenaParam
    const kinds = kindsOf(params)
    const filters = Feed.checkFilters(kinds, arena)
    if (filters !== undefined) return HttpServerResponse.text(`${filters}\n`, { status: 400 })
    // (After the filters: a `$` start of a partitioned stream asks the server for its ends.)
    const start = yield* startOf(options, from)
    if (typeof start === "string") return HttpServerResponse.text(`${start}\n`, { status: 400 })
    const results = Feed.make(backend, {
      stream: options.stream,
      from: start.from,
      kinds,
      arena,
      read: { ...options.read, partitions: options.partitions, positions: start.positions }
    }).pipe(Stream.tap(measured(options.stream)))
    const partitions = options.partitions ?? 1
    const keys = partitions > 1 ? Partitions.keys(options.stream, partitions) : []
    const items =
      partitions <= 1
        ? Stream.map(results, (item) => message(item))
        : Stream.mapAccum(results, start.positions ?? {}, (at, item) => {
            const next = Partitions.advance(at, item.result)
            return [next, message(item, FeedPosition.encode(keys, next))]
          })
    const heartbeat = Stream.tick(options.heartbeat ?? Duration.seconds(15)).pipe(
      Stream.drop(1),
      Stream.as(": keep-alive\n\n")
    )
    const extras =
      groups === undefined ? heartbeat : Stream.merge(heartbeat, Stream.map(groups.changes, groupsMessage))
    const open = DashboardMetrics.feeds.pipe(Metric.tagged("stream", options.stream))
    const body = Stream.make(`retry: 2000\n: ${options.stream}\n\n`).pipe(
      Stream.concat(Stream.merge(items, extras, { haltStrategy: "left" })),
      Stream.mapChunks((chunk) => Chunk.of(Chunk.join(chunk, ""))),
      Stream.encodeText,
      (stream) =>
        Stream.unwrapScoped(
          Effect.as(
            Effect.acquireRelease(Metric.modify(open, 1), () => Metric.modify(open, -1)),
            stream
          )
        )
    )
    return HttpServerResponse.stream(body, {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" }
    })
  })

/**
 * Makes the stream's series of the feeds' readers (entries read, gaps, entries lost, failed reads)
 * and of the dashboard's own metrics exist from the start, at 0, so that `/metrics` has them before
 * the first event (a rate, or an alert on failures, needs the series before it moves). The readers'
 * are tagged with the key they read: on a partitioned stream, each partition key.
 */
const registerSeries = (options: Options) => {
  const series = (metrics: ReadonlyArray<Metric.Metric<any, any, any>>, stream: string) =>
    Effect.forEach(metrics, (metric) => Metric.value(Metric.tagged(metric, "stream", stream)), {
      discard: true
    })
  return Effect.zipRight(
    Effect.forEach(
      Partitions.keys(options.stream, options.partitions ?? 1),
      (key) => series([ReadMetrics.read, ReadMetrics.gaps, ReadMetrics.lost, ReadMetrics.failures], key),
      { discard: true }
    ),
    series([DashboardMetrics.feeds, DashboardMetrics.sent, DashboardMetrics.delay], options.stream)
  )
}

/**
 * The `/metrics` response: every `maf_events_*` metric of the process, in the Prometheus text format.
 *
 * @since 0.3.0
 * @category constructors
 */
export const metrics: Effect.Effect<HttpServerResponse.HttpServerResponse> = Effect.map(
  PrometheusText.snapshot({ prefix: "maf_events_" }),
  (body) =>
    HttpServerResponse.text(body, {
      contentType: PrometheusText.contentType,
      headers: { "cache-control": "no-store" }
    })
)

/**
 * The dashboard's routes, reading from the `StreamBackend` of the context; the groups from a running
 * watch, when there is one (`layer` starts it from `options.groups`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const router = (
  options: Options,
  groups?: GroupWatch.Watch | undefined
): HttpRouter.HttpRouter<never, StreamBackend.StreamBackend> => {
  const page = Page.render({ stream: options.stream, source: options.source, groups: groups !== undefined })
  const carriesToken = options.token === undefined ? undefined : tokenCheck(options.token)
  const guarded = <E, R>(
    handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    carriesToken === undefined
      ? handler
      : Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
          carriesToken(request) ? handler : Effect.succeed(unauthorized)
        )
  return HttpRouter.empty.pipe(
    HttpRouter.get(
      "/",
      guarded(
        Effect.succeed(
          HttpServerResponse.text(page, {
            contentType: "text/html; charset=utf-8",
            // The page's address may hold the token: no other site is told it.
            headers: { "referrer-policy": "no-referrer", "cache-control": "no-store" }
          })
        )
      )
    ),
    HttpRouter.get("/events", guarded(feed(options, groups))),
    HttpRouter.get("/metrics", guarded(metrics)),
    HttpRouter.get("/favicon.ico", Effect.succeed(HttpServerResponse.empty({ status: 204 })))
  )
}

/**
 * The dashboard served on Node's HTTP server; the layer provides the `HttpServer` (for its address).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError, StreamBackend.StreamBackend> =>
  Layer.unwrapEffect(
    Effect.sync(() => {
      const server = Http.createServer()
      const serve = Layer.scopedDiscard(
        Effect.gen(function* () {
          yield* registerSeries(options)
          const groups =
            options.groups === undefined
              ? undefined
              : yield* GroupWatch.watch(options.groups, {
                  stream: options.stream,
                  interval: options.groupsInterval
                })
          yield* HttpServer.serveEffect(router(options, groups))
          // Open feeds would hold the server's close: stop listening, then cut every connection
          // (their fibers are interrupted, their readers closed).
          yield* Effect.addFinalizer(() =>
            Effect.sync(() => {
              server.close()
              server.closeAllConnections()
            })
          )
        })
      )
      return serve.pipe(
        Layer.provideMerge(
          NodeHttpServer.layer(() => server, {
            host: options.host ?? "127.0.0.1",
            port: options.port ?? 8080
          })
        )
      )
    })
  )

/**
 * The page's address for a server address (`http://127.0.0.1:8080/`); an any-address bind is shown
 * as `127.0.0.1`.
 *
 * @since 0.1.0
 * @category getters
 */
export const urlOf = (address: HttpServer.Address): string => {
  if (address._tag === "UnixAddress") return `unix:${address.path}`
  const host = address.hostname === "0.0.0.0" || address.hostname === "::" ? "127.0.0.1" : address.hostname
  return `http://${host.includes(":") ? `[${host}]` : host}:${address.port}/`
}

/**
 * The address of the dashboard's server.
 *
 * @since 0.1.0
 * @category getters
 */
export const url: Effect.Effect<string, never, HttpServer.HttpServer> = HttpServer.addressWith((address) =>
  Effect.succeed(urlOf(address))
)

/**
 * A server that cannot listen (port taken, address refused) as a one-line reason.
 *
 * @since 0.1.0
 * @category errors
 */
export const describeServeError = (error: HttpServerError.ServeError): string => {
  const cause = error.cause
  return `cannot serve the dashboard: ${cause instanceof Error ? cause.message : String(cause)}`
}

/**
 * What the line announcing the dashboard's address adds when it has a token: how to use it, never
 * the token itself.
 *
 * @since 0.1.0
 * @category getters
 */
export const tokenNote = (token: Redacted.Redacted<string> | undefined): string =>
  token === undefined
    ? ""
    : " (access token required: add ?token=<token>, or send Authorization: Bearer <token>)"
