/**
 * A member's housekeeping: after a claim scan that went round the whole pending list (so that what
 * dead members held has been claimed first), the group's other consumers idle past
 * `removeIdleConsumersAfter` and holding nothing pending are removed (`XGROUP DELCONSUMER`, checked
 * and removed in one step by the backend). A member never removes itself, nor a consumer holding
 * entries. A server that refuses the removal (an ACL without it) turns housekeeping off for the
 * member, said once.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type { GroupBackendService, GroupInfo } from "../GroupBackend.js"
import type { FailureStreak } from "./failureStreak.js"

/** What housekeeping needs of the member. */
export interface HousekeepingOf {
  readonly groups: GroupBackendService
  readonly stream: string
  readonly group: string
  readonly consumer: string
  /** Infinity: off. */
  readonly removeIdleAfterMillis: number
  readonly removed: Metric.Metric.Counter<number>
  readonly failures: FailureStreak
  readonly annotations: Record<string, unknown>
}

/** The step to run with the group's info after each full claim scan. */
export const make = (of: HousekeepingOf): ((info: GroupInfo) => Effect.Effect<void>) => {
  let off = !Number.isFinite(of.removeIdleAfterMillis)
  const removeOne = (name: string, idleMillis: number) =>
    Effect.flatMap(of.groups.removeIdleConsumer(of.stream, of.group, name), (removed) =>
      removed
        ? Effect.zipRight(
            Metric.increment(of.removed),
            Effect.logInfo(
              `EventConsumer: removed consumer ${name} from the group (idle ${Math.round(idleMillis / 1000)} s, nothing pending)`
            ).pipe(Effect.annotateLogs(of.annotations))
          )
        : Effect.void
    )
  return (info) =>
    Effect.suspend(() => {
      if (off) return Effect.void
      const idle = info.consumers.filter(
        (c) => c.name !== of.consumer && c.pending === 0 && c.idleMillis >= of.removeIdleAfterMillis
      )
      return Effect.forEach(idle, (c) => removeOne(c.name, c.idleMillis), { discard: true }).pipe(
        Effect.catchAll((error) => {
          if (error._tag === "StreamBackendError" && error.reason === "Rejected") {
            off = true
            return Effect.logWarning(
              `EventConsumer: removing idle consumers was refused (${error.message}); housekeeping is off for this member (allow XGROUP DELCONSUMER, or set removeIdleConsumersAfter to Duration.infinity)`
            ).pipe(Effect.annotateLogs(of.annotations))
          }
          return of.failures.failure(`removing idle consumers failed (${error.message})`)
        })
      )
    })
}
