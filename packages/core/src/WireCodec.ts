/**
 * The wire codec: an event to the JSON text of a stream entry's `data` field, and a stream entry's
 * fields back to a `ReadResult`. Byte-for-byte the reference's shape (one `data` field, snake_case
 * keys in the reference's order, `schema_version` `"1"`); decoding accepts all the reference can write,
 * including Python's bare `NaN` / `Infinity` tokens.
 *
 * Neither direction throws, whatever it is given.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import type * as Event from "./Event.js"
import * as EventCatalog from "./EventCatalog.js"
import * as EventKind from "./EventKind.js"
import { decodeCanonical, isObject } from "./internal/canonicalBody.js"
import { payloadForJson, payloadToJsonSafe } from "./internal/jsonSafe.js"
import { parseBody } from "./internal/pythonJson.js"
import * as ReadResult from "./ReadResult.js"

/**
 * The name of the one field each entry has.
 *
 * @since 0.1.0
 * @category constants
 */
export const dataField = "data"

/**
 * The keys of a body, in the order the reference writes them (and this codec too).
 *
 * @since 0.1.0
 * @category constants
 */
export const bodyKeys = [
  "schema_version",
  "kind",
  "arena",
  "arena_id",
  "phase",
  "ts",
  "correlation_id",
  "payload"
] as const

/**
 * The `schema_version` written in every body.
 *
 * @since 0.1.0
 * @category constants
 */
export const schemaVersion = "1"

/**
 * Encodes events and decodes entries for the kinds of a catalog.
 *
 * @since 0.1.0
 * @category models
 */
export interface WireCodec<E extends Event.Any> {
  readonly catalog: EventCatalog.EventCatalog<E>
  /**
   * The `data` text of an event. The payload is made JSON-safe first (never rejected); a payload of a
   * typed kind goes through its Schema's encoding. Never throws.
   */
  readonly encode: (event: Event.Any) => string
  /** A stream entry's fields (`[name, value, …]`) to a read result. Never throws. */
  readonly decode: (streamId: string, fields: ReadonlyArray<string>) => ReadResult.ReadResult<E>
}

const envelopeText = (value: unknown): string => {
  // Stryker disable next-line StringLiteral: String(value) of a string is the string itself
  if (typeof value === "string") return value
  if (value === undefined || value === null) return ""
  try {
    return String(value)
  } catch {
    return ""
  }
}

// What JSON writes as it is: no quote, backslash or control character, and no surrogate (a lone one
// is escaped by JSON; a text with pairs is left to `JSON.stringify`, as anything else it may escape).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rules out
const verbatim = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/

/**
 * A string's JSON text: `JSON.stringify(value)`, which spends about 145 ns on a 32-character
 * timestamp (bench machine); put in quotes, 50 ns, when it has nothing to escape.
 */
const jsonText = (value: string): string => (verbatim.test(value) ? `"${value}"` : JSON.stringify(value))

/** Where {@link flat} puts the character it reads, so that no compiler drops the read as unused. */
const flattened = { code: 0 }

/**
 * `text`, made one flat string in V8 (reading a character of a string made by concatenation does
 * that). A body is put together from a dozen pieces; flattened at once, while the pieces are fresh
 * in the cache, rather than when the backend writes the batch.
 */
const flat = (text: string): string => {
  flattened.code = text.charCodeAt(0)
  return text
}

/** The definitions this library makes for the canonical kinds, whose bodies `decodeCanonical` reads. */
const canonicalDefinitions: ReadonlySet<unknown> = new Set(Object.values(EventKind.canonical))

