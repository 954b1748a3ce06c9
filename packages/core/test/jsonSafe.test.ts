/**
 * The JSON-safe conversion on its own: the full conversion (`toJsonSafe`, what every payload that is
 * not plain JSON goes through) on values the plain-JSON shortcut would otherwise take, and exactly
 * which payloads the shortcut (`payloadForJson`) gives as they are, which it copies.
 */
import { describe, expect, it } from "@effect/vitest"
import { markers, maxDepth, payloadForJson, payloadToJsonSafe, toJsonSafe } from "../src/internal/jsonSafe.js"

/** `levels` objects nested under the key `d`, the innermost holding `leaf`. */
const nested = (levels: number, leaf: unknown): unknown => {
  let value = leaf
  for (let i = 0; i < levels; i++) value = { d: value }
  return value
}

describe("toJsonSafe, the full conversion", () => {
  it("writes a shared (non-cyclic) object in full each time it appears", () => {
    const shared = { venue: "X" }
    expect(toJsonSafe({ first: shared, second: shared, list: [shared, shared] })).toEqual({
      first: { venue: "X" },
      second: { venue: "X" },
      list: [{ venue: "X" }, { venue: "X" }]
    })
  })

  it("marks only a real cycle, where it closes, and writes the siblings after it", () => {
    const root: Record<string, unknown> = { name: "root" }
    root.self = root
    root.after = { ok: true }
    expect(toJsonSafe(root)).toEqual({ name: "root", self: markers.circular, after: { ok: true } })
    const list: Array<unknown> = [1]
    list.push(list, 2)
    expect(toJsonSafe(list)).toEqual([1, markers.circular, 2])
  })

  it("keeps every key of a null-prototype object, _-prefixed ones too, and converts their values", () => {
    const bare = Object.assign(Object.create(null), { a: 1, _b: 2n, c: { d: undefined } })
    expect(toJsonSafe(bare)).toEqual({ a: 1, _b: "2", c: {} })
  })

  it("keeps a class instance's public fields only", () => {
    class Position {
      symbol = "BTC"
      _cost = 1
    }
    expect(toJsonSafe(new Position())).toEqual({ symbol: "BTC" })
  })

  it("writes an array with its own toJSON by its elements, with or without the shortcut", () => {
    const list = Object.assign([1, 2n], { toJSON: () => "replaced" })
    expect(toJsonSafe(list)).toEqual([1, "2"])
    const plainList = Object.assign([1, 2], { toJSON: () => "replaced" })
    expect(JSON.stringify(payloadForJson({ list: plainList }))).toBe('{"list":[1,2]}')
  })

  it("writes an object whose toJSON returns the object itself as its fields", () => {
    const self = {
      a: 1,
      _kept: 3,
      n: 2n,
      toJSON() {
        return this
      }
    }
    expect(toJsonSafe(self)).toEqual({ a: 1, _kept: 3, n: "2" })
  })

  it("calls toJSON with the empty key and the object as this", () => {
    const seen: Array<unknown> = []
    const value = {
      tag: "t",
      toJSON(this: { tag: string }, key: string) {
        seen.push(key, this.tag)
        return "done"
      }
    }
    expect(toJsonSafe(value)).toBe("done")
    expect(seen).toEqual(["", "t"])
  })

  it("writes numbers JSON has no form for as strings, and -0 as 0", () => {
    expect(
      toJsonSafe([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1.5, 10n ** 20n])
    ).toEqual(["NaN", "Infinity", "-Infinity", 0, 1.5, "100000000000000000000"])
    expect(Object.is(toJsonSafe(-0), 0)).toBe(true)
  })

  it("writes primitives without a JSON form as strings, undefined as null", () => {
    function named() {}
    expect(toJsonSafe([undefined, Symbol("s"), Symbol(), named, () => 1, true, "x", null])).toEqual([
      null,
      "Symbol(s)",
      "Symbol()",
      "[Function: named]",
      "[Function]",
      true,
      "x",
      null
    ])
  })

  it("keeps maxDepth levels below the payload and marks what is deeper", () => {
    // The payload object and maxDepth objects below it are kept.
    expect(toJsonSafe(nested(maxDepth + 2, "leaf"))).toEqual(nested(maxDepth + 1, markers.maxDepth))
    expect(toJsonSafe(nested(maxDepth + 1, "leaf"))).toEqual(nested(maxDepth + 1, "leaf"))
  })

  it("writes boxed primitives as their values, dates as ISO strings or Invalid Date", () => {
    expect(
      toJsonSafe([
        new Number(5),
        new String("s"),
        new Boolean(false),
        Object(3n),
        new Date(0),
        new Date(Number.NaN)
      ])
    ).toEqual([5, "s", false, "3", "1970-01-01T00:00:00.000Z", "Invalid Date"])
  })

  it("writes binary data as arrays of numbers: a buffer, a DataView's window, typed arrays", () => {
    const buffer = new Uint8Array([1, 2, 3, 4]).buffer
    expect(toJsonSafe([buffer, new DataView(buffer, 1, 2), new Int8Array([-1, 2])])).toEqual([
      [1, 2, 3, 4],
      [2, 3],
      [-1, 2]
    ])
  })

  it("writes a Map as an object (keys as strings, symbols by description), a Set as an array", () => {
    const map = new Map<unknown, unknown>([
      ["a", 1],
      [Symbol("s"), 2],
      [Symbol(), 3],
      [4, 2n],
      ["gone", undefined],
      ["fn", () => 1]
    ])
    expect(toJsonSafe(map)).toEqual({ a: 1, s: 2, "": 3, "4": "2" })
    expect(toJsonSafe(new Set([1n, undefined]))).toEqual(["1", null])
  })

  it("writes regular expressions, weak collections and promises as their strings", () => {
    expect(toJsonSafe([/a+/g, new WeakMap(), new WeakSet(), Promise.resolve(1)])).toEqual([
      "/a+/g",
      "[object WeakMap]",
      "[object WeakSet]",
      "[object Promise]"
    ])
  })

  it("writes an error's name, message, public fields and cause, an aggregate's errors; no stack", () => {
    const error = Object.assign(new Error("boom", { cause: 1n }), { code: "E", _hidden: 1 })
    expect(toJsonSafe(error)).toEqual({ name: "Error", message: "boom", code: "E", cause: "1" })
    const aggregate = new AggregateError([new Error("one")], "many")
    expect(toJsonSafe(aggregate)).toEqual({
      name: "AggregateError",
      message: "many",
      errors: [{ name: "Error", message: "one" }]
    })
  })

  it("keeps an error's own enumerable cause and errors as they are given", () => {
    const error = Object.assign(new Error("boom", { cause: "hidden" }), { cause: "own" })
    expect(toJsonSafe(error)).toEqual({ name: "Error", message: "boom", cause: "own" })
    const aggregate = Object.assign(new AggregateError([new Error("one")], "many"), { errors: ["own"] })
    expect(toJsonSafe(aggregate)).toEqual({ name: "AggregateError", message: "many", errors: ["own"] })
  })

  it("writes what a getter or an array element threw, keeping the rest", () => {
    const list = [1, 2]
    Object.defineProperty(list, 1, {
      get: () => {
        throw new TypeError("no")
      }
    })
    expect(toJsonSafe(list)).toEqual([1, "[Thrown: TypeError: no]"])
    const throwsAString = {
      get bad(): unknown {
        throw "plain"
      },
      ok: 1
    }
    expect(toJsonSafe(throwsAString)).toEqual({ bad: "[Thrown: plain]", ok: 1 })
  })

  it("writes an error whose description itself throws as an unknown error", () => {
    const hostile = {
      toJSON() {
        throw {
          toString() {
            throw new Error("again")
          }
        }
      }
    }
    expect(toJsonSafe(hostile)).toBe("[Unserializable: unknown error]")
  })

  it("writes a __proto__ key as an ordinary own property: enumerable, writable, configurable", () => {
    const written = toJsonSafe(JSON.parse('{"__proto__": 1}')) as object
    expect(Object.getOwnPropertyDescriptor(written, "__proto__")).toEqual({
      value: 1,
      enumerable: true,
      writable: true,
      configurable: true
    })
  })

  it("drops an error's stack even when it is an own enumerable field", () => {
    const error = Object.defineProperty(new Error("boom"), "stack", { value: "at x", enumerable: true })
    expect(toJsonSafe(error)).toEqual({ name: "Error", message: "boom" })
  })

  it("writes a value whose very inspection throws (a function's name) as unserializable", () => {
    const fn = Object.defineProperty(() => 1, "name", {
      get: () => {
        throw new Error("no name")
      }
    })
    expect(toJsonSafe(fn)).toBe("[Unserializable: Error: no name]")
    expect(toJsonSafe([fn])).toEqual(["[Thrown: Error: no name]"])
  })

  it("writes a Map key whose String() throws as the unserializable marker", () => {
    const key = {
      toString() {
        throw new Error("no")
      }
    }
    expect(toJsonSafe(new Map([[key, 1]]))).toEqual({ [markers.unserializable]: 1 })
  })
})

