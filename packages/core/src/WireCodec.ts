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
import { payloadToJsonSafe } from "./internal/jsonSafe.js"
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
  if (typeof value === "string") return value
  if (value === undefined || value === null) return ""
  try {
    return String(value)
  } catch {
    return ""
  }
}

const isObject = (u: unknown): u is { readonly [key: string]: unknown } =>
  typeof u === "object" && u !== null && !Array.isArray(u)

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
  const payloadEncoders = new Map<
    string,
    (payload: unknown) => Either.Either<unknown, ParseResult.ParseIssue>
  >()
  for (const [kind, def] of catalog.kinds) {
    decoders.set(kind, ParseResult.decodeUnknownEither(def.body) as Decoder)
    if (def.transformsPayload) payloadEncoders.set(kind, ParseResult.encodeUnknownEither(def.payload))
  }

  const encodePayload = (kind: string, payload: unknown): unknown => {
    const encoder = payloadEncoders.get(kind)
    if (encoder !== undefined) {
      const encoded = encoder(payload)
      // A payload its own Schema cannot encode is still published, made JSON-safe as it is.
      if (Either.isRight(encoded)) return encoded.right
    }
    return payload
  }

  const encode = (event: Event.Any): string => {
    const kind = envelopeText(event.kind)
    return JSON.stringify({
      schema_version: schemaVersion,
      kind,
      arena: envelopeText(event.arena),
      arena_id: envelopeText(event.arenaId),
      phase: envelopeText(event.phase),
      ts: envelopeText(event.ts),
      correlation_id: envelopeText(event.correlationId),
      payload: payloadToJsonSafe(encodePayload(kind, event.payload))
    })
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
