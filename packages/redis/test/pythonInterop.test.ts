/**
 * Our encoder → the Python reference's decoder: events published with `RedisEventBus` are read back
 * by the reference's real `EventBusReader` (scripts/python-interop/read_with_reference.py), and each
 * body Python decodes must equal what our own `WireCodec.decode` makes of the same entry; entries
 * published in a span (a second field, `traceparent`, after `data`) decode exactly as untraced ones.
 *
 * Needs `/usr/bin/python3` with redis-py (`python3-redis`); without them the file is skipped, saying
 * why. The reference itself is optional: see `referenceDir` for where it is looked for; without it
 * the script decodes the entries as the reference's reader does, with `json.loads`.
 */
import { execFile, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, layer } from "@effect/vitest"
import { Event, EventBus, PublishResult, type ReadResult, WireCodec } from "@maf/events"
import { RedisEventBus } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"

const PYTHON = "/usr/bin/python3"
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const script = Path.join(repoRoot, "scripts", "python-interop", "read_with_reference.py")
/** The reference as shipped beside the project (`/work/shared/reference/bus.py` here). */
const sharedBus = Path.resolve(repoRoot, "..", "shared", "reference", "bus.py")

/** Why the file is skipped, or `undefined` when Python and redis-py are there. */
const unavailable = ((): string | undefined => {
  const probe = spawnSync(PYTHON, ["-c", "import redis.asyncio"], { encoding: "utf8", timeout: 30_000 })
  if (probe.error !== undefined) {
    return (probe.error as NodeJS.ErrnoException).code === "ENOENT"
      ? `no ${PYTHON}`
      : `${PYTHON} could not be run: ${probe.error.message}`
  }
  if (probe.status !== 0) {
    const last = probe.stderr.trim().split("\n").at(-1) || `exit status ${probe.status ?? probe.signal}`
    return `no redis-py for ${PYTHON} (\`import redis.asyncio\` failed: ${last}); install python3-redis`
  }
  return undefined
})()

if (unavailable !== undefined) {
  console.log(`pythonInterop.test.ts skipped: ${unavailable}`)
}

// -- the events -------------------------------------------------------------------------------------

class Point {
  x = 1
  y = 2
  _hidden = "left out: _-prefixed"
  #secret = "left out: private"
  get norm(): number {
    return Math.hypot(this.x, this.y)
  }
  reveal(): string {
    return this.#secret
  }
}

class Order {
  constructor(
    readonly id: string,
    readonly lines: ReadonlyArray<Point>,
    readonly placed: Date
  ) {}
}

const cyclic = (): Record<string, unknown> => {
  const a: Record<string, unknown> = { name: "a" }
  const list: Array<unknown> = [a]
  a.self = a
  a.list = list
  list.push(list)
  return { a, shared: [a, a] }
}

const throwingGetter = (): Record<string, unknown> => {
  const out: Record<string, unknown> = { ok: 1 }
  Object.defineProperty(out, "boom", {
    enumerable: true,
    get() {
      throw new Error("boom")
    }
  })
  return out
}

const hostileProxy = (): object =>
  new Proxy(
    {},
    {
      ownKeys() {
        throw new Error("no keys for you")
      }
    }
  )

const nested = (depth: number): Record<string, unknown> => {
  let value: Record<string, unknown> = { leaf: true }
  for (let i = 0; i < depth; i++) value = { level: depth - i, child: value, list: [i, { i }] }
  return value
}

const unicode =
  "accents é à ü ñ, CJK 漢字かな한글, RTL עברית العربية, emoji 😀🎉, ZWJ 👩‍👩‍👧‍👦, flag 🇫🇷, " +
  "combining e\u0301, BOM \ufeff, separators \u2028\u2029, DEL \u007f, non-BMP 𝄞 𠜎"
const loneSurrogates = "lead \ud800 trail \udfff reversed \ude00\ud83d end \ud83d"
const controls = `${Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join("")}"\\/</script>`
const longString = `${Array.from({ length: 20_000 }, (_, i) => String.fromCharCode(0x20 + (i % 95))).join("")}😀`

