/**
 * The conformance suite of `EventConsumer`: the consumer's contract (work shared, crashes
 * recovered, acks final, leases, dead letters, gaps, missing groups, shutdown, server restarts),
 * checked with members running as they run in programs, over a backend's group port. One call
 * registers it with `@effect/vitest`; the repository runs it against the in-memory backend and
 * against a real `redis-server`. The port's own contract is `GroupConformance`'s.
 *
 * The checks are written by area (`consumerConformance/sharing`, `failures`, `lifecycle`) and
 * gathered here; each is also an effect ({@link Check}) failing with a `ConformanceError` that says
 * what broke. They run on the live clock with idle times of a few tenths of a second, every other
 * wait a condition awaited. A check that needs what a backend lacks ({@link Features}: the faults of
 * a real server) is registered as skipped.
 *
 * @example
 * ```ts
 * import { RedisGroupBackend, RedisStreamBackend } from "@maf/events-redis"
 * import { ConsumerConformance } from "@maf/events-test"
 * import * as Layer from "effect/Layer"
 *
 * // Against the in-memory backend: the checks that need faults show as skipped.
 * ConsumerConformance.conformance("memory consumer", ConsumerConformance.layerMemory)
 * // Against a real redis-server started for the suite; each member has connections of its own.
 * ConsumerConformance.conformance(
 *   "redis consumer",
 *   ConsumerConformance.layerRedis((url, clientName) =>
 *     Layer.merge(RedisStreamBackend.layer({ url, clientName }), RedisGroupBackend.layer({ url, clientName }))
 *   ),
 *   { features: { faults: true } }
 * )
 * ```
 *
 * @since 0.2.0
 */
import * as Duration from "effect/Duration"
import type * as Layer from "effect/Layer"
import type { Check, Environment, Features } from "./consumerConformance/environment.js"
import {
  deadLetterAfterMaxDeliveries,
  destroyedGroup,
  trimmedWhilePending
} from "./consumerConformance/failures.js"
import { serverRestarts, shutdownDrains } from "./consumerConformance/lifecycle.js"
import {
  ackedNeverAgain,
  killedMember,
  membersShare,
  slowHandlerKeepsLease
} from "./consumerConformance/sharing.js"
import { register } from "./internal/suite.js"

export {
  /**
   * @since 0.2.0
   * @category models
   */
  type Check,
  /**
   * @since 0.2.0
   * @category models
   */
  type Environment,
  /**
   * @since 0.2.0
   * @category capabilities
   */
  Faults,
  /**
   * @since 0.2.0
   * @category models
   */
  type Features,
  /**
   * @since 0.2.0
   * @category layers
   */
  layerMemory,
  /**
   * @since 0.2.0
   * @category layers
   */
  layerRedis,
  /**
   * @since 0.2.0
   * @category capabilities
   */
  Members
} from "./consumerConformance/environment.js"
export {
  /**
   * @since 0.2.0
   * @category checks
   */
  deadLetterAfterMaxDeliveries,
  /**
   * @since 0.2.0
   * @category checks
   */
  destroyedGroup,
  /**
   * @since 0.2.0
   * @category checks
   */
  trimmedWhilePending
} from "./consumerConformance/failures.js"
export {
  /**
   * @since 0.2.0
   * @category measurements
   */
  measureServerRestarts,
  /**
   * @since 0.2.0
   * @category models
   */
  type RestartRun,
  /**
   * @since 0.2.0
   * @category checks
   */
  serverRestarts,
  /**
   * @since 0.2.0
   * @category checks
   */
  shutdownDrains
} from "./consumerConformance/lifecycle.js"
export {
  /**
   * @since 0.2.0
   * @category checks
   */
  ackedNeverAgain,
  /**
   * @since 0.2.0
   * @category models
   */
  type CrashRecovery,
  /**
   * @since 0.2.0
   * @category checks
   */
  killedMember,
  /**
   * @since 0.2.0
   * @category measurements
   */
  measureCrashRecovery,
  /**
   * @since 0.2.0
   * @category checks
   */
  membersShare,
  /**
   * @since 0.2.0
   * @category checks
   */
  slowHandlerKeepsLease
} from "./consumerConformance/sharing.js"

/**
 * Every check, in the order the suite runs them.
 *
 * @since 0.2.0
 * @category checks
 */
export const checks: ReadonlyArray<Check> = [
  membersShare,
  killedMember,
  ackedNeverAgain,
  slowHandlerKeepsLease,
  deadLetterAfterMaxDeliveries,
  trimmedWhilePending,
  destroyedGroup,
  shutdownDrains,
  serverRestarts
]

/**
 * Options of {@link conformance}.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** What the backend offers beyond the contract; checks needing more are registered as skipped. */
  readonly features?: Features | undefined
  /** The bound on each check. Default 60 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Registers the suite with `@effect/vitest`: a `describe` block named `name` whose environment is
 * built once from `environment` (on the live clock) and shared by the checks, one `it` per check,
 * `it.skip` for a check that needs a feature the backend lacks.
 *
 * @since 0.2.0
 * @category suite
 * @example
 * ```ts
 * import type { GroupBackend, StreamBackend } from "@maf/events"
 * import { ConsumerConformance, GroupConformance } from "@maf/events-test"
 * import * as Layer from "effect/Layer"
 *
 * // A backend of your own: its two ports, the raw operations, a backend per member.
 * declare const MyBackend: Layer.Layer<StreamBackend.StreamBackend | GroupBackend.GroupBackend>
 * declare const MyRaw: Layer.Layer<GroupConformance.GroupRaw>
 * declare const MyMembers: Layer.Layer<ConsumerConformance.Members>
 *
 * ConsumerConformance.conformance("my backend's consumer", Layer.mergeAll(MyBackend, MyRaw, MyMembers))
 * ```
 */
export const conformance = <E>(
  name: string,
  environment: Layer.Layer<Environment, E>,
  options: Options = {}
): void => {
  register("ConsumerConformance.conformance", name, environment, checks, {
    timeoutMillis: Duration.toMillis(options.timeout ?? Duration.seconds(60)),
    offered: new Set(options.features?.faults === true ? ["faults"] : [])
  })
}
