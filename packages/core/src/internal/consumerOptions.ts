/**
 * A member's options (`EventConsumer.MemberOptions`): their defaults, the default member name, and
 * their validation into the settings the member loop runs on (a clear `RangeError` for bad input).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import type * as Event from "../Event.js"
import type { MemberOptions } from "../EventConsumer.js"
import type { GroupBackendError } from "../GroupBackend.js"
import { parseEntryId } from "../StreamBackend.js"
import * as WireCodec from "../WireCodec.js"

/** The defaults of a member's options (`EventConsumer.defaults`). */
export const defaults = {
  stream: "maf:events",
  from: "$",
  concurrency: 1,
  minIdle: Duration.seconds(30),
  maxDeliveries: 5,
  retrySchedule: Schedule.exponential(Duration.millis(100)).pipe(
    Schedule.jittered,
    Schedule.map((delay) => Duration.min(delay, Duration.seconds(5)))
  ) as Schedule.Schedule<Duration.Duration, unknown>,
  failureSchedule: Schedule.exponential(Duration.millis(50)).pipe(
    Schedule.jittered,
    Schedule.union(Schedule.spaced(Duration.seconds(2)))
  ) as Schedule.Schedule<unknown, GroupBackendError>,
  onMissingGroup: "recreate",
  drainTimeout: Duration.seconds(10),
  block: Duration.seconds(1),
  removeIdleConsumersAfter: Duration.hours(1)
} as const

/** `<HOSTNAME>-<pid>`. */
export const defaultConsumerName = (): string => {
  const proc = (globalThis as { process?: { pid?: number; env?: Record<string, string | undefined> } })
    .process
  return `${proc?.env?.HOSTNAME ?? "host"}-${proc?.pid ?? 0}`
}

/** The dead letter's error text is kept short. */
export const errorTextMax = 500

/** `text`, cut to {@link errorTextMax} characters. */
export const shortened = (text: string): string =>
  text.length > errorTextMax ? `${text.slice(0, errorTextMax - 1)}…` : text

const refuse = (message: string): never => {
  throw new RangeError(`EventConsumer option ${message}`)
}

const millisOf = (name: string, input: Duration.DurationInput, min: number): number => {
  const decoded = Duration.decodeUnknown(input)
  // A negative number of milliseconds decodes to zero: refused here instead.
  const millis =
    decoded._tag === "Some" && !(typeof input === "number" && input < 0)
      ? Duration.toMillis(decoded.value)
      : Number.NaN
  if (!(millis >= min)) refuse(`${name} must be a duration of at least ${min} ms, got ${String(input)}`)
  return millis
}

/** The settings a member runs on. */
export type MemberConfig<E extends Event.Any> = ReturnType<typeof resolve<E>>

/** The options with their defaults, checked: throws a `RangeError` naming the option. */
export const resolve = <E extends Event.Any>(options: MemberOptions<E>) => {
  if (typeof options.group !== "string" || options.group === "") refuse(`group must be a non-empty string`)
  if (options.consumer !== undefined && (typeof options.consumer !== "string" || options.consumer === "")) {
    refuse(`consumer must be a non-empty string`)
  }
  const concurrency = options.concurrency ?? defaults.concurrency
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    refuse(`concurrency must be an integer >= 1, got ${concurrency}`)
  }
  const maxDeliveries = options.maxDeliveries ?? defaults.maxDeliveries
  if (!Number.isSafeInteger(maxDeliveries) || maxDeliveries < 0) {
    refuse(`maxDeliveries must be an integer >= 0, got ${maxDeliveries}`)
  }
  const from = options.from ?? defaults.from
  if (from !== "$" && from !== "0" && parseEntryId(from) === undefined) {
    refuse(`from must be "$", "0" or an entry id like 1715680953123-0, got ${from}`)
  }
  const onMissingGroup = options.onMissingGroup ?? defaults.onMissingGroup
  if (onMissingGroup !== "recreate" && onMissingGroup !== "fail") {
    refuse(`onMissingGroup must be "recreate" or "fail", got ${String(onMissingGroup)}`)
  }
  const stream = options.stream ?? defaults.stream
  return {
    stream,
    group: options.group,
    consumer: options.consumer ?? defaultConsumerName(),
    from,
    concurrency,
    maxDeliveries,
    minIdleMillis: millisOf("minIdle", options.minIdle ?? defaults.minIdle, 3),
    deadLetterStream: options.deadLetterStream ?? `${stream}:dead`,
    retrySchedule: options.retrySchedule ?? defaults.retrySchedule,
    failureSchedule: options.failureSchedule ?? defaults.failureSchedule,
    onMissingGroup,
    drainMillis: millisOf("drainTimeout", options.drainTimeout ?? defaults.drainTimeout, 0),
    blockMillis: Math.max(1, Math.ceil(millisOf("block", options.block ?? defaults.block, 0))),
    /** Infinity: housekeeping off. */
    removeIdleAfterMillis: millisOf(
      "removeIdleConsumersAfter",
      options.removeIdleConsumersAfter ?? defaults.removeIdleConsumersAfter,
      0
    ),
    propagateTrace: options.propagateTrace ?? true,
    parentOnProducer: options.parentOnProducer ?? false,
    codec: (options.catalog === undefined
      ? WireCodec.canonical
      : WireCodec.make(options.catalog)) as WireCodec.WireCodec<E>
  }
}

/** What a failure says in a line: its tag and message, or its tag and fields (a tagged error without a message). */
export const errorText = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  const error = failure._tag === "Some" ? failure.value : undefined
  if (typeof error === "string") return shortened(error)
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const { _tag, message, stack: _stack, ...fields } = error as Record<string, unknown>
    const said = typeof message === "string" && message !== "" && message !== "An error has occurred"
    let rest = ""
    try {
      rest = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ""
    } catch {
      // Fields JSON cannot write (a cycle, a bigint): the tag alone.
    }
    return shortened(`${String(_tag)}${said ? `: ${message}` : rest}`)
  }
  return shortened(Cause.pretty(cause).split("\n")[0] ?? "failed")
}