interface Case {
  readonly name: string
  readonly input: Event.Input<string, unknown>
  /** What Python must find in `payload` (besides equalling our decoding), when worth stating. */
  readonly payload?: unknown
}

const cases: ReadonlyArray<Case> = [
  ...Event.canonicalKinds.map(
    (kind, i): Case => ({
      name: `kind ${kind}`,
      input: {
        kind,
        arena: "trading_intelligence",
        arenaId: `arena-${i}`,
        phase: "analysis",
        payload: { i, score: 0.9, tags: ["a", "b"] }
      },
      payload: { i, score: 0.9, tags: ["a", "b"] }
    })
  ),
  { name: "unknown kind", input: { kind: "trade.fill", payload: { qty: 3 } }, payload: { qty: 3 } },
  { name: "unknown kind, other case", input: { kind: "Phase.Complete" } },
  { name: "empty kind", input: { kind: "" } },
  { name: "empty envelope", input: { kind: "arena.start" }, payload: {} },
  {
    name: "explicit empty strings",
    input: { kind: "arena.complete", arena: "", arenaId: "", phase: "", correlationId: "", payload: {} },
    payload: {}
  },
  {
    name: "explicit correlation id",
    input: { kind: "agent.signal", correlationId: "0123456789abcdef0123456789abcdef", payload: { n: 1 } }
  },
  {
    name: "odd correlation id",
    input: { kind: "agent.signal", correlationId: "corr-😀-\ud800-\n", payload: { n: 2 } }
  },
  {
    name: "unicode everywhere",
    input: {
      kind: "llm.call",
      arena: `arène 😀 ${loneSurrogates}`,
      arenaId: "id-\u0000-\u001f",
      phase: " analyse\tdes données ",
      payload: { unicode, loneSurrogates, controls, "clé 🔑": unicode, [loneSurrogates]: controls }
    },
    payload: { unicode, loneSurrogates, controls, "clé 🔑": unicode, [loneSurrogates]: controls }
  },
  {
    name: "big integers",
    input: {
      kind: "decision.emit",
      payload: {
        big: 2n ** 64n + 1n,
        negative: -(2n ** 100n),
        small: 7n,
        unsafe: 2 ** 53 + 2,
        max: Number.MAX_VALUE,
        tiny: 5e-324,
        sum: 0.1 + 0.2,
        huge: 1e21,
        list: [1n, 2n ** 70n]
      }
    },
    payload: {
      big: "18446744073709551617",
      negative: "-1267650600228229401496703205376",
      small: "7",
      unsafe: 2 ** 53 + 2,
      max: Number.MAX_VALUE,
      tiny: 5e-324,
      sum: 0.1 + 0.2,
      huge: 1e21,
      list: ["1", "1180591620717411303424"]
    }
  },
  {
    name: "NaN and infinities",
    input: {
      kind: "system.status",
      payload: {
        nan: Number.NaN,
        inf: Number.POSITIVE_INFINITY,
        ninf: -Infinity,
        negZero: -0,
        list: [Number.NaN]
      }
    },
    payload: { nan: "NaN", inf: "Infinity", ninf: "-Infinity", negZero: 0, list: ["NaN"] }
  },
  {
    name: "Date",
    input: {
      kind: "source.fetch",
      payload: { at: new Date("2026-05-14T11:22:33.123Z"), invalid: new Date(Number.NaN) }
    }
  },
  {
    name: "Map and Set",
    input: {
      kind: "source.error",
      payload: {
        map: new Map<unknown, unknown>([
          [1, "one"],
          ["k", { x: 1 }],
          [true, new Set([1])]
        ]),
        set: new Set([3, 1, 2, "x"])
      }
    },
    payload: { map: { "1": "one", k: { x: 1 }, true: [1] }, set: [3, 1, 2, "x"] }
  },
  { name: "nested", input: { kind: "phase.start", payload: nested(40) }, payload: nested(40) },
  { name: "nested past the depth limit", input: { kind: "phase.error", payload: nested(400) } },
  {
    name: "class instances",
    input: {
      kind: "action.emit",
      payload: {
        point: new Point(),
        order: new Order("o-1", [new Point()], new Date(0)),
        error: new Error("failed", { cause: new Point() })
      }
    }
  },
  { name: "top-level class instance", input: { kind: "action.emit", payload: new Point() } },
  {
    name: "long string",
    input: { kind: "llm.error", payload: { text: longString } },
    payload: { text: longString }
  },
  { name: "hostile: cycles", input: { kind: "agent.error", payload: cyclic() } },
  { name: "hostile: throwing getter", input: { kind: "agent.error", payload: throwingGetter() } },
  {
    name: "hostile: throwing toJSON, proxy, functions, symbols",
    input: {
      kind: "agent.error",
      payload: {
        toJson: {
          toJSON() {
            throw new Error("no JSON")
          }
        },
        proxy: hostileProxy(),
        fn: () => 1,
        sym: Symbol("s"),
        undef: undefined,
        list: [undefined, () => 1, Symbol("t")]
      }
    }
  },
  {
    name: "hostile: keys like markers and __proto__",
    input: {
      kind: "control.command",
      payload: JSON.parse('{"__proto__": {"polluted": true}, "m": {"$float": "NaN"}, "n": {"$int": "5"}}')
    },
    payload: JSON.parse('{"__proto__": {"polluted": true}, "m": {"$float": "NaN"}, "n": {"$int": "5"}}')
  },
  { name: "payload not an object", input: { kind: "control.ack", payload: [1, "two", null] } },
  { name: "payload null", input: { kind: "control.ack", payload: null } }
]

