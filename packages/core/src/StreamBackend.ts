/**
 * The backend port: the few operations on a stream that the bus and the reader are built on. All
 * policy (encoding, batching, retries, resume, gap detection, metrics) lives above it, in this
 * package; a backend is a thin adapter (the in-memory one here, the Redis one in
 * `@maf/events-redis`).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/**
 * One stream entry: its id (`<ms>-<seq>`) and its raw field list (`[name, value, name, value, …]`).
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamEntry {
  readonly id: string
  readonly fields: ReadonlyArray<string>
}

/**
 * What a backend knows of a stream (Redis' `XINFO STREAM`).
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamInfo {
  /** Entries in the stream now. */
  readonly length: number
  /** The oldest entry's id; `undefined` when the stream is empty. */
  readonly firstId: string | undefined
  /** The newest id ever given (`"0-0"` for a stream never written). */
  readonly lastId: string
  /** How many entries were ever added; `undefined` when the backend cannot tell. */
  readonly entriesAdded: number | undefined
  /** The greatest id ever removed by trimming or deletion (`"0-0"` for none); `undefined` when unknown. */
  readonly maxDeletedEntryId: string | undefined
}

/**
 * Why a backend operation failed.
 *
 * - `Unavailable`: not connected, connection lost: nothing was written (or, for commands in flight
 *   when the connection broke, the outcome is unknown).
 * - `Timeout`: no answer in time; the outcome is unknown.
 * - `Rejected`: the server refused the command (permissions, wrong type, out of memory).
 *
 * @since 0.1.0
 * @category errors
 */
export type StreamBackendErrorReason = "Unavailable" | "Timeout" | "Rejected"

/**
 * A failed backend operation. For `append`, `written` says how many bodies from the start of the
 * batch were written before the failure (0 when none or unknown), and `ids`, where the backend
 * knows them, are their entry ids.
 *
 * @since 0.1.0
 * @category errors
 */
export class StreamBackendError extends Data.TaggedError("StreamBackendError")<{
  readonly reason: StreamBackendErrorReason
  readonly message: string
  readonly written?: number
  readonly ids?: ReadonlyArray<string>
  readonly cause?: unknown
}> {}

/**
 * Options of an append: `maxlen` caps the stream approximately (`MAXLEN ~`); 0 turns trimming off.
 * `timeoutMillis`, given only to a backend that {@link StreamBackendService.boundsAppends bounds its
 * appends}, is how long it may take. `traceparents`, aligned with the bodies, are the W3C trace
 * contexts of the producers: an entry whose element is a string gets a second field `traceparent`
 * after `data`; one whose element is `undefined` (or all, when it is unset) has `data` alone.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppendOptions {
  readonly maxlen: number
  readonly timeoutMillis?: number | undefined
  /** @since 0.3.0 */
  readonly traceparents?: ReadonlyArray<string | undefined> | undefined
}

/**
 * What an append answers: the entries' ids, in order, and, from a backend that waits for replicas
 * after each append (Redis' `WAIT`), how many replicas acknowledged it.
 *
 * @since 0.3.0
 * @category models
 */
export interface Appended extends ReadonlyArray<string> {
  readonly replicas?: number | undefined
}

/**
 * Where a backend talks to, for the spans of the bus (OpenTelemetry's `messaging.system`,
 * `server.address` and `server.port`).
 *
 * @since 0.3.0
 * @category models
 */
export interface BackendServer {
  /** The system's name: `"redis"`, `"memory"`. */
  readonly system: string
  /** The server's host name or address (a unix socket's path), where there is one. */
  readonly address?: string | undefined
  /** The server's port, where there is one. */
  readonly port?: number | undefined
}

