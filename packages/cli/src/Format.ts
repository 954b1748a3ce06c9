/**
 * Renderers of read results: the JSON line (one object per result, the contract other tools read)
 * and the pretty line (aligned, coloured, for people). Pure functions.
 *
 * The JSON line of each variant:
 *
 * | variant | keys |
 * |---|---|
 * | `"event"`, `"unknown"` | `stream_id`, `variant`, then the wire body's keys exactly as the entry had them (`schema_version`, `kind`, `arena`, `arena_id`, `phase`, `ts`, `correlation_id`, `payload`) |
 * | `"malformed"` | `stream_id`, `variant`, `reason` (`no_data_field`, `json_decode` or `schema`), `raw` (the `data` text, or `null` when there is none) |
 * | `"gap"` | `stream_id` (of the next entry), `variant`, `after`, `lost` (a number or `null`) |
 *
 * @since 0.1.0
 */
import { Event, type ReadResult, WireCodec } from "@maf/events"
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"

/**
 * A JSON object.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonObject = { readonly [key: string]: unknown }

/**
 * The `variant` of a JSON line.
 *
 * @since 0.1.0
 * @category models
 */
export type Variant = "event" | "unknown" | "malformed" | "gap"

/**
 * The variant of a result.
 *
 * @since 0.1.0
 * @category getters
 */
export const variantOf = (result: ReadResult.ReadResult): Variant => {
  switch (result._tag) {
    case "KnownEvent":
      return "event"
    case "UnknownKind":
      return "unknown"
    case "Malformed":
      return "malformed"
    case "Gap":
      return "gap"
  }
}

/**
 * The wire body of a decoded event, re-created in the reference's key order (what
 * `WireCodec.encode` writes).
 *
 * @since 0.1.0
 * @category json
 */
export const wireBody = (event: Event.Any): JsonObject => JSON.parse(WireCodec.encode(event)) as JsonObject

/**
 * The JSON line's object of a result. For a known event, `body` is the entry's parsed wire body
 * (so that its keys come out exactly as the entry had them); without it the body is re-created from
 * the decoded event. Body keys named `stream_id` or `variant` are left out.
 *
 * @since 0.1.0
 * @category json
 */
export const jsonObject = (result: ReadResult.ReadResult, body?: JsonObject | undefined): JsonObject => {
  switch (result._tag) {
    case "KnownEvent":
    case "UnknownKind": {
      const line: Record<string, unknown> = { stream_id: result.streamId, variant: variantOf(result) }
      const wire = result._tag === "UnknownKind" ? result.body : (body ?? wireBody(result.event))
      for (const key of Object.keys(wire)) {
        if (key !== "stream_id" && key !== "variant") line[key] = wire[key]
      }
      return line
    }
    case "Malformed":
      return {
        stream_id: result.streamId,
        variant: "malformed",
        reason: result.reason,
        raw: result.raw ?? null
      }
    case "Gap":
      return { stream_id: result.streamId, variant: "gap", after: result.after, lost: result.lost ?? null }
  }
}

/**
 * The JSON line of a result (no trailing newline).
 *
 * @since 0.1.0
 * @category json
 */
export const jsonLine = (result: ReadResult.ReadResult, body?: JsonObject | undefined): string =>
  JSON.stringify(jsonObject(result, body))

// ---- pretty ----------------------------------------------------------------------------------

/**
 * Options of the pretty renderer.
 *
 * @since 0.1.0
 * @category models
 */
export interface PrettyOptions {
  /** ANSI colours (see {@link useColor}). */
  readonly color: boolean
  /** The terminal's width: the payload preview is cut to fit. Without it, it is cut at 240 characters. */
  readonly width?: number | undefined
}

/**
 * Whether to colour: never when `NO_COLOR` is set (and not empty), always when `FORCE_COLOR` is set
 * (and not `0`), else when the output is a terminal.
 *
 * @since 0.1.0
 * @category pretty
 */
export const useColor = (env: { readonly [name: string]: string | undefined }, isTTY: boolean): boolean => {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true
  return isTTY
}

const familyColors: { readonly [family: string]: string } = {
  arena: "34",
  phase: "36",
  agent: "32",
  decision: "35",
  source: "94",
  llm: "95",
  control: "33",
  action: "92",
  system: "90"
}

/**
 * The SGR colour code of a kind: by family (`llm` of `llm.call`), bold red for `*.error`.
 *
 * @since 0.1.0
 * @category pretty
 */
