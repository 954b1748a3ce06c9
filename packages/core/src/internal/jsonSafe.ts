/**
 * Makes any JavaScript value JSON-safe without ever throwing: the reference's `_safe_payload` rules
 * (plain objects keep every key, class instances keep their public fields, anything else becomes a
 * string) extended for JavaScript's own hard cases. The result is made only of `null`, booleans,
 * finite numbers, strings, arrays and plain objects, so `JSON.stringify` on it cannot throw and
 * gives the same value back through `JSON.parse`.
 *
 * @internal
 */

/**
 * How many containers deep a payload may nest, below the payload object itself, before the rest is
 * replaced by a marker. Deep enough for any real payload; Python's own `json.dumps` stops near 1000.
 */
export const maxDepth = 256

/** Markers written in place of values that have no JSON form. */
export const markers = {
  circular: "[Circular]",
  maxDepth: "[MaxDepth]",
  unserializable: "[Unserializable]"
} as const

const describeThrown = (error: unknown): string => {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  } catch {
    return "unknown error"
  }
}

const safeString = (value: unknown): string => {
  try {
    return String(value)
  } catch {
    return markers.unserializable
  }
}

const numberValue = (n: number): number | string => {
  if (Number.isFinite(n)) return Object.is(n, -0) ? 0 : n
  // JSON has no NaN or Infinity; the reference writes bare tokens that strict JSON readers reject.
  // Strings keep the information and keep the body strict JSON.
  // Stryker disable next-line EqualityOperator: n is an infinity here, never 0
  return Number.isNaN(n) ? "NaN" : n > 0 ? "Infinity" : "-Infinity"
}

const setKey = (target: Record<string, unknown>, key: string, value: unknown): void => {
  // Stryker disable next-line ConditionalExpression: for any other key, the same own property as assigning
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    target[key] = value
  }
}

/**
 * Converts `value` to a JSON-safe value. `ancestors` holds the objects on the path from the root,
 * so a shared (non-cyclic) reference is written twice and only a real cycle becomes a marker.
 */
const convert = (value: unknown, ancestors: Array<object>): unknown => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value
    case "number":
      return numberValue(value)
    case "bigint":
      // Beyond 2^53 a JSON number loses digits in JavaScript readers: the decimal string does not.
      return value.toString()
    case "undefined":
      return null
    case "symbol":
      return value.description === undefined ? "Symbol()" : `Symbol(${value.description})`
    case "function":
      return `[Function${value.name ? `: ${value.name}` : ""}]`
  }
  if (value === null) return null
  const obj = value as object
  if (ancestors.includes(obj)) return markers.circular
  // The payload object itself is the first ancestor: `maxDepth` levels below it are kept.
  if (ancestors.length > maxDepth) return markers.maxDepth
  ancestors.push(obj)
  try {
    return convertObject(obj, ancestors)
  } catch (error) {
    return `[Unserializable: ${describeThrown(error)}]`
  } finally {
    ancestors.pop()
  }
}

/** A member without a JSON value is left out of an object, as `JSON.stringify` does. */
const isOmitted = (v: unknown): boolean => v === undefined || typeof v === "function" || typeof v === "symbol"

/**
 * Own enumerable string-keyed properties, each read on its own so that a throwing getter costs its
 * key only. `skipPrivate` drops `_`-prefixed keys, as the reference does for objects' attributes.
 */
const convertProperties = (
  obj: object,
  ancestors: Array<object>,
  skipPrivate: boolean
): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(obj)) {
    if (skipPrivate && key.startsWith("_")) continue
    let v: unknown
    try {
      v = (obj as Record<string, unknown>)[key]
    } catch (error) {
      setKey(out, key, `[Thrown: ${describeThrown(error)}]`)
      continue
    }
    if (!isOmitted(v)) setKey(out, key, convert(v, ancestors))
  }
  return out
}

const convertMap = (map: Map<unknown, unknown>, ancestors: Array<object>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of map) {
    if (isOmitted(v)) continue
    // Stryker disable next-line ConditionalExpression,StringLiteral: String(k) is k for a string (a shortcut)
    const key = typeof k === "string" ? k : typeof k === "symbol" ? (k.description ?? "") : safeString(k)
    setKey(out, key, convert(v, ancestors))
  }
  return out
}

const convertError = (error: Error, ancestors: Array<object>): Record<string, unknown> => {
  const out: Record<string, unknown> = { name: safeString(error.name), message: safeString(error.message) }
  const own = convertProperties(error, ancestors, true)
  for (const key of Object.keys(own)) if (key !== "stack") setKey(out, key, own[key])
  // `cause` and an AggregateError's `errors` are not enumerable, but they are what the error says.
  // Stryker disable next-line StringLiteral: an own enumerable cause is error.cause, converted alike again
  if (!("cause" in own) && error.cause !== undefined) out.cause = convert(error.cause, ancestors)
  // Stryker disable next-line StringLiteral: own enumerable errors are error.errors, converted alike again
  if (error instanceof AggregateError && !("errors" in own)) out.errors = convert(error.errors, ancestors)
  return out
}

