/**
 * Traces across the bus, as a collector sees them: the built `maf-events` run as real processes
 * against a real redis-server, exporting to a real OTLP/HTTP receiver (a `node:http` server in this
 * test that records every request). `publish` run with `TRACEPARENT` writes its entry in that trace
 * (the entry's `traceparent` field: the same trace id, the `send` span's own id) and exports the
 * `send` span; `consume`, another process, exports a `process` span that links to it, and a
 * `settle` span for its ack. Both protocols: `http/json` decoded, `http/protobuf` checked by its
 * content type and the span's name and trace id in its bytes.
 */
import * as Fs from "node:fs"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { beforeAll, expect, layer } from "@effect/vitest"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Bin from "./helpers/bin.js"

beforeAll(() => Bin.assertBuilt())

/** One request the receiver got. */
interface Received {
  readonly path: string
  readonly contentType: string
  readonly body: Buffer
}

/** An OTLP/HTTP receiver on a free port, recording what it gets; closed with the scope. */
const receiver = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly received: Array<Received>; readonly server: Http.Server }>(
    (resume) => {
      const received: Array<Received> = []
      const server = Http.createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          const contentType = request.headers["content-type"] ?? ""
          received.push({ path: request.url ?? "", contentType, body: Buffer.concat(chunks) })
          // An empty ExportTraceServiceResponse, in the request's own encoding.
          response.writeHead(200, {
            "content-type": contentType.includes("json") ? "application/json" : contentType
          })
          response.end(contentType.includes("json") ? "{}" : "")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as Net.AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, received, server }))
      })
    }
  ),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

/** An OTLP/JSON span, as much of it as the test reads. */
interface JsonSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }>
  readonly links?: ReadonlyArray<{ readonly traceId: string; readonly spanId: string }>
  readonly status?: { readonly code?: number }
}

/** The spans of the JSON requests, each with its resource's `service.name`. */
const jsonSpans = (received: ReadonlyArray<Received>) =>
  received
    .filter((r) => r.contentType.includes("json"))
    .flatMap((r) => {
      const request = JSON.parse(r.body.toString("utf8")) as {
        resourceSpans: ReadonlyArray<{
          resource: { attributes: JsonSpan["attributes"] }
          scopeSpans: ReadonlyArray<{ spans: ReadonlyArray<JsonSpan> }>
        }>
      }
      return request.resourceSpans.flatMap((resourceSpans) => {
        const service = resourceSpans.resource.attributes.find((a) => a.key === "service.name")?.value
          .stringValue
        return resourceSpans.scopeSpans.flatMap((scope) => scope.spans.map((span) => ({ service, span })))
      })
    })

/** A span's attributes as plain values. */
const attributes = (span: JsonSpan) =>
  Object.fromEntries(
    span.attributes.map(({ key, value }) => [
      key,
      value.stringValue ?? (value.intValue === undefined ? value.boolValue : Number(value.intValue))
    ])
  )

// OTLP's span kinds.
const PRODUCER = 4
const CONSUMER = 5
const CLIENT = 3

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
const callerSpanId = "00f067aa0ba902b7"