// -- Python's side --------------------------------------------------------------------------------

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const run = (args: ReadonlyArray<string>): Effect.Effect<Run> =>
  Effect.async<Run>((resume) => {
    const child = execFile(
      PYTHON,
      [script, ...args],
      { timeout: 60_000, killSignal: "SIGKILL", maxBuffer: 256 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resume(
          Effect.succeed({
            code,
            stdout,
            stderr: error !== null && code === null ? `${stderr}\n${error.message}` : stderr
          })
        )
      }
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const hasBus = (dir: string) => Fs.existsSync(Path.join(dir, "maf", "streaming", "bus.py"))

/**
 * Where the reference is: `$MAF_REFERENCE_DIR`, else `/tmp/ref` when it holds it, else a temporary
 * package built now from the shared `bus.py` (removed with the scope), else none.
 */
const referenceDir = Effect.gen(function* () {
  const fromEnv = process.env.MAF_REFERENCE_DIR
  if (fromEnv !== undefined && fromEnv !== "") return { dir: fromEnv, source: "$MAF_REFERENCE_DIR" }
  if (hasBus("/tmp/ref")) return { dir: "/tmp/ref", source: "/tmp/ref" }
  if (!Fs.existsSync(sharedBus)) return { dir: undefined, source: `none (${sharedBus} not found)` }
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "maf-reference-"))),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )
  Fs.mkdirSync(Path.join(dir, "maf", "streaming"), { recursive: true })
  Fs.writeFileSync(Path.join(dir, "maf", "__init__.py"), "")
  Fs.writeFileSync(Path.join(dir, "maf", "streaming", "__init__.py"), "")
  Fs.copyFileSync(sharedBus, Path.join(dir, "maf", "streaming", "bus.py"))
  return { dir, source: `a temporary copy of ${sharedBus}` }
})

/** Turns the script's markers (see its docstring) back into values. */
const revive = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(revive)
  if (typeof value !== "object" || value === null) return value
  const entries = Object.entries(value)
  if (entries.length === 1) {
    const [key, inner] = entries[0]!
    if (key === "$float") return Number(inner)
    if (key === "$int") return Number(inner)
    if (key === "$object") {
      return Object.fromEntries(Object.entries(inner as object).map(([k, v]) => [k, revive(v)]))
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, revive(v)]))
}

