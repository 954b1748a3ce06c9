/**
 * ioredis' errors as the port's `StreamBackendError`.
 *
 * @internal
 */
import { StreamBackend } from "@maf/events"

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Server replies (`ERR`, `NOPERM`, `WRONGTYPE`, `OOM`, …) are `Rejected`; a command timeout is
 * `Timeout`; everything else (not connected, connection closed, refused) is `Unavailable`.
 *
 * @internal
 */
export const reasonOf = (error: unknown): StreamBackend.StreamBackendErrorReason => {
  const name = error instanceof Error ? error.name : ""
  const message = messageOf(error)
  if (name === "ReplyError") return message.startsWith("LOADING") ? "Unavailable" : "Rejected"
  if (name === "TimeoutError" || /timed out/i.test(message)) return "Timeout"
  return "Unavailable"
}

/**
 * The port's error for `error`; for an append, `ids` are those of the entries it wrote before failing.
 *
 * @internal
 */
export const toBackendError = (
  error: unknown,
  ids?: ReadonlyArray<string>
): StreamBackend.StreamBackendError =>
  new StreamBackend.StreamBackendError({
    reason: reasonOf(error),
    message: messageOf(error),
    cause: error,
    ...(ids !== undefined ? { written: ids.length, ids } : {})
  })

/**
 * Whether a failed `EVALSHA`/`EVAL` means this server will not run our script at all (an ACL user
 * without the scripting commands, scripting renamed away), so appends must go without it.
 *
 * @internal
 */
export const refusesScripts = (error: unknown): boolean => {
  const message = messageOf(error)
  return (
    (/^NOPERM/.test(message) && /eval|script/i.test(message)) ||
    /unknown command .*(eval|script)/i.test(message)
  )
}
