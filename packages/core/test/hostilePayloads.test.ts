/**
 * What the encoder writes for payloads JSON cannot hold as they are. The rule: whatever the caller
 * passes is made JSON-safe, never rejected, and `WireCodec.encode` never throws. Each row gives a
 * payload and the exact JSON payload written for it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Event, WireCodec } from "@maf/events"
import { Effect } from "effect"

const ts = "2026-05-14T11:22:33.123456+00:00"
const correlationId = "0123456789abcdef0123456789abcdef"

const eventWith = (payload: unknown): Event.Any =>
  Effect.runSync(Event.make({ kind: "agent.signal", arena: "a", ts, correlationId, payload }))

/** The `payload` of the JSON body that `WireCodec.encode` writes for an event with this payload. */
const writtenPayload = (payload: unknown): unknown =>
  (JSON.parse(WireCodec.encode(eventWith(payload))) as { readonly payload: unknown }).payload

/** `levels` objects nested under the key `d`, the innermost holding `leaf`. */
const nestedObjects = (levels: number, leaf: unknown): unknown => {
  let value = leaf
  for (let i = 0; i < levels; i++) value = { d: value }
  return value
}

/** `levels` arrays nested in one another, the innermost holding `leaf`. */
const nestedArrays = (levels: number, leaf: unknown): unknown => {
  let value = leaf
  for (let i = 0; i < levels; i++) value = [value]
  return value
}

/** How many containers of a payload are written: the payload object itself and 256 levels below it. */
const keptLevels = 257

/** `base` with one more own key `__proto__`, a real property (as `JSON.parse` makes it), not the prototype. */
const withProtoKey = (base: Record<string, unknown>, value: unknown): Record<string, unknown> =>
  Object.defineProperty({ ...base }, "__proto__", {
    value,
    enumerable: true,
    writable: true,
    configurable: true
  })

class Position {
  symbol = "BTC-USD"
  qty = 3
  _cost = 100
  get value() {
    return this.qty * 2
  }
  describe() {
    return `${this.qty} ${this.symbol}`
  }
}

class HttpError extends Error {
  override name = "HttpError"
  status = 502
  _request = "GET /secret"
}

interface HostileCase {
  readonly name: string
  /** Builds the payload afresh for the test (proxies, cycles and buffers are stateful). */
  readonly payload: () => unknown
  /** The payload exactly as it must appear in the written JSON. */
  readonly expected: unknown
}