export const kindColor = (kind: string): string => {
  const dot = kind.indexOf(".")
  const family = dot === -1 ? kind : kind.slice(0, dot)
  const variant = dot === -1 ? "" : kind.slice(dot + 1)
  if (variant === "error") return "1;31"
  const base = familyColors[family] ?? "37"
  return variant === "start" ? `1;${base}` : base
}

const paint = (color: boolean, code: string, text: string): string =>
  color && text !== "" ? `\u001b[${code}m${text}\u001b[0m` : text

const fit = (text: string, width: number): string =>
  text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width)

const cut = (text: string, width: number): string =>
  text.length > width ? `${text.slice(0, Math.max(1, width - 1))}…` : text

const plainValue = /^[\w.\-:/@+]+$/

const previewValue = (value: unknown): string => {
  if (typeof value === "string") return plainValue.test(value) ? value : JSON.stringify(value)
  if (value === undefined) return "undefined"
  if (typeof value === "number" && !Number.isFinite(value)) return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * A payload on one line: `key=value` pairs, strings unquoted when they are plain words.
 *
 * @since 0.1.0
 * @category pretty
 */
export const payloadPreview = (payload: unknown): string => {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return previewValue(payload)
  }
  return Object.entries(payload)
    .map(([key, value]) => `${plainValue.test(key) ? key : JSON.stringify(key)}=${previewValue(value)}`)
    .join(" ")
}

/**
 * The time of day of a timestamp, in UTC with milliseconds (`11:22:33.123`); the text itself when
 * it is not a timestamp.
 *
 * @since 0.1.0
 * @category pretty
 */
export const timeOfDay = (ts: string): string =>
  Option.match(Event.dateTime({ ts }), {
    onNone: () => ts,
    onSome: (dt) => new Date(DateTime.toEpochMillis(dt)).toISOString().slice(11, 23)
  })

const text = (u: unknown): string => (typeof u === "string" ? u : u === undefined ? "" : String(u))

const columns = { id: 15, time: 12, kind: 15, arena: 12, phase: 10 } as const
const gutter = "  "
const prefixWidth =
  columns.id + columns.time + columns.kind + columns.arena + columns.phase + 5 * gutter.length
const defaultPreviewWidth = 240

const eventLine = (
  options: PrettyOptions,
  streamId: string,
  fields: {
    readonly ts: string
    readonly kind: string
    readonly kindCode: string
    readonly arena: string
    readonly phase: string
    readonly payload: unknown
  }
): string => {
  const { color } = options
  const previewWidth =
    options.width === undefined ? defaultPreviewWidth : Math.max(20, options.width - prefixWidth)
  return [
    paint(color, "2", streamId.padEnd(columns.id)),
    timeOfDay(fields.ts).padEnd(columns.time),
    paint(color, fields.kindCode, fit(fields.kind, columns.kind)),
    fit(fields.arena, columns.arena),
    paint(color, "2", fit(fields.phase, columns.phase)),
    cut(payloadPreview(fields.payload), previewWidth)
  ]
    .join(gutter)
    .trimEnd()
}

/**
 * The pretty line of a result (no trailing newline): stream id, time of day (UTC), kind, arena,
 * phase and a payload preview, aligned; unknown kinds marked `?`, malformed entries and gaps on
 * lines of their own.
 *
 * @since 0.1.0
 * @category pretty
 */
export const pretty = (result: ReadResult.ReadResult, options: PrettyOptions): string => {
  const { color } = options
  switch (result._tag) {
    case "KnownEvent": {
      const { event } = result
      return eventLine(options, result.streamId, {
        ts: event.ts,
        kind: event.kind,
        kindCode: kindColor(event.kind),
        arena: event.arena,
        phase: event.phase,
        payload: event.payload
      })
    }
    case "UnknownKind": {
      const { body } = result
      return eventLine(options, result.streamId, {
        ts: text(body.ts),
        kind: `?${result.kind}`,
        kindCode: "4;33",
        arena: text(body.arena),
        phase: text(body.phase),
        payload: body.payload ?? {}
      })
    }
    case "Malformed": {
      const raw = result.raw === undefined ? "(no data field)" : `raw=${JSON.stringify(result.raw)}`
      const width = options.width === undefined ? defaultPreviewWidth : Math.max(20, options.width)
      return [
        paint(color, "2", result.streamId.padEnd(columns.id)),
        paint(color, "1;31", `!! malformed (${result.reason}):`),
        cut(`${result.message}  ${raw}`, width)
      ].join(gutter)
    }
    case "Gap": {
      const lost = result.lost === undefined ? "an unknown number of" : String(result.lost)
      return paint(
        color,
        "1;33",
        `── gap: ${lost} entries after ${result.after} were trimmed before they were read; going on at ${result.streamId} ──`
      )
    }
  }
}
