/**
 * The shapes of the replies a cursor's connection must answer with. A connection left out of step
 * (a network that lost bytes: each reply handed to an earlier command) answers a read with another
 * command's reply; taken as it came, it was a defect that ended a group member for good (a string
 * where entries were expected) or a read that saw nothing. Checked, it is a failed read: the
 * cursor is closed and opened anew on a new connection.
 *
 * @internal
 */
import { StreamBackend } from "@maf/events"

/** Whether `reply` answers an `XREAD` or `XREADGROUP` of `stream`: none (`null`), or `[[stream, entries]]`. */
export const isReadOf = (reply: unknown, stream: string): boolean =>
  reply === null ||
  (Array.isArray(reply) &&
    reply.length === 1 &&
    Array.isArray(reply[0]) &&
    reply[0][0] === stream &&
    Array.isArray(reply[0][1]))

/** Whether `reply` is a script's reply of `length` parts, each a list (or `nil`, read as none). */
export const isReplyOf = (reply: unknown, length: number): boolean =>
  Array.isArray(reply) && reply.length === length

/** Whether `reply` answers an `XINFO STREAM`: a flat list of fields, `length` first. */
export const isStreamInfo = (reply: unknown): boolean => Array.isArray(reply) && reply[0] === "length"

/** Whether `reply` is an entry id (`<ms>-<seq>`), as an `XADD` answers. */
export const isStreamId = (reply: unknown): reply is string =>
  typeof reply === "string" && /^\d+-\d+$/.test(reply)

/**
 * The failure of a command answered with another command's reply. A read (`"read"`: reason
 * `Unavailable`) changes nothing that a new connection does not see again (a group's entries
 * delivered meanwhile stay pending for a claim); a write's (`"write"`: reason `Timeout`, nothing
 * known written) own reply went to an earlier command: its outcome is unknown.
 *
 * @internal
 */
export const outOfStep = (
  command: string,
  reply: unknown,
  kind: "read" | "write" = "read"
): StreamBackend.StreamBackendError => {
  const text = JSON.stringify(reply) ?? String(reply)
  return new StreamBackend.StreamBackendError({
    reason: kind === "read" ? "Unavailable" : "Timeout",
    message: `${command} was answered with another command's reply (${text.length <= 40 ? text : `${text.slice(0, 37)}...`}): the connection is out of step, ${kind === "read" ? "opened anew" : "the outcome unknown"}`,
    ...(kind === "write" ? { written: 0, ids: [] } : {})
  })
}
