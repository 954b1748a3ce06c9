/**
 * `Effect.timeoutOption` at a lower price, for the bounds the bus puts on every backend call (the
 * awaited publish, the reader's watchdog).
 *
 * `Effect.timeoutOption` forks two fibers from the caller (the effect and a sleep), joins the winner
 * and waits for the loser's interruption. Under the live `Clock`, whose sleep is a `setTimeout`, the
 * same bound needs one fiber, started from a runtime (no supervision by the caller, no copy of its
 * `FiberRef`s), and a `setTimeout`; on time-out that fiber is interrupted in the background. CPU on the
 * bench machine (see `bench/`): an awaited publish on Redis, `timeoutOption` +35 µs, this +10 µs;
 * in a loop, `timeoutOption` 23 µs and 42 KB allocated a call, this 5 µs and 9 KB; a reader's 1000-entry
 * reads of the in-memory backend, 1.62 to 1.49 µs an entry. Under any other `Clock` (the
 * `TestClock`) this is `Effect.timeoutOption`, so that tests move time as they always did.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"

/**
 * The `Clock` of every fiber unless one is provided.
 *
 * @internal
 */
export const liveClock: Clock.Clock = Context.get(DefaultServices.liveServices, Clock.Clock)

/**
 * The host's `performance.now()` (milliseconds, with a fraction), where it has one.
 *
 * @internal
 */
export const hostNow: (() => number) | undefined = (() => {
  const performance = (globalThis as { performance?: { now?: unknown } }).performance
  return typeof performance?.now === "function"
    ? (performance.now.bind(performance) as () => number)
    : undefined
})()

/**
 * The time by `clock` in milliseconds, for measuring a duration: under the live `Clock` the host's
 * `performance.now()` (the live `Clock` reads `process.hrtime.bigint()`, a `bigint` a call and
 * `bigint` arithmetic after), by the clock's own reading under any other (the `TestClock`).
 *
 * @internal
 */
export const millisBy = (clock: Clock.Clock): number =>
  clock === liveClock && hostNow !== undefined ? hostNow() : Number(clock.unsafeCurrentTimeNanos()) / 1e6

/**
 * Whether a host timer can wait `millis`: `setTimeout` takes at most 2^31 - 1 ms (about 24.8 days) and
 * fires at once past it; longer (or infinite) bounds take Effect's own combinators, which handle them.
 *
 * @internal
 */
export const fitsTimer = (millis: number): boolean => Number.isFinite(millis) && millis <= 2_147_483_647

/** The host's timers, which the live `Clock` sleeps on (this package is typed without DOM or Node). */
const timers = globalThis as unknown as {
  setTimeout(task: () => void, millis: number): unknown
  clearTimeout(handle: unknown): void
  setImmediate?: (task: () => void) => unknown
  clearImmediate?: (handle: unknown) => void
}

/**
 * Lets the host's event loop run once, I/O included, before the fiber goes on: `setImmediate` where
 * the host has it (Node), else a `setTimeout` of 0. (Effect yields a busy fiber to the microtask
 * queue only.)
 *
 * @internal
 */
export const yieldToHost: Effect.Effect<void> = Effect.async<void>((resume) => {
  const { setImmediate, clearImmediate } = timers
  if (setImmediate !== undefined && clearImmediate !== undefined) {
    const handle = setImmediate(() => resume(Effect.void))
    return Effect.sync(() => clearImmediate(handle))
  }
  const handle = timers.setTimeout(() => resume(Effect.void), 0)
  return Effect.sync(() => timers.clearTimeout(handle))
})

/**
 * `self` bounded by `millis` of the host's timers: `None` when time runs out first. `self` runs in a
 * fiber of its own from `runtime`, interruptible.
 *
 * @internal
 */
