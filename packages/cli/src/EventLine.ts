/**
 * An event as one JSON line, read back: the shape `tail --format json` prints (`kind`, and
 * optionally `arena`, `arena_id`, `phase`, `correlation_id`, `ts`, `payload`), so that an export can
 * be published again (`publish --input`). Pure.
 *
 * @since 0.3.0
 */
import { Event } from "@maf/events"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * What a line is: an event to publish, a gap notice of a `tail` export (not an event: skipped), or
 * what is wrong with it.
 *
 * @since 0.3.0
 * @category models
 */
export type Decoded =
  | { readonly _tag: "Event"; readonly input: Event.Input }
  | { readonly _tag: "Gap" }
  | { readonly _tag: "Bad"; readonly reason: string }

/** An envelope string: absent and `null` are the same as `""` (the bus fills or leaves it empty). */
const text = Schema.optional(Schema.NullOr(Schema.String))

const timestamp = Schema.String.pipe(
  Schema.filter((ts) => ts === "" || Option.isSome(Event.dateTime({ ts })), {
    message: () => "is not an ISO-8601 timestamp (2026-05-14T11:22:33.123456+00:00)"
  })
)

/**
 * The keys read from a line, with their types; `stream_id`, `variant`, `schema_version` and any other
 * key are ignored.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Line = Schema.Struct({
  kind: Schema.String.pipe(
    Schema.filter((kind) => kind.trim() !== "", { message: () => "must not be empty" })
  ),
  arena: text,
  arena_id: text,
  phase: text,
  correlation_id: text,
  ts: Schema.optional(Schema.NullOr(timestamp)),
  payload: Schema.optional(
    Schema.NullOr(
      Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
        message: () => "must be a JSON object"
      })
    )
  )
})

const decodeLine = Schema.decodeUnknownEither(Line, { onExcessProperty: "ignore" })

const kindOf = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`

/** The first issue of a parse error, as `key: what is wrong` (`kind is missing`). */
const firstIssue = (error: ParseResult.ParseError): string => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (issue === undefined) return "does not match the event's shape"
  const path = issue.path.map(String).join(".")
  if (issue._tag === "Missing") return `${path} is missing`
  const expected = /^Expected (\w+)(?: \| null)?, actual (.*)$/s.exec(issue.message)
  if (expected !== null) return `${path} must be a ${expected[1]}, got ${expected[2]}`
  return `${path} ${issue.message}`
}

const present = (value: string | null | undefined): string | undefined =>
  value === null || value === undefined ? undefined : value

/**
 * Reads one line (without its newline): an event input, a gap notice to skip, or why it is bad (not
 * JSON, not an object, no `kind`, a key of the wrong type, a `ts` that is not a timestamp, a
 * malformed entry of a `tail` export).
 *
 * @since 0.3.0
 * @category parsing
 */
export const decode = (line: string): Decoded => {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (error) {
    return { _tag: "Bad", reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { _tag: "Bad", reason: `not a JSON object (${kindOf(value)})` }
  }
  const variant = (value as { readonly variant?: unknown }).variant
  if (variant === "gap") return { _tag: "Gap" }
  if (variant === "malformed") {
    const reason = (value as { readonly reason?: unknown }).reason
    return {
      _tag: "Bad",
      reason: `a malformed entry of the export (${typeof reason === "string" ? reason : "no reason"}): no event to publish`
    }
  }
  return Either.match(decodeLine(value), {
    onLeft: (error) => ({ _tag: "Bad", reason: firstIssue(error) }),
    onRight: (line) => ({
      _tag: "Event",
      input: {
        kind: line.kind,
        arena: present(line.arena),
        arenaId: present(line.arena_id),
        phase: present(line.phase),
        ts: present(line.ts),
        correlationId: present(line.correlation_id),
        payload: line.payload ?? undefined
      }
    })
  })
}