const convertObject = (obj: object, ancestors: Array<object>): unknown => {
  if (Array.isArray(obj)) {
    // Stryker disable next-line ArrayDeclaration: every index is written below (the size given for speed)
    const out = new Array<unknown>(obj.length)
    for (let i = 0; i < obj.length; i++) {
      try {
        out[i] = convert(obj[i], ancestors)
      } catch (error) {
        out[i] = `[Thrown: ${describeThrown(error)}]`
      }
    }
    return out
  }
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? "Invalid Date" : obj.toISOString()
  // Boxed primitives (`new Number(5)`, `Object(2n)`) are written as their value, as JSON.stringify does.
  if (obj instanceof Number || obj instanceof String || obj instanceof Boolean || obj instanceof BigInt) {
    return convert(obj.valueOf(), ancestors)
  }
  const toJSON = (obj as { toJSON?: unknown }).toJSON
  if (typeof toJSON === "function") {
    const replaced: unknown = toJSON.call(obj, "")
    return replaced === obj ? convertProperties(obj, ancestors, false) : convert(replaced, ancestors)
  }
  if (obj instanceof Map) return convertMap(obj, ancestors)
  if (obj instanceof Set) return Array.from(obj, (item) => convert(item, ancestors))
  if (obj instanceof ArrayBuffer) return Array.from(new Uint8Array(obj))
  if (ArrayBuffer.isView(obj)) {
    if (obj instanceof DataView) return Array.from(new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength))
    return Array.from(obj as unknown as ArrayLike<number | bigint>, (n) => convert(n, ancestors))
  }
  if (obj instanceof Error) return convertError(obj, ancestors)
  if (obj instanceof RegExp || obj instanceof WeakMap || obj instanceof WeakSet || obj instanceof Promise) {
    return safeString(obj)
  }
  const proto = Object.getPrototypeOf(obj)
  // A plain object keeps every key, as a Python dict does; a class instance keeps its public fields,
  // as the reference keeps the public `__dict__` of an object.
  return convertProperties(obj, ancestors, !(proto === null || proto === Object.prototype))
}

/**
 * Converts any value to a JSON-safe value. Never throws.
 *
 * @internal
 */
export const toJsonSafe = (value: unknown): unknown => {
  try {
    return convert(value, [])
  } catch (error) {
    return `[Unserializable: ${describeThrown(error)}]`
  }
}

/**
 * Converts a payload to a JSON-safe object: a top-level value that is not an object is kept under
 * the key `value`; `null` and `undefined` become `{}` as in the reference (`payload or {}`).
 *
 * @internal
 */
export const payloadToJsonSafe = (payload: unknown): Record<string, unknown> => {
  if (payload === undefined || payload === null) return {}
  const safe = toJsonSafe(payload)
  if (typeof safe === "object" && safe !== null && !Array.isArray(safe))
    return safe as Record<string, unknown>
  return { value: safe }
}

/**
 * How deep the fast path of {@link payloadForJson} looks before it leaves a payload to the full
 * conversion: far deeper than real payloads, far short of {@link maxDepth}.
 */
const plainDepth = 64

/**
 * Whether `JSON.stringify` writes `value` exactly as it writes `toJsonSafe(value)`, checked without
 * copying: strings, booleans, `null`, finite numbers, `undefined` (left out of objects and written as
 * `null` in arrays, by both), arrays and objects of `Object.prototype` or `null` without `toJSON`.
 * Anything else (class instances, dates, bigints, functions, NaN, deep nesting and so cycles) answers
 * `false` and takes the full conversion. May throw (a getter): the caller catches.
 */
const isPlainJson = (value: unknown, depth: number): boolean => {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined":
      return true
    case "number":
      return Number.isFinite(value)
    case "object": {
      if (value === null) return true
      if (depth >= plainDepth) return false
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype || "toJSON" in value) return false
        // Stryker disable next-line EqualityOperator: value[length] is undefined, which is plain
        for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false
        return true
      }
      const proto = Object.getPrototypeOf(value)
      if ((proto !== Object.prototype && proto !== null) || "toJSON" in value) return false
      for (const key in value) {
        if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false
      }
      return true
    }
    // Stryker disable next-line ConditionalExpression: falling out of the switch answers undefined, as falsy
    default:
      return false
  }
}

/**
 * What to give `JSON.stringify` for a payload: the payload itself when it is a plain JSON object
 * (`JSON.stringify` writes it as it would write the converted copy), else
 * {@link payloadToJsonSafe}'s copy. Checking is cheaper than copying: an encode of the bench event
 * (about 400 bytes) went from 1.48 µs to 1.27 µs, one payload copy less, on the bench machine. `encode` falls back to the copy
 * should `JSON.stringify` still throw (a getter changing its answer between the check and the write).
 *
 * @internal
 */
export const payloadForJson = (payload: unknown): unknown => {
  try {
    if (
      typeof payload === "object" &&
      payload !== null &&
      !Array.isArray(payload) &&
      isPlainJson(payload, 0)
    ) {
      return payload
    }
  } catch {
    // A getter or a proxy threw: the full conversion writes what it threw.
  }
  return payloadToJsonSafe(payload)
}
