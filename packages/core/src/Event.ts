/**
 * The lifecycle event of a multi-agent system: a kind, the envelope (arena, arena id, phase, time,
 * correlation id) and a payload.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import { hostNow } from "./internal/timeout.js"
import { formatMicros, parseMicros } from "./internal/timestamp.js"

/**
 * The 19 canonical kinds, as the Python reference's `EVENT_KINDS` names them. Dotted lower-case
 * names, so that subscribers can match on a prefix (`agent.*`).
 *
 * @since 0.1.0
 * @category kinds
 */
export const canonicalKinds = [
  "arena.start",
  "arena.complete",
  "arena.error",
  "phase.start",
  "phase.complete",
  "phase.error",
  "agent.start",
  "agent.complete",
  "agent.signal",
  "agent.error",
  "decision.emit",
  "source.fetch",
  "source.error",
  "llm.call",
  "llm.error",
  "control.command",
  "control.ack",
  "action.emit",
  "system.status"
] as const

/**
 * One of the 19 canonical kinds.
 *
 * @since 0.1.0
 * @category kinds
 */
export type CanonicalKind = (typeof canonicalKinds)[number]

const canonicalKindSet: ReadonlySet<string> = new Set(canonicalKinds)

/**
 * Whether `kind` is one of the canonical kinds.
 *
 * @since 0.1.0
 * @category kinds
 */
export const isCanonicalKind = (kind: string): kind is CanonicalKind => canonicalKindSet.has(kind)

/**
 * A payload: a JSON object.
 *
 * @since 0.1.0
 * @category models
 */
export type Payload = { readonly [key: string]: unknown }

/**
 * An event of kind `K` with a payload of type `P`. On the wire the envelope names are snake_case
 * (`arena_id`, `correlation_id`); here they are camelCase.
 *
 * `ts` is the timestamp exactly as written on the wire (the reference writes microseconds, which a
 * `Date` cannot hold); {@link dateTime} reads it as a `DateTime.Utc`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Event<K extends string = string, P = Payload> {
  readonly kind: K
  readonly arena: string
  readonly arenaId: string
  readonly phase: string
  readonly ts: string
  readonly correlationId: string
  readonly payload: P
}

/**
 * Any event, whatever its kind and payload.
 *
 * @since 0.1.0
 * @category models
 */
export type Any = Event<string, unknown>

/**
 * An event of one of the canonical kinds, with an untyped JSON payload.
 *
 * @since 0.1.0
 * @category models
 */
export type Canonical = { readonly [K in CanonicalKind]: Event<K, Payload> }[CanonicalKind]

/**
 * What a publisher gives: the kind, and whatever it knows of the envelope and payload. Omitted
 * envelope strings are `""`, an omitted payload is `{}`, an omitted `ts` is the current time and an
 * omitted `correlationId` a fresh one, filled when the event is published.
 *
 * @since 0.1.0
 * @category models
 */
export interface Input<K extends string = string, P = Payload> {
  readonly kind: K
  readonly arena?: string | undefined
  readonly arenaId?: string | undefined
  readonly phase?: string | undefined
  readonly ts?: string | undefined
  readonly correlationId?: string | undefined
  readonly payload?: P | undefined
}

/**
 * `formatMicros` for the clock's nanoseconds, with the date and time up to the second kept from the
 * previous call: events published within one second share it, and only the microseconds are
 * formatted (`formatMicros` costs 0.3 µs a call on the bench machine, see `bench/`).
 */
let cachedSecond = -1
let cachedPrefix = ""
const timestampOfNanos = (nanos: bigint): string => {
  const big = nanos / 1000n
  // Within safe integers (the years 1970 to 2255) the arithmetic is done on numbers: one `bigint`
  // division a timestamp instead of four operations.
  if (big < 0n || big > 9_007_199_254_740_991n) return formatMicros(big)
  return timestampOfMicros(Number(big))
}

/** {@link timestampOfNanos} for a whole number of microseconds since the epoch, from 1970 on. */
const timestampOfMicros = (micros: number): string => {
  const second = Math.floor(micros / 1_000_000)
  if (second !== cachedSecond) {
    // `formatMicros` ends with `.uuuuuu+00:00` (13 characters): keep what comes before.
    cachedPrefix = formatMicros(BigInt(second) * 1_000_000n).slice(0, -13)
    cachedSecond = second
  }
  return `${cachedPrefix}.${String(micros - second * 1_000_000).padStart(6, "0")}+00:00`
}