const cases: ReadonlyArray<HostileCase> = [
  // bigint
  {
    name: "a small bigint becomes its decimal string",
    payload: () => ({ n: 42n, negative: -7n, zero: 0n }),
    expected: { n: "42", negative: "-7", zero: "0" }
  },
  {
    name: "a bigint beyond 2^64 keeps every digit, as a string",
    payload: () => ({ big: 2n ** 64n + 1n, huge: -(2n ** 100n) }),
    expected: { big: "18446744073709551617", huge: "-1267650600228229401496703205376" }
  },
  // Date
  {
    name: "a valid Date becomes its ISO-8601 string",
    payload: () => ({ at: new Date(Date.UTC(2026, 4, 14, 11, 22, 33, 123)) }),
    expected: { at: "2026-05-14T11:22:33.123Z" }
  },
  {
    name: 'an invalid Date becomes "Invalid Date"',
    payload: () => ({ at: new Date(Number.NaN) }),
    expected: { at: "Invalid Date" }
  },
  // Map and Set
  {
    name: "a Map with string keys becomes an object in insertion order, its values made safe",
    payload: () => ({
      m: new Map<string, unknown>([
        ["zeta", 1],
        ["alpha", { n: 2n }],
        ["gone", undefined]
      ])
    }),
    expected: { m: { zeta: 1, alpha: { n: "2" } } }
  },
  {
    name: "a Map with non-string keys writes each key as String(key)",
    payload: () => ({
      m: new Map<unknown, unknown>([
        [7, "number"],
        [true, "boolean"],
        [null, "null"],
        [3n, "bigint"],
        [{}, "object"]
      ])
    }),
    expected: {
      m: { "3": "bigint", "7": "number", true: "boolean", null: "null", "[object Object]": "object" }
    }
  },
  {
    name: "a Set becomes an array in insertion order, its members made safe",
    payload: () => ({ s: new Set<unknown>([3, "a", 1n, new Date(0), undefined]) }),
    expected: { s: [3, "a", "1", "1970-01-01T00:00:00.000Z", null] }
  },
  // Error
  {
    name: "an Error keeps name, message, its own fields and its cause; the stack is dropped",
    payload: () => ({
      error: Object.assign(new Error("boom", { cause: new TypeError("inner") }), { code: "E_BOOM", retry: 3 })
    }),
    expected: {
      error: {
        name: "Error",
        message: "boom",
        code: "E_BOOM",
        retry: 3,
        cause: { name: "TypeError", message: "inner" }
      }
    }
  },
  {
    name: "an Error subclass keeps its public fields and drops _private ones",
    payload: () => ({ error: new HttpError("bad gateway") }),
    expected: { error: { name: "HttpError", message: "bad gateway", status: 502 } }
  },
  {
    name: "an Error's cause that is not an Error is made safe as any value",
    payload: () => ({ error: new Error("failed", { cause: { attempt: 2n } }) }),
    expected: { error: { name: "Error", message: "failed", cause: { attempt: "2" } } }
  },
  {
    name: "an Error that is its own cause writes the cause as [Circular]",
    payload: () => {
      const error = new Error("loop")
      error.cause = error
      return { error }
    },
    expected: { error: { name: "Error", message: "loop", cause: "[Circular]" } }
  },
  {
    name: "an AggregateError keeps the errors it aggregates",
    payload: () => ({ error: new AggregateError([new Error("first"), "second"], "many") }),
    expected: {
      error: {
        name: "AggregateError",
        message: "many",
        errors: [{ name: "Error", message: "first" }, "second"]
      }
    }
  },
  {
    name: "an Error with an own __proto__ key drops it, as every _-prefixed field of an object, and stays an Error",
    payload: () => {
      const error = new Error("odd")
      Object.defineProperty(error, "__proto__", {
        value: { polluted: true },
        enumerable: true,
        writable: true,
        configurable: true
      })
      return { error }
    },
    expected: { error: { name: "Error", message: "odd" } }
  },
  // class instances and toJSON
  {
    name: "a class instance keeps its public fields; _private fields, getters and methods are not written",
    payload: () => ({ position: new Position() }),
    expected: { position: { symbol: "BTC-USD", qty: 3 } }
  },
  {
    name: "an object with toJSON is written as what toJSON returns, made safe",
    payload: () => ({ money: { amount: 1, toJSON: () => ({ cents: 12345n, currency: "EUR" }) } }),
    expected: { money: { cents: "12345", currency: "EUR" } }
  },
  {
    name: "toJSON is applied again inside what toJSON returns",
    payload: () => ({ outer: { toJSON: () => ({ inner: { toJSON: () => "innermost" } }) } }),
    expected: { outer: { inner: "innermost" } }
  },
  {
    name: "a toJSON that throws writes the thrown error in its place",
    payload: () => ({
      broken: {
        toJSON: () => {
          throw new Error("no JSON")
        }
      },
      ok: 1
    }),
    expected: { broken: "[Unserializable: Error: no JSON]", ok: 1 }
  },
  // cycles and shared references
  {
    name: "an object cycle is written as [Circular] where it closes",
    payload: () => {
      const node: Record<string, unknown> = { a: 1 }
      node.self = node
      return { node }
    },
    expected: { node: { a: 1, self: "[Circular]" } }
  },
  {
    name: "a cycle through the payload itself is written as [Circular]",
    payload: () => {
      const payload: Record<string, unknown> = { name: "root" }
      payload.self = payload
      return payload
    },
    expected: { name: "root", self: "[Circular]" }
  },
  {
    name: "an array cycle is written as [Circular] where it closes",
    payload: () => {
      const list: Array<unknown> = [1]
      list.push(list)
      return { list }
    },
    expected: { list: [1, "[Circular]"] }
  },
  {
    name: "a cycle through two objects is cut where it closes",
    payload: () => {
      const a: Record<string, unknown> = { id: "a" }
      const b: Record<string, unknown> = { id: "b", a }
      a.b = b
      return { a }
    },
    expected: { a: { id: "a", b: { id: "b", a: "[Circular]" } } }
  },
  {
    name: "a shared reference that is not a cycle is written in full each time",
    payload: () => {
      const shared = { venue: "X" }
      return { first: shared, second: shared, list: [shared, shared] }
    },
    expected: { first: { venue: "X" }, second: { venue: "X" }, list: [{ venue: "X" }, { venue: "X" }] }
  },
  // undefined, null, symbols, functions
  {
    name: "an undefined member of an object is omitted",
    payload: () => ({ gone: undefined, kept: 1 }),
    expected: { kept: 1 }
  },
  {
    name: "an undefined element of an array (or a hole) becomes null",
    // biome-ignore lint/suspicious/noSparseArray: a hole is one of the cases
    payload: () => ({ list: [undefined, 1, , 3] }),
    expected: { list: [null, 1, null, 3] }
  },
  { name: "an undefined payload is written as {}", payload: () => undefined, expected: {} },
  { name: "a null payload is written as {}", payload: () => null, expected: {} },
  {
    name: "a symbol member of an object is omitted",
    payload: () => ({ tag: Symbol("x"), kept: 1 }),
    expected: { kept: 1 }
  },
  {
    name: "a symbol element of an array becomes Symbol(description)",
    payload: () => ({ list: [Symbol("y"), Symbol()] }),
    expected: { list: ["Symbol(y)", "Symbol()"] }
  },
  {
    name: "a symbol-keyed property is not written",
    payload: () => ({ [Symbol("key")]: "hidden", kept: 2 }),
    expected: { kept: 2 }
  },
  {
    name: "a function member of an object is omitted",
    payload: () => ({ callback: function named() {}, kept: 1 }),
    expected: { kept: 1 }
  },
  {
    name: "a function element of an array becomes [Function: name]",
    payload: () => ({ list: [function named() {}, () => 1] }),
    expected: { list: ["[Function: named]", "[Function]"] }
  },
  // numbers
  {
    name: 'NaN, Infinity and -Infinity become the strings "NaN", "Infinity" and "-Infinity"',
    payload: () => ({
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      ninf: Number.NEGATIVE_INFINITY,
      list: [Number.NaN, 1.5]
    }),
    expected: { nan: "NaN", inf: "Infinity", ninf: "-Infinity", list: ["NaN", 1.5] }
  },
  {
    name: "-0 is written as 0",
    payload: () => ({ zero: -0, list: [-0] }),
    expected: { zero: 0, list: [0] }
  },
  // depth
  {
    name: "10,000 nested objects do not throw; nesting beyond the maximum depth becomes [MaxDepth]",
    payload: () => nestedObjects(10_000, "bottom"),
    expected: nestedObjects(keptLevels, "[MaxDepth]")
  },
  {
    name: "10,000 nested arrays do not throw; nesting beyond the maximum depth becomes [MaxDepth]",
    payload: () => ({ deep: nestedArrays(10_000, "bottom") }),
    // The payload object is one of the kept levels.
    expected: { deep: nestedArrays(keptLevels - 1, "[MaxDepth]") }
  },
  // getters and proxies
  {
    name: "a getter that throws writes the thrown error under its key; the other keys are kept",
    payload: () => ({
      get bad(): unknown {
        throw new Error("msg")
      },
      ok: 1
    }),
    expected: { bad: "[Thrown: Error: msg]", ok: 1 }
  },
  {
    name: "a Proxy whose ownKeys trap throws is written as the thrown error",
    payload: () => ({
      proxy: new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error("no keys")
          }
        }
      ),
      ok: 1
    }),
    expected: { proxy: "[Unserializable: Error: no keys]", ok: 1 }
  },
  {
    name: "a revoked Proxy is written as the error touching it throws",
    payload: () => {
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      return { proxy, ok: 1 }
    },
    expected: {
      proxy: "[Unserializable: TypeError: Cannot perform 'IsArray' on a proxy that has been revoked]",
      ok: 1
    }
  },
  {
    name: "a revoked Proxy as the whole payload is kept under value",
    payload: () => {
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      return proxy
    },
    expected: {
      value: "[Unserializable: TypeError: Cannot perform 'IsArray' on a proxy that has been revoked]"
    }
  },
  {
    name: "a Proxy that hides a toJSON answering undefined is written as its JSON value, null, kept under value",
    payload: () =>
      new Proxy(
        { a: 1 },
        {
          has: (target, key) => key !== "toJSON" && key in target,
          get: (target, key) => (key === "toJSON" ? () => undefined : Reflect.get(target, key))
        }
      ),
    expected: { value: null }
  },
  // prototypes
  {
    name: "an object with a null prototype keeps every key, as a plain object (a dict) does",
    payload: () => ({ bare: Object.assign(Object.create(null), { a: 1, _b: 2 }) }),
    expected: { bare: { a: 1, _b: 2 } }
  },
  {
    name: "a null-prototype payload is written as an object",
    payload: () => Object.assign(Object.create(null), { a: 1 }),
    expected: { a: 1 }
  },
  {
    name: "a __proto__ key is kept as an own key",
    payload: () => JSON.parse('{"__proto__": {"polluted": true}, "a": 1}'),
    expected: JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')
  },
  {
    name: "a Map key __proto__ is kept as an own key",
    payload: () => ({ m: new Map([["__proto__", { polluted: true }]]) }),
    expected: { m: withProtoKey({}, { polluted: true }) }
  },
  // binary data
  {
    name: "typed arrays become arrays of their numbers (bigints as strings, NaN as a string)",
    payload: () => ({
      u8: new Uint8Array([1, 2, 255]),
      i16: new Int16Array([-1, 300]),
      f64: new Float64Array([1.5, Number.NaN, -0]),
      i64: new BigInt64Array([-1n, 2n ** 62n])
    }),
    expected: { u8: [1, 2, 255], i16: [-1, 300], f64: [1.5, "NaN", 0], i64: ["-1", "4611686018427387904"] }
  },
  {
    name: "an ArrayBuffer and a DataView become arrays of their bytes",
    payload: () => {
      const bytes = new Uint8Array([0, 7, 255, 9])
      return { buffer: bytes.buffer, view: new DataView(bytes.buffer, 1, 2) }
    },
    expected: { buffer: [0, 7, 255, 9], view: [7, 255] }
  },
  {
    name: "a Node Buffer is written as its toJSON form, as JSON.stringify does",
    payload: () => ({ buf: Buffer.from("hi") }),
    expected: { buf: { type: "Buffer", data: [104, 105] } }
  },
  // boxed primitives
  {
    name: "boxed primitives are written as the primitive, as JSON.stringify does",
    payload: () => ({
      n: Object(5),
      s: Object("ab"),
      b: Object(false),
      big: Object(2n)
    }),
    expected: { n: 5, s: "ab", b: false, big: "2" }
  },
  // other built-ins
  {
    name: "a RegExp, a WeakMap and a Promise become their String() form",
    payload: () => ({ re: /a+b/gi, weak: new WeakMap(), promise: Promise.resolve(1) }),
    expected: { re: "/a+b/gi", weak: "[object WeakMap]", promise: "[object Promise]" }
  },
  // top-level values that are not objects
  {
    name: "an array payload is kept under value",
    payload: () => [1, 2n, "three"],
    expected: { value: [1, "2", "three"] }
  },
  { name: "a number payload is kept under value", payload: () => 42, expected: { value: 42 } },
  { name: "a string payload is kept under value", payload: () => "hello", expected: { value: "hello" } },
  { name: "a bigint payload is kept under value, as a string", payload: () => 7n, expected: { value: "7" } },
  {
    name: "a NaN payload is kept under value, as a string",
    payload: () => Number.NaN,
    expected: { value: "NaN" }
  },
  {
    name: "a Set payload is kept under value, as an array",
    payload: () => new Set([1, 2]),
    expected: { value: [1, 2] }
  },
  {
    name: "a Map payload becomes the payload object",
    payload: () => new Map([["a", 1]]),
    expected: { a: 1 }
  },
  // strings
  {
    name: "a very long string is written whole",
    payload: () => ({ text: "0123456789".repeat(100_000), cjk: "語".repeat(10_000) }),
    expected: { text: "0123456789".repeat(100_000), cjk: "語".repeat(10_000) }
  },
  {
    name: "lone surrogates survive the round trip through JSON.parse",
    payload: () => ({ high: "x\ud800y", low: "\udfff", pair: "\ud83d\ude00" }),
    expected: { high: "x\ud800y", low: "\udfff", pair: "\ud83d\ude00" }
  }
]