export const onLiveClock = <A, E>(
  runtime: Runtime.Runtime<never>,
  self: Effect.Effect<A, E>,
  millis: number
): Effect.Effect<Option.Option<A>, E> =>
  Effect.async<Option.Option<A>, E>((resume) => {
    const fiber = Runtime.runFork(runtime)(Effect.interruptible(self))
    let done = false
    const timer = timers.setTimeout(() => {
      if (done) return
      done = true
      fiber.unsafeInterruptAsFork(FiberId.none)
      resume(Effect.succeed(Option.none()))
    }, millis)
    fiber.addObserver((exit) => {
      if (done) return
      done = true
      timers.clearTimeout(timer)
      resume(Exit.isSuccess(exit) ? Effect.succeed(Option.some(exit.value)) : Effect.failCause(exit.cause))
    })
    return Effect.sync(() => {
      done = true
      timers.clearTimeout(timer)
      fiber.unsafeInterruptAsFork(FiberId.none)
    })
  })

/**
 * `Effect.timeoutOption(self, duration)`, by {@link onLiveClock} when `clock` is the live one.
 *
 * @internal
 */
export const timeoutOption = <A, E>(
  runtime: Runtime.Runtime<never>,
  clock: Clock.Clock,
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  millis: number
): Effect.Effect<Option.Option<A>, E> =>
  clock === liveClock && fitsTimer(millis)
    ? onLiveClock(runtime, self, millis)
    : Effect.timeoutOption(self, duration)

/**
 * A running bounded effect, as {@link startBounded} gives it.
 *
 * @internal
 */
export interface Started {
  /** Interrupts the effect (in the background); its `onExit` is then not called. */
  readonly interrupt: () => void
}

/**
 * Starts `self` in a fiber of its own from `runtime`, bounded by `duration`, and calls `onExit` once,
 * with its exit or, when time runs out first, with the failure `onTimeout()` (the fiber is then
 * interrupted in the background). Under the live `Clock` one fiber and a `setTimeout`; under any
 * other, `Effect.timeoutFail` in that fiber. For the publisher's batches in flight: 54 KB allocated a
 * batch with `Effect.fork` and `Effect.timeoutFail`, 9 KB with this (bench machine).
 *
 * @internal
 */
export const startBounded = <A, E>(options: {
  readonly runtime: Runtime.Runtime<never>
  readonly clock: Clock.Clock
  readonly self: Effect.Effect<A, E>
  readonly duration: Duration.Duration
  readonly millis: number
  readonly onTimeout: () => E
  readonly onExit: (exit: Exit.Exit<A, E>) => void
}): Started => {
  const { runtime, self, onTimeout, onExit } = options
  if (options.clock !== liveClock || !fitsTimer(options.millis)) {
    const fiber = Runtime.runFork(runtime)(
      Effect.interruptible(Effect.timeoutFail(self, { duration: options.duration, onTimeout }))
    )
    let interrupted = false
    fiber.addObserver((exit) => {
      if (!interrupted) onExit(exit)
    })
    return {
      interrupt: () => {
        interrupted = true
        fiber.unsafeInterruptAsFork(FiberId.none)
      }
    }
  }
  const fiber = Runtime.runFork(runtime)(Effect.interruptible(self))
  let done = false
  const timer = timers.setTimeout(() => {
    if (done) return
    done = true
    fiber.unsafeInterruptAsFork(FiberId.none)
    onExit(Exit.fail(onTimeout()))
  }, options.millis)
  fiber.addObserver((exit) => {
    if (done) return
    done = true
    timers.clearTimeout(timer)
    onExit(exit)
  })
  return {
    interrupt: () => {
      done = true
      timers.clearTimeout(timer)
      fiber.unsafeInterruptAsFork(FiberId.none)
    }
  }
}

/**
 * Runs `task` once the current synchronous work and the microtasks queued before it are done (the
 * host's `queueMicrotask`, else a resolved promise's continuation).
 *
 * @internal
 */
export const afterStep: (task: () => void) => void = (() => {
  const queue = (globalThis as { queueMicrotask?: (task: () => void) => void }).queueMicrotask
  return queue !== undefined
    ? (task: () => void) => queue(task)
    : (task: () => void) => {
        void Promise.resolve().then(task)
      }
})()