layer(RedisTestServer.layer(), { excludeTestServices: true })("maf-events traces over OTLP/HTTP", (it) => {
  it.scoped(
    "publish with TRACEPARENT sends in that trace; consume, another process, processes in a span linked to the send span",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const otlp = yield* receiver
        const url = `redis://127.0.0.1:${server.port}/0`
        const stream = `test:cli-tracing:${process.pid}`
        const otel = (service: string, protocol: string) => ({
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_SERVICE_NAME: service
        })

        const published = yield* Bin.run(
          ["publish", "arena.start", "--arena", "trading", "--stream", stream, "--redis-url", url],
          { ...otel("producer", "http/json"), TRACEPARENT: `00-${traceId}-${callerSpanId}-01` }
        )
        expect(published.code).toBe(0)
        const id = published.stdout.trim()

        const sends = jsonSpans(otlp.received).filter(({ span }) => span.name === `send ${stream}`)
        expect(sends.length).toBe(1)
        const send = sends[0]!
        expect(send.service).toBe("producer")
        expect(send.span.kind).toBe(PRODUCER)
        expect(send.span.traceId).toBe(traceId)
        expect(send.span.parentSpanId).toBe(callerSpanId)
        expect(send.span.spanId).not.toBe(callerSpanId)
        expect(attributes(send.span)).toEqual({
          "messaging.system": "redis",
          "messaging.destination.name": stream,
          "messaging.operation.type": "send",
          "messaging.operation.name": "publish",
          "messaging.message.id": id,
          "server.address": "127.0.0.1",
          "server.port": server.port
        })

        // On the wire: data, then the send span's context.
        const entries = (yield* server.command("XRANGE", stream, "-", "+")) as Array<[string, Array<string>]>
        expect(entries.length).toBe(1)
        expect(entries[0]![1][0]).toBe("data")
        expect(entries[0]![1].slice(2)).toEqual(["traceparent", `00-${traceId}-${send.span.spanId}-01`])

        const consumed = yield* Bin.run(
          [
            "consume",
            "--stream",
            stream,
            "--group",
            "auditors",
            "--from",
            "0",
            "--limit",
            "1",
            "--redis-url",
            url
          ],
          otel("consumer", "http/json")
        )
        expect(consumed.code).toBe(0)
        const consumerSpans = jsonSpans(otlp.received).filter(({ service }) => service === "consumer")
        const processSpan = consumerSpans.find(({ span }) => span.name === `process ${stream}`)!.span
        expect(processSpan.kind).toBe(CONSUMER)
        expect(processSpan.links?.map((link) => [link.traceId, link.spanId])).toEqual([
          [traceId, send.span.spanId]
        ])
        // A link, not a parent: the consumer's work is a trace of its own.
        expect(processSpan.traceId).not.toBe(traceId)
        expect(attributes(processSpan)).toMatchObject({
          "messaging.system": "redis",
          "messaging.destination.name": stream,
          "messaging.operation.type": "process",
          "messaging.consumer.group.name": "auditors",
          "messaging.message.id": id
        })
        const settle = consumerSpans.find(({ span }) => span.name === `settle ${stream}`)!.span
        expect(settle.kind).toBe(CLIENT)
        expect(attributes(settle)).toMatchObject({
          "messaging.operation.type": "settle",
          "messaging.operation.name": "ack",
          "messaging.batch.message_count": 1
        })

        // http/protobuf: the same span, in OTLP's protobuf encoding.
        const before = otlp.received.length
        const again = yield* Bin.run(["publish", "arena.complete", "--stream", stream, "--redis-url", url], {
          ...otel("producer", "http/protobuf"),
          TRACEPARENT: `00-${traceId}-${callerSpanId}-01`
        })
        expect(again.code).toBe(0)
        const proto = otlp.received.slice(before)
        expect(proto.map((r) => [r.path, r.contentType])).toEqual([["/v1/traces", "application/x-protobuf"]])
        expect(proto[0]!.body.includes(Buffer.from(`send ${stream}`))).toBe(true)
        expect(proto[0]!.body.includes(Buffer.from(traceId, "hex"))).toBe(true)
      })
  )

  it.scoped(
    "publish --input with TRACEPARENT: the run is a span of that trace, which every event carries",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisTestServer.RedisTestServer
        const otlp = yield* receiver
        const stream = `test:cli-tracing-input:${process.pid}`
        const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "maf-tracing-input-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
        const input = Path.join(dir, "events.jsonl")
        Fs.writeFileSync(
          input,
          [0, 1, 2]
            .map((i) => JSON.stringify({ kind: "agent.signal", arena: "trading", payload: { i } }))
            .join("\n")
        )
        const published = yield* Bin.run(
          [
            "publish",
            "--input",
            input,
            "--stream",
            stream,
            "--redis-url",
            `redis://127.0.0.1:${server.port}/0`
          ],
          {
            OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
            OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
            TRACEPARENT: `00-${traceId}-${callerSpanId}-01`
          }
        )
        expect(published.code, published.stderr).toBe(0)
        const spans = jsonSpans(otlp.received).map(({ span }) => span)
        const run = spans.find((span) => span.name === "maf-events publish --input")!
        expect(run.traceId).toBe(traceId)
        expect(run.parentSpanId).toBe(callerSpanId)
        const entries = (yield* server.command("XRANGE", stream, "-", "+")) as Array<[string, Array<string>]>
        expect(entries.map(([, fields]) => fields.slice(2))).toEqual(
          entries.map(() => ["traceparent", `00-${traceId}-${run.spanId}-01`])
        )
        const batches = spans.filter((span) => span.name === `send ${stream}`)
        expect(batches.length).toBeGreaterThanOrEqual(1)
        for (const batch of batches) {
          expect(batch.kind).toBe(PRODUCER)
          expect(batch.links?.map((link) => link.spanId)).toEqual([run.spanId])
        }
      })
  )

  it.scoped("no OTLP endpoint: nothing is exported, and the entry is data alone without TRACEPARENT", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const stream = `test:cli-tracing-off:${process.pid}`
      const published = yield* Bin.run([
        "publish",
        "arena.start",
        "--stream",
        stream,
        "--redis-url",
        `redis://127.0.0.1:${server.port}/0`
      ])
      expect(published.code).toBe(0)
      const entries = (yield* server.command("XRANGE", stream, "-", "+")) as Array<[string, Array<string>]>
      expect(entries[0]![1].length).toBe(2)
    })
  )

  it.scoped("an unsupported protocol is said on stderr; the command still runs", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const published = yield* Bin.run(
        [
          "publish",
          "arena.start",
          "--stream",
          `test:cli-tracing-grpc:${process.pid}`,
          "--redis-url",
          `redis://127.0.0.1:${server.port}/0`
        ],
        { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }
      )
      expect(published.code).toBe(0)
      expect(published.stderr).toContain("OTEL_EXPORTER_OTLP_PROTOCOL")
      expect(published.stderr).toContain("http/protobuf or http/json")
    })
  )
})
