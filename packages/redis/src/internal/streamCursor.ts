/**
 * A reader's cursor on a connection of its own: each read is the stream's `XINFO STREAM` and its
 * `XREAD`, back to back, and the read the reader said comes next can be sent ahead.
 *
 * @internal
 */
import type { StreamBackend } from "@maf/events"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { isNoSuchKey, timerBound, within } from "./client.js"
import type { Connection } from "./connection.js"
import { toBackendError } from "./errors.js"
import { isReadOf, isStreamInfo, outOfStep } from "./replyShape.js"
import { emptyInfo, parseInfo } from "./streamInfo.js"

type XReadReply = Array<[string, Array<[string, Array<string>]>]> | null

/** A cursor read's two answers: the stream's info (or why there is none) and the `XREAD` reply. */
type Answer = [{ readonly reply: unknown; readonly error: unknown }, unknown]

/**
 * Empties a reply's arrays once its entries have been taken out of it: in optimised code something
 * the young-generation collector takes for live keeps a resolved reply reachable until the next full
 * collection, so every read's reply would be promoted to the old generation; emptied, a retained
 * reply holds nothing (`read_rss_growth_mb` 77 to about 25 MB; figures: `docs/benchmarks.md`).
 */
const forgetReply = (reply: XReadReply): void => {
  if (reply === null) return
  for (const stream of reply) stream[1].length = 0
  reply.length = 0
}

/** A cursor on a connection of its own, closed with the scope. */
export const open = (
  connection: Connection
): Effect.Effect<StreamBackend.StreamCursor, StreamBackend.StreamBackendError, Scope.Scope> =>
  Effect.map(connection.cursor, (client) => {
    /**
     * One read's round trip: the stream's info just before the read, then the read, sent back to
     * back on the cursor's connection (Redis answers in order). Two plain commands rather than a
     * `pipeline()`, whose reply handling costs 0.4 µs an entry more on reads of 1000.
     */
    const send = (stream: string, after: string, readOptions: StreamBackend.ReadOptions): Promise<Answer> => {
      const info = client.xinfo("STREAM", stream).then(
        (reply) => ({ reply, error: undefined }),
        (error: unknown) => ({ reply: undefined, error })
      )
      const read =
        readOptions.blockMillis === undefined
          ? client.xread("COUNT", readOptions.count, "STREAMS", stream, after)
          : client.xread(
              "COUNT",
              readOptions.count,
              "BLOCK",
              readOptions.blockMillis,
              "STREAMS",
              stream,
              after
            )
      return Promise.all([info, read])
    }

    /**
     * The read the reader said comes next (`readAhead`), already sent, so that Redis prepares its
     * answer while the reader decodes what it holds. One at most, never blocking; only the read it
     * anticipated (same stream, position and count) is answered from it, and only if it found
     * entries (entries and snapshot of one moment: gap detection holds). Dropped with the cursor.
     */
    let ahead: { readonly key: string; readonly answer: Promise<Answer> } | undefined
    const aheadKey = (stream: string, after: string, count: number) => `${count} ${after} ${stream}`

    const readAhead = (stream: string, after: string, readOptions: StreamBackend.ReadOptions): void => {
      if (ahead !== undefined) return
      const answer = send(stream, after, { count: readOptions.count, blockMillis: undefined })
      // Dropped unasked (the cursor closed, the stream ended): its failure is nobody's.
      answer.catch(() => {})
      ahead = { key: aheadKey(stream, after, readOptions.count), answer }
    }

    const read = (
      stream: string,
      after: string,
      readOptions: StreamBackend.ReadOptions
    ): Effect.Effect<StreamBackend.ReadBatch, StreamBackend.StreamBackendError> =>
      Effect.tryPromise({
        try: () => {
          const anticipated = ahead
          ahead = undefined
          // A read ahead for another position is dropped (its answer comes first on the
          // connection, at once). One that found nothing is sent again, as asked (with its block).
          const answer =
            anticipated !== undefined && anticipated.key === aheadKey(stream, after, readOptions.count)
              ? anticipated.answer.then((answered) =>
                  (answered[1] as XReadReply)?.[0]?.[1]?.length ? answered : send(stream, after, readOptions)
                )
              : send(stream, after, readOptions)
          const bound = timerBound(readOptions.timeoutMillis)
          return bound === undefined ? answer : within(bound, answer)
        },
        catch: (error) => toBackendError(error)
      }).pipe(
        Effect.flatMap(([infoResult, readReply]) => {
          let info = emptyInfo
          if (infoResult.error !== undefined) {
            if (!isNoSuchKey(infoResult.error)) return Effect.fail(toBackendError(infoResult.error))
          } else if (!isStreamInfo(infoResult.reply)) {
            return Effect.fail(outOfStep("XINFO STREAM", infoResult.reply))
          } else {
            info = parseInfo(infoResult.reply)
          }
          if (!isReadOf(readReply, stream)) return Effect.fail(outOfStep("XREAD", readReply))
          const reply = readReply as XReadReply
          const replied = reply?.[0]?.[1] ?? []
          const entries = new Array<StreamBackend.StreamEntry>(replied.length)
          for (let i = 0; i < replied.length; i++) {
            const entry = replied[i]!
            entries[i] = { id: entry[0], fields: entry[1] }
          }
          forgetReply(reply)
          return Effect.succeed({ entries, info })
        })
      )
    return { read, boundsReads: true, readAhead }
  })