/**
 * Options of a read: at most `count` entries; when none is there, wait up to `blockMillis`
 * (`undefined`: do not wait; 0: wait without limit, as Redis' `BLOCK 0`). `timeoutMillis`, given
 * only to a cursor that {@link StreamCursor.boundsReads bounds its reads}, is how long the read may
 * take in all.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  readonly count: number
  readonly blockMillis: number | undefined
  readonly timeoutMillis?: number | undefined
}

/**
 * What one read gives: the entries, and what the backend knew of the stream just before it read them
 * (taken in the same round trip), for gap detection.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadBatch {
  readonly entries: ReadonlyArray<StreamEntry>
  readonly info: StreamInfo
}

/**
 * A reading position of its own (for Redis, a connection of its own: a blocking read blocks every
 * other command on its connection). Closed with its scope.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamCursor {
  /**
   * Entries with ids greater than `after` (a concrete id; `"0"` reads from the start), with the
   * stream's info as it was just before the read.
   */
  readonly read: (
    stream: string,
    after: string,
    options: ReadOptions
  ) => Effect.Effect<ReadBatch, StreamBackendError>
  /**
   * `true` when `read` keeps to `options.timeoutMillis` by itself (under the live `Clock`): it
   * answers within it, failing with reason `"Timeout"` when the time runs out (a silent, half-open
   * connection included). The reader then runs each read in its own fiber; otherwise (unset) it
   * bounds every read with a watchdog fiber and timer of its own, which is as safe and allocates
   * about 10 KB more a read (a live tail makes hundreds of reads a second, and what they allocate
   * shows in its GC pauses). `Conformance` checks the promise of a cursor that makes it.
   */
  readonly boundsReads?: boolean | undefined
  /**
   * A hint that the next `read` will be `read(stream, after, options)`. A cursor may send that read
   * now, so that the server prepares its answer while the reader decodes what it holds, and answer
   * the next `read` with the same `stream`, `after` and `options.count` from it: its entries, and
   * its failure if it failed. `options.timeoutMillis` still counts from the `read` call. A `read`
   * with other arguments must not get its entries. The hint delivers nothing by itself, must not
   * throw (the reader ignores one that does), and should not hold the cursor's connection for
   * longer than an answer takes (the Redis cursor sends it without `BLOCK`; one that found nothing
   * is sent again, as asked, when the read is made).
   *
   * The reader gives the hint only when its consumer asks for more while it still holds undecoded
   * entries of a full batch (a backlog being caught up), so reading stays driven by the consumer's
   * pulls, one read ahead at most. Optional: without it, the next read is sent when it is made, and
   * batches are delivered whole.
   */
  readonly readAhead?: ((stream: string, after: string, options: ReadOptions) => void) | undefined
}

/**
 * The backend port.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamBackendService {
  /**
   * Appends one entry per body, each with the field `data` (and `traceparent` where
   * `options.traceparents` gives one), in order, and returns their ids.
   * Batches go in one round trip where the backend can. The `bodies` array is lent for the call:
   * once the effect has completed or been interrupted, the backend must not read or keep it (it
   * keeps the strings, if it needs them, not the array), and the caller may empty or reuse it.
   */
  readonly append: (
    stream: string,
    bodies: ReadonlyArray<string>,
    options: AppendOptions
  ) => Effect.Effect<Appended, StreamBackendError>
  /**
   * `true` when `append` keeps to `options.timeoutMillis` by itself (under the live `Clock`): it
   * answers within it, failing with reason `"Timeout"` when the time runs out, and sends nothing it
   * had not sent by then. The bus then runs an awaited publish's append in the caller's own fiber.
   * Otherwise (unset) the bus bounds every append with a fiber and a timer of its own, which is as
   * safe and costs more: on Redis, about a third of an awaited publish's time on the bench machine
   * (`docs/benchmarks.md`). `Conformance` checks the promise of a backend that makes it.
   */
  readonly boundsAppends?: boolean | undefined
  /** Where the backend talks to, for spans; unset: `messaging.system` `"unknown"`. @since 0.3.0 */
  readonly server?: BackendServer | undefined
  /** What the backend knows of the stream; a stream that does not exist is empty, with last id `"0-0"`. */
  readonly info: (stream: string) => Effect.Effect<StreamInfo, StreamBackendError>
  /** Opens a cursor for reading, closed when the scope closes. */
  readonly openCursor: Effect.Effect<StreamCursor, StreamBackendError, Scope.Scope>
}

/**
 * The backend port as a service.
 *
 * @since 0.1.0
 * @category tags
 */
export class StreamBackend extends Context.Tag("@maf/events/StreamBackend")<
  StreamBackend,
  StreamBackendService
>() {}

/**
 * An entry id as its two numbers.
 *
 * @since 0.1.0
 * @category ids
 */
export interface EntryId {
  readonly ms: number
  readonly seq: number
}

/**
 * Parses an entry id (`<ms>-<seq>`, or `<ms>` meaning `<ms>-0`); `undefined` when it is not one.
 *
 * @since 0.1.0
 * @category ids
 */
export const parseEntryId = (id: string): EntryId | undefined => {
  const dash = id.indexOf("-")
  const msText = dash === -1 ? id : id.slice(0, dash)
  const seqText = dash === -1 ? "0" : id.slice(dash + 1)
  if (!/^\d+$/.test(msText) || !/^\d+$/.test(seqText)) return undefined
  const ms = Number(msText)
  const seq = Number(seqText)
  return Number.isSafeInteger(ms) && Number.isSafeInteger(seq) ? { ms, seq } : undefined
}

/**
 * Orders two entry ids: negative when `a` comes first, 0 when equal, positive otherwise.
 *
 * @since 0.1.0
 * @category ids
 */
export const compareEntryIds = (a: EntryId, b: EntryId): number =>
  a.ms === b.ms ? a.seq - b.seq : a.ms - b.ms
