/**
 * ioredis' errors as the port's `StreamBackendError`.
 *
 * @internal
 */
import { StreamBackend } from "@maf/events"

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Server replies that say "not here, not now": the command was not run, and runs once the server or
 * the cluster is ready or on the node that serves the key now (a dataset loading, a redirection
 * ioredis did not follow — a pipeline with a write after the key's commands, as `XADD`s then `WAIT`
 * —, a slot being migrated or a cluster down, a master gone, a replica that was a master before a
 * failover, a busy script). (`BUSYGROUP` is a refusal: `\b` keeps it out.)
 *
 * @internal
 */
export const notRunHere = /^(LOADING|MOVED|ASK|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|BUSY)\b/

/**
 * Server replies (`ERR`, `NOPERM`, `WRONGTYPE`, `OOM`, …) are `Rejected`, but for those of
 * {@link notRunHere} (`Unavailable`: certainly not run, worth trying again); a command timeout is
 * `Timeout`; everything else (not connected, connection closed, refused) is `Unavailable`.
 *
 * @internal
 */
export const reasonOf = (error: unknown): StreamBackend.StreamBackendErrorReason => {
  const name = error instanceof Error ? error.name : ""
  const message = messageOf(error)
  if (name === "ReplyError") return notRunHere.test(message) ? "Unavailable" : "Rejected"
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