describe("WireCodec.encode on hostile payloads", () => {
  it.each(cases)("$name", ({ payload, expected }) => {
    const written = writtenPayload(payload())
    expect(written).toStrictEqual(expected)
    // Same keys in the same order: the JSON text of the payload is exactly the expected one.
    expect(JSON.stringify(written)).toBe(JSON.stringify(expected))
  })

  it("writes a __proto__ key without polluting any prototype", () => {
    writtenPayload(JSON.parse('{"__proto__": {"polluted": true}}'))
    writtenPayload({ m: new Map([["__proto__", { polluted: true }]]) })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty("polluted")
  })

  it("writes lone surrogates as \\uXXXX escapes, so the body is well-formed UTF-16 text", () => {
    const text = WireCodec.encode(eventWith({ high: "x\ud800y", low: "\udfff" }))
    expect(text).toContain('"high":"x\\ud800y"')
    expect(text).toContain('"low":"\\udfff"')
    expect(text).not.toMatch(/[\ud800-\udfff]/u)
  })

  it("never throws, and keeps the envelope, whatever the payload", () => {
    for (const { payload } of cases) {
      const body = JSON.parse(WireCodec.encode(eventWith(payload())))
      expect(body).toMatchObject({
        schema_version: "1",
        kind: "agent.signal",
        arena: "a",
        ts,
        correlation_id: correlationId
      })
    }
  })
})