// -- our side ---------------------------------------------------------------------------------------

const envelopeKeys = [...WireCodec.bodyKeys] as const

/** The body on the wire, as our decoder reads it back. */
const wireView = (result: ReadResult.ReadResult): Record<string, unknown> => {
  switch (result._tag) {
    case "KnownEvent": {
      const event = result.event
      return {
        schema_version: WireCodec.schemaVersion,
        kind: event.kind,
        arena: event.arena,
        arena_id: event.arenaId,
        phase: event.phase,
        ts: event.ts,
        correlation_id: event.correlationId,
        payload: event.payload
      }
    }
    case "UnknownKind":
      return { ...result.body }
    case "Malformed":
      throw new Error(`our decoder found ${result.streamId} malformed (${result.reason}): ${result.message}`)
    case "Gap":
      throw new Error(`our decoder reported a gap at ${result.streamId}`)
  }
}

type Entry = [string, Array<string>]

describe.skipIf(unavailable !== undefined)(
  `Python reference decoder reads what RedisEventBus writes${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`,
  () => {
    layer(RedisTestServer.layer(), { excludeTestServices: true })("on a real redis-server", (it) => {
      it.scoped(
        "every entry, awaited or buffered, decodes in Python to the body our decoder reads",
        () =>
          Effect.gen(function* () {
            const server = yield* RedisTestServer.RedisTestServer
            const stream = "test:python-interop"

            // Awaited publishes first, then the same events buffered: the stream holds them in this order.
            yield* Effect.scoped(
              Effect.gen(function* () {
                const bus = yield* EventBus.EventBus
                for (const c of cases) {
                  const result = yield* bus.publish(c.input)
                  expect(PublishResult.isWritten(result), `${c.name}: ${JSON.stringify(result)}`).toBe(true)
                }
                for (const c of cases) {
                  expect(yield* bus.publishNowait(c.input), c.name).toBe(true)
                }
                yield* bus.flush
              }).pipe(
                Effect.provide(RedisEventBus.layer({ url: server.url, stream, publishTimeout: "5 seconds" }))
              )
            )
            const published = [...cases, ...cases]
            const entries = (yield* server.command("XRANGE", stream, "-", "+")) as Array<Entry>
            expect(entries).toHaveLength(published.length)

            const reference = yield* referenceDir
            const args = [
              "--redis-url",
              server.url,
              "--stream",
              stream,
              "--count",
              String(entries.length),
              ...(reference.dir === undefined ? [] : ["--reference", reference.dir])
            ]
            const result = yield* run(args)
            if (result.code !== 0) {
              console.log(
                `read_with_reference.py exited with ${result.code}\n${result.stderr}\n${result.stdout}`
              )
            }
            expect(result.code).toBe(0)
            const lines = result.stdout
              .split("\n")
              .filter((line) => line !== "")
              .map((line) => JSON.parse(line) as Record<string, unknown>)
            const [header, ...decoded] = lines
            console.log(
              `python interop: decoder ${JSON.stringify(header)}; reference looked up: ${reference.source}`
            )
            expect(header?.decoder).toBe(
              reference.dir !== undefined && hasBus(reference.dir) ? "reference" : "json.loads"
            )
            expect(decoded).toHaveLength(entries.length)

            for (let i = 0; i < entries.length; i++) {
              const [id, fields] = entries[i]!
              const c = published[i]!
              const python = decoded[i]!
              const label = `${c.name} (${id}, ${i < cases.length ? "awaited" : "buffered"})`
              expect(python.error, label).toBeUndefined()
              expect(python.stream_id, label).toBe(id)
              const { stream_id: _, ...body } = python
              expect(Object.keys(body), label).toEqual(envelopeKeys)
              const ours = WireCodec.decode(id, fields)
              expect(ours._tag, label).toBe(
                Event.isCanonicalKind(c.input.kind) ? "KnownEvent" : "UnknownKind"
              )
              const pythonBody = revive(body) as Record<string, unknown>
              expect(pythonBody, label).toEqual(wireView(ours))
              expect(pythonBody.schema_version, label).toBe("1")
              expect(pythonBody.kind, label).toBe(c.input.kind)
              for (const key of ["arena", "arenaId", "phase"] as const) {
                expect(pythonBody[key === "arenaId" ? "arena_id" : key], label).toBe(c.input[key] ?? "")
              }
              if (c.input.correlationId !== undefined && c.input.correlationId !== "") {
                expect(pythonBody.correlation_id, label).toBe(c.input.correlationId)
              } else {
                expect(pythonBody.correlation_id, label).toMatch(/^[0-9a-f]{32}$/)
              }
              if (c.payload !== undefined) expect(pythonBody.payload, label).toEqual(c.payload)
            }
          }),
        120_000
      )

      it.scoped(
        "entries published in a span (a traceparent field after data) decode in Python exactly as untraced ones",
        () =>
          Effect.gen(function* () {
            const server = yield* RedisTestServer.RedisTestServer
            // The same events twice, ts and correlation ids fixed: untraced, then in a span.
            const inputs = cases.map((c, i) => ({
              ...c.input,
              ts: "2026-05-14T11:22:33.123456+00:00",
              // ("" asks for a fresh one, as none does.)
              correlationId: c.input.correlationId || `${i}`.padStart(32, "0")
            }))
            const publishAll = (stream: string) =>
              Effect.scoped(
                Effect.gen(function* () {
                  const bus = yield* EventBus.EventBus
                  for (const input of inputs)
                    expect(PublishResult.isWritten(yield* bus.publish(input))).toBe(true)
                  for (const input of inputs) expect(yield* bus.publishNowait(input)).toBe(true)
                  yield* bus.flush
                }).pipe(
                  Effect.provide(
                    RedisEventBus.layer({ url: server.url, stream, publishTimeout: "5 seconds" })
                  )
                )
              )
            yield* publishAll("test:python-interop:untraced")
            yield* publishAll("test:python-interop:traced").pipe(Effect.withSpan("producer"))
            const untraced = (yield* server.command(
              "XRANGE",
              "test:python-interop:untraced",
              "-",
              "+"
            )) as Array<Entry>
            const traced = (yield* server.command(
              "XRANGE",
              "test:python-interop:traced",
              "-",
              "+"
            )) as Array<Entry>
            expect(traced.map(([, fields]) => [fields[0], fields[2]])).toEqual(
              traced.map(() => ["data", "traceparent"])
            )
            expect(traced.map(([, fields]) => fields[1])).toEqual(untraced.map(([, fields]) => fields[1]))

            const reference = yield* referenceDir
            const read = (stream: string, count: number) =>
              Effect.map(
                run([
                  "--redis-url",
                  server.url,
                  "--stream",
                  stream,
                  "--count",
                  String(count),
                  ...(reference.dir === undefined ? [] : ["--reference", reference.dir])
                ]),
                (result) => {
                  expect(result.code, result.stderr).toBe(0)
                  return result.stdout
                    .split("\n")
                    .filter((line) => line !== "")
                    .slice(1)
                    .map((line) => JSON.parse(line) as Record<string, unknown>)
                }
              )
            const fromUntraced = yield* read("test:python-interop:untraced", untraced.length)
            const fromTraced = yield* read("test:python-interop:traced", traced.length)
            expect(fromTraced.map((line) => line.stream_id)).toEqual(traced.map(([id]) => id))
            const bodies = (lines: ReadonlyArray<Record<string, unknown>>) =>
              lines.map(({ stream_id: _, ...body }) => body)
            expect(bodies(fromTraced).every((body) => body.error === undefined)).toBe(true)
            expect(bodies(fromTraced)).toEqual(bodies(fromUntraced))
          }),
        120_000
      )
    })
  }
)