/**
 * The current time from Effect's `Clock`, in the wire's format
 * (`2026-05-14T11:22:33.123456+00:00`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const currentTimestamp: Effect.Effect<string> = Effect.clockWith((clock) =>
  Effect.succeed(timestampOfNanos(clock.unsafeCurrentTimeNanos()))
)

const hexDigits = Array.from("0123456789abcdef", (c) => c.charCodeAt(0))
const idChars = new Array<number>(32).fill(0)

/** The 8 hex digits of the low 32 bits of `n`, into `idChars` from `at`. */
const writeHex8 = (at: number, n: number): void => {
  for (let i = at + 7; i >= at; i--) {
    idChars[i] = hexDigits[n & 15]!
    n >>>= 4
  }
}

/**
 * A uuid4 without dashes from four random 32-bit words: version nibble 4, variant bits 10. Built as
 * one flat string from character codes, not by concatenating `toString(16)` pieces: `toString(16)`
 * and `padStart` cost 0.3 µs a word, and the encoder scans a flat string without flattening a rope
 * (id and scan 280 to 170 ns on the bench machine).
 */
const uuid4Hex = (a: number, b: number, c: number, d: number): string => {
  writeHex8(0, a)
  writeHex8(8, (b & 0xffff0fff) | 0x4000)
  writeHex8(16, (c & 0x3fffffff) | 0x80000000)
  writeHex8(24, d)
  return String.fromCharCode(...idChars)
}

const correlationIdFrom = (random: Random.Random): Effect.Effect<string> =>
  Effect.flatMap(random.nextInt, (a) =>
    Effect.flatMap(random.nextInt, (b) =>
      Effect.flatMap(random.nextInt, (c) => Effect.map(random.nextInt, (d) => uuid4Hex(a, b, c, d)))
    )
  )

/**
 * The `Random` every fiber has unless one is provided (`Effect.withRandom`): a generator seeded from
 * `Math.random()`. Under it a correlation id is drawn from `Math.random()` directly, which is just as
 * unpredictable and skips four effects (1.1 µs to 0.2 µs an id on the bench machine); any other
 * `Random` (a seeded one in tests) is drawn from, four `nextInt`s, so that a seed gives its ids.
 */
const defaultRandom = Context.get(DefaultServices.liveServices, Random.Random)

/**
 * Under Effect's default `Clock` the time is read as Effect's clock reads it, less its `bigint`
 * arithmetic (0.1 µs an event on the bench machine): `performance.now()` from an origin taken once
 * from `Date.now()`, as a number of milliseconds with a fraction. (The origins are taken at different
 * moments, so the two can differ by up to a millisecond.) Any other `Clock` (the `TestClock`), or a
 * host without `performance.now`, is read through the `Clock`'s own methods. Microseconds need 51
 * bits: a `number` holds them exactly until the year 2255.
 */
const defaultClock = Context.get(DefaultServices.liveServices, Clock.Clock)
let hostOrigin: number | undefined
const hostMicros = (now: () => number): number => {
  if (hostOrigin === undefined) hostOrigin = Date.now() - now()
  return Math.floor((hostOrigin + now()) * 1000)
}

// The services `makeIn` was last given, and the `Clock` and `Random` found in them (most calls get the
// same default services: two `Context` lookups saved a publish).
let servicesSeen: Context.Context<DefaultServices.DefaultServices> | undefined
let clockSeen: Clock.Clock = defaultClock
let randomSeen: Random.Random = defaultRandom
const word = (): number => (Math.random() * 0x1_0000_0000) >>> 0