const describeIssue = (issue: ParseResult.ParseIssue): string =>
  ParseResult.ArrayFormatter.formatIssueSync(issue)
    .map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ")

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * A codec for the kinds of `catalog`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <E extends Event.Any>(catalog: EventCatalog.EventCatalog<E>): WireCodec<E> => {
  type Decoder = (body: unknown) => Either.Either<E, ParseResult.ParseIssue>
  const decoders = new Map<string, Decoder>()
  const canonicalKinds = new Set<string>()
  const payloadEncoders = new Map<
    string,
    (payload: unknown) => Either.Either<unknown, ParseResult.ParseIssue>
  >()
  for (const [kind, def] of catalog.kinds) {
    decoders.set(kind, ParseResult.decodeUnknownEither(def.body) as Decoder)
    if (canonicalDefinitions.has(def)) canonicalKinds.add(kind)
    if (def.transformsPayload) payloadEncoders.set(kind, ParseResult.encodeUnknownEither(def.payload))
  }

  const encodePayload = (kind: string, payload: unknown): unknown => {
    const encoder = payloadEncoders.get(kind)
    if (encoder === undefined) return payload
    // A payload its own Schema cannot encode (a Left, or a transform that throws) is still
    // published, made JSON-safe as it is.
    let encoded: Either.Either<unknown, ParseResult.ParseIssue>
    try {
      encoded = encoder(payload)
    } catch {
      return payload
    }
    return Either.isRight(encoded) ? encoded.right : payload
  }

  // The body's text up to `"ts":`, kept for the envelope last seen: a program's kind, arena, arena
  // id and phase repeat from one event to the next.
  // Stryker disable next-line StringLiteral: no text is kept before the first event (no kind is undefined)
  let head = ""
  let headKind: string | undefined
  let headArena: string | undefined
  let headArenaId: string | undefined
  let headPhase: string | undefined
  const headOf = (kind: string, arena: string, arenaId: string, phase: string): string => {
    if (kind !== headKind || arena !== headArena || arenaId !== headArenaId || phase !== headPhase) {
      head = flat(
        `{"schema_version":"${schemaVersion}","kind":${jsonText(kind)},"arena":${jsonText(arena)},"arena_id":${jsonText(arenaId)},"phase":${jsonText(phase)},"ts":`
      )
      headKind = kind
      headArena = arena
      headArenaId = arenaId
      headPhase = phase
    }
    return head
  }

  /**
   * The body put together from its parts' JSON texts, keys in the reference's order: the same text
   * as `JSON.stringify` of the body object (`WireCodec.fastPath.test.ts` checks it on generated
   * events). `JSON.stringify` spends about 65 ns a key of the envelope, and the envelope's texts
   * change little: the text up to `"ts":` is kept, and the text is made flat at once (see `flat`).
   * `publish_nowait` on the bench machine, process CPU an event, three alternating pairs of runs:
   * 4.41, 4.42 and 4.51 µs with one `JSON.stringify` of the body object, 3.71, 3.90 and 4.10 µs so.
   */
  const encode = (event: Event.Any): string => {
    const kind = envelopeText(event.kind)
    const text = `${headOf(kind, envelopeText(event.arena), envelopeText(event.arenaId), envelopeText(event.phase))}${jsonText(envelopeText(event.ts))},"correlation_id":${jsonText(envelopeText(event.correlationId))},"payload":`
    const payload = encodePayload(kind, event.payload)
    let json: string | undefined
    // Stryker disable next-line BlockStatement: the safe copy below writes the same text (WireCodec.fastPath.test.ts)
    try {
      json = JSON.stringify(payloadForJson(payload))
    } catch {
      // A getter that throws, a cycle JSON met: the safe copy below.
    }
    // No text at all: a `toJSON` the plain check did not see (a Proxy's) answered `undefined`. The
    // safe copy is an object of plain JSON, which `JSON.stringify` writes without fail.
    if (typeof json !== "string") json = JSON.stringify(payloadToJsonSafe(payload))
    return flat(`${text}${json}}`)
  }

  const decode = (streamId: string, fields: ReadonlyArray<string>): ReadResult.ReadResult<E> => {
    // As Redis keeps them, and as the reference reads them: the last `data` field wins, and an
    // empty one counts as none.
    let raw: string | undefined
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === dataField) raw = fields[i + 1]
    }
    if (raw === undefined || raw === "") {
      return ReadResult.malformed(
        streamId,
        "no_data_field",
        "the entry has no (non-empty) data field",
        raw,
        fields
      )
    }
    let body: unknown
    try {
      body = parseBody(raw)
    } catch (error) {
      return ReadResult.malformed(streamId, "json_decode", describe(error), raw, fields)
    }
    if (!isObject(body)) {
      return ReadResult.malformed(streamId, "schema", "the body is not a JSON object", raw, fields)
    }
    const kind = body.kind
    if (typeof kind !== "string") {
      return ReadResult.malformed(streamId, "schema", "the body has no string kind", raw, fields)
    }
    const decoder = decoders.get(kind)
    if (decoder === undefined) return ReadResult.unknownKind(streamId, kind, body)
    // Stryker disable next-line BlockStatement: the Schema below decodes a canonical body the same, slower (see decodeCanonical)
    if (canonicalKinds.has(kind)) {
      const event = decodeCanonical(kind, body)
      if (event !== undefined) return ReadResult.knownEvent(streamId, event as E)
    }
    const decoded = decoder(body)
    if (Either.isLeft(decoded)) {
      return ReadResult.malformed(streamId, "schema", describeIssue(decoded.left), raw, fields)
    }
    return ReadResult.knownEvent(streamId, decoded.right)
  }

  return { catalog, encode, decode }
}

/**
 * The codec of the canonical kinds.
 *
 * @since 0.1.0
 * @category constructors
 */
export const canonical: WireCodec<Event.Canonical> = make(EventCatalog.canonical)

/**
 * Encodes an event with the canonical codec (payloads are not run through any Schema).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode: (event: Event.Any) => string = canonical.encode

/**
 * Decodes an entry with the canonical codec.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode: (
  streamId: string,
  fields: ReadonlyArray<string>
) => ReadResult.ReadResult<Event.Canonical> = canonical.decode