describe("payloadToJsonSafe", () => {
  it("gives {} for no payload, an object as its copy, anything else under value", () => {
    expect(payloadToJsonSafe(undefined)).toEqual({})
    expect(payloadToJsonSafe(null)).toEqual({})
    expect(payloadToJsonSafe({ a: 1n })).toEqual({ a: "1" })
    expect(payloadToJsonSafe([1n])).toEqual({ value: ["1"] })
    expect(payloadToJsonSafe(3)).toEqual({ value: 3 })
    expect(payloadToJsonSafe("s")).toEqual({ value: "s" })
  })
})

describe("payloadForJson, the plain-JSON shortcut", () => {
  it("gives a plain JSON object itself: strings, booleans, null, finite numbers, undefined, nesting", () => {
    const plain = { s: "x", b: true, n: null, f: 1.5, u: undefined, list: [1, "a", [null]], o: { p: {} } }
    expect(payloadForJson(plain)).toBe(plain)
    const bare = Object.assign(Object.create(null), { a: { b: 1 } })
    expect(payloadForJson(bare)).toBe(bare)
  })

  it("copies what JSON.stringify would write differently", () => {
    class Instance {
      a = 1
    }
    const cases: ReadonlyArray<readonly [string, Record<string, unknown>, unknown]> = [
      ["NaN", { n: Number.NaN }, { n: "NaN" }],
      ["a bigint", { n: 1n }, { n: "1" }],
      ["a function", { f: () => 1 }, {}],
      ["a symbol in an array", { l: [Symbol("s")] }, { l: ["Symbol(s)"] }],
      ["NaN in an array", { l: [1, Number.NaN] }, { l: [1, "NaN"] }],
      ["a class instance", { i: new Instance() }, { i: { a: 1 } }],
      ["a Date", { d: new Date(0) }, { d: "1970-01-01T00:00:00.000Z" }],
      ["an object with toJSON", { t: { toJSON: () => 2n } }, { t: "2" }],
      ["an array of another prototype", { l: new (class extends Array {})() }, { l: [] }],
      ["a class instance in an array", { l: [new Instance()] }, { l: [{ a: 1 }] }]
    ]
    for (const [name, payload, expected] of cases) {
      const given = payloadForJson(payload)
      expect(given, name).not.toBe(payload)
      expect(given, name).toEqual(expected)
    }
  })

  it("copies an object with a toJSON the enumeration does not see (not enumerable)", () => {
    const payload = Object.defineProperty({ a: 1 }, "toJSON", { value: () => ({ b: 2 }), enumerable: false })
    const given = payloadForJson(payload)
    expect(given).not.toBe(payload)
    expect(given).toEqual({ b: 2 })
  })

  it("copies a payload with an object 64 levels below it, and gives one less deep as it is", () => {
    const shallow = nested(64, 1) as object
    expect(payloadForJson(shallow)).toBe(shallow)
    const deep = nested(65, 1) as object
    const copy = payloadForJson(deep)
    expect(copy).not.toBe(deep)
    expect(copy).toEqual(deep)
  })

  it("copies an array payload (kept under value) and a primitive one", () => {
    expect(payloadForJson([1])).toEqual({ value: [1] })
    expect(payloadForJson("s")).toEqual({ value: "s" })
    expect(payloadForJson(null)).toEqual({})
  })

  it("takes the full conversion when looking at the payload throws", () => {
    const payload = {
      get bad(): unknown {
        throw new Error("msg")
      },
      ok: 1
    }
    expect(payloadForJson(payload)).toEqual({ bad: "[Thrown: Error: msg]", ok: 1 })
  })
})