/**
 * A fresh correlation id from Effect's `Random` (seed it in tests for exact values): 32 lowercase
 * hex characters shaped like a version-4 uuid without dashes, as the reference's `uuid4().hex`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const randomCorrelationId: Effect.Effect<string> = Effect.randomWith((random) =>
  random === defaultRandom
    ? Effect.sync(() => uuid4Hex(word(), word(), word(), word()))
    : correlationIdFrom(random)
)

const complete = <K extends string, P>(
  input: Input<K, P>,
  ts: string,
  correlationId: string
): Event<K, P> => ({
  kind: input.kind,
  arena: input.arena ?? "",
  arenaId: input.arenaId ?? "",
  phase: input.phase ?? "",
  ts,
  correlationId,
  payload: input.payload ?? ({} as P)
})

/**
 * Completes an input to an event: the defaults of the envelope, the current time from `Clock` and a
 * correlation id from `Random` where the input has none.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Effect } from "effect"
 * import { Event } from "@maf/events"
 *
 * const event = Event.make({ kind: "phase.complete", arena: "trading", payload: { score: 0.9 } })
 * // Effect<Event<"phase.complete", { score: number }>>
 */
export const make = <K extends string, P = Payload>(input: Input<K, P>): Effect.Effect<Event<K, P>> => {
  if (
    input.ts !== undefined &&
    input.ts !== "" &&
    input.correlationId !== undefined &&
    input.correlationId !== ""
  )
    return Effect.succeed(complete(input, input.ts, input.correlationId))
  // The fiber's Clock and Random read in one step, not through `Clock.currentTimeNanos` and four
  // `Random.nextInt` in `Effect.gen`: 8.8 µs to 0.8 µs an event on the bench machine.
  return Effect.withFiberRuntime((fiber) => {
    const made = makeIn(input, fiber.getFiberRef(DefaultServices.currentServices))
    return Effect.isEffect(made) ? made : Effect.succeed(made)
  })
}

/**
 * {@link make} with the services of a fiber, synchronously where it can be: the event, or, under a
 * `Random` other than the default one (whose ids are drawn through its effects, so that a seed gives
 * its ids), an `Effect` of it. For the bus's publishing, which encodes in the same step.
 *
 * @internal
 */
export const makeIn = <K extends string, P>(
  input: Input<K, P>,
  services: Context.Context<DefaultServices.DefaultServices>
): Event<K, P> | Effect.Effect<Event<K, P>> => {
  if (services !== servicesSeen) {
    servicesSeen = services
    clockSeen = Context.get(services, Clock.Clock)
    randomSeen = Context.get(services, Random.Random)
  }
  const given = input.ts
  const ts =
    given !== undefined && given !== ""
      ? given
      : clockSeen === defaultClock && hostNow !== undefined
        ? timestampOfMicros(hostMicros(hostNow))
        : timestampOfNanos(clockSeen.unsafeCurrentTimeNanos())
  const correlationId = input.correlationId
  if (correlationId !== undefined && correlationId !== "") return complete(input, ts, correlationId)
  const random = randomSeen
  if (random === defaultRandom) return complete(input, ts, uuid4Hex(word(), word(), word(), word()))
  return Effect.map(correlationIdFrom(random), (id) => complete(input, ts, id))
}

/**
 * Reads an event's `ts` as a `DateTime.Utc` (millisecond precision); `None` when it is not an
 * ISO-8601 timestamp.
 *
 * @since 0.1.0
 * @category getters
 */
export const dateTime = (event: Pick<Any, "ts">): Option.Option<DateTime.Utc> => {
  const micros = parseMicros(event.ts)
  if (micros === undefined) return Option.none()
  // Floor division: before 1970 a fraction of a millisecond still belongs to the earlier millisecond.
  const millis = micros >= 0n ? micros / 1000n : -((-micros + 999n) / 1000n)
  return DateTime.make(Number(millis))
}

/**
 * An ISO-8601 timestamp string, in any valid form (`Z`, `+00:00`, any number of fractional digits,
 * naive times read as UTC).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Timestamp = Schema.String.pipe(
  Schema.filter((s) => parseMicros(s) !== undefined, { message: () => "an ISO-8601 timestamp" }),
  Schema.annotations({
    identifier: "Timestamp",
    arbitrary: () => (fc) => fc.bigInt({ min: 0n, max: 253_402_300_799_999_999n }).map(formatMicros)
  })
)

const isJsonObject = (u: unknown): u is Payload => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * A payload: any JSON object, kept as it is (not copied).
 *
 * @since 0.1.0
 * @category schemas
 */
export const PayloadSchema: Schema.Schema<Payload> = Schema.declare(isJsonObject, {
  identifier: "Payload",
  description: "a JSON object",
  arbitrary: () => (fc) => fc.dictionary(fc.string(), fc.jsonValue()) as any
})
