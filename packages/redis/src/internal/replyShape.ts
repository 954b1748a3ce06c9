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

/**
 * The failure of a read answered with another command's reply (reason `Unavailable`: a read changes
 * nothing that a new connection does not see again; a group's entries delivered meanwhile stay
 * pending for a claim).
 *
 * @internal
 */
export const outOfStep = (command: string, reply: unknown): StreamBackend.StreamBackendError => {
  const text = JSON.stringify(reply) ?? String(reply)
  return new StreamBackend.StreamBackendError({
    reason: "Unavailable",
    message: `${command} was answered with another command's reply (${text.length <= 40 ? text : `${text.slice(0, 37)}...`}): the connection is out of step, opened anew`
  })
}
