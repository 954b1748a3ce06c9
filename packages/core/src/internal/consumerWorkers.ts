/**
 * What a member holds and the workers that settle it: the held entries (at most `concurrency`),
 * those read and not yet started, in the order read, and `concurrency` long-lived worker fibers,
 * each settling one entry at a time; an entry settled at once (its handler's effect complete when
 * returned) is let go in the worker's own step, and the worker goes on to the next. The member loop
 * waits here until it can read again (every entry read has started and something is free, or half
 * the room is free: the next read on its way while a batch is handled), and the shutdown until
 * nothing is held.
 *
 * A fiber an entry (`forkIn` and `ensuring`) cost 12 to 32 µs of CPU an entry; a worker that goes on
 * to the next entry, well under one (`bench/probes/fiber-per-entry.mjs`, docs/benchmarks.md).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import type { GroupEntry } from "../GroupBackend.js"

/** One entry the member holds: the worker settling it, and what happened to it meanwhile. */
export interface Held {
  readonly entry: GroupEntry
  /** The worker settling it, from when one takes it until it is let go. */
  fiber: Fiber.RuntimeFiber<void, never> | undefined
  /** Waiting for a retry: its delay, then its redelivery (interrupted at once at shutdown, not drained). */
  waiting: boolean
  /** Another member took it: its outcome is dropped. */
  lost: boolean
  /** Deleted from the stream while held (seen by a renewal): a failure cannot be retried, it is a gap. */
  removed: boolean
}

/** How many entries settled at once a worker runs in one step before it yields. */
const atOnce = 128

interface Waiter {
  readonly until: () => boolean
  readonly resume: () => void
}

/** The held entries and their workers; `settle` handles one entry to its end. */
export class Workers<R> {
  /** What the member holds, by id. */
  readonly held = new Map<string, Held>()
  /** Set at shutdown: a worker that stops is no longer replaced, and failures are not retried. */
  closing = false
  /** The scope of the workers, closed at the end of the shutdown's drain. */
  readonly scope: Scope.CloseableScope

  // What the loop and the shutdown's drain wait for, checked whenever an entry is let go or the
  // last one read is taken by a worker. The loop is resumed only once it can read: resumed at
  // every entry let go, it turned once an entry for nothing (a Redis member spent 5 % on it).
  private waiters: Array<Waiter> = []
  private readonly ready: Array<Held | undefined> = []
  private readyHead = 0
  private readonly idle: Array<() => void> = []

  private constructor(
    private readonly concurrency: number,
    private readonly settle: (state: Held) => Effect.Effect<void, never, R> | undefined,
    scope: Scope.CloseableScope
  ) {
    this.scope = scope
  }

  /** The workers of a member, their scope made (not yet started: {@link start}). */
  static make = <R>(
    concurrency: number,
    settle: (state: Held) => Effect.Effect<void, never, R> | undefined
  ): Effect.Effect<Workers<R>> => Effect.map(Scope.make(), (scope) => new Workers(concurrency, settle, scope))

  /** Forks the `concurrency` workers in their scope. */
  get start(): Effect.Effect<void, never, R> {
    return Effect.suspend(() => {
      const forks: Array<Effect.Effect<unknown, never, R>> = []
      for (let i = 0; i < this.concurrency; i++) forks.push(Effect.forkIn(this.worker, this.scope))
      return Effect.all(forks, { discard: true })
    })
  }

  /**
   * Holds entries just read or claimed, to be started by the workers in this order. An entry this
   * member already holds (its own claim scan took it back after its lease lapsed, a renewal having
   * failed) is not held twice: its handling goes on as it is, never beside a second one.
   */
  hold(entries: ReadonlyArray<GroupEntry>): void {
    for (const entry of entries) {
      if (this.holds(entry.id)) continue
      const state: Held = { entry, fiber: undefined, waiting: false, lost: false, removed: false }
      this.held.set(entry.id, state)
      this.ready.push(state)
    }
    if (this.readyHead < this.ready.length) this.wakeWorker()
  }

  /**
   * Whether the loop may read: something is free and every entry read has started, or half the
   * room is free (the next read on its way while the rest of a batch is handled).
   */
  readonly canRead = (): boolean =>
    this.held.size < this.concurrency &&
    (this.readyHead === this.ready.length || 2 * this.held.size <= this.concurrency)

  /** Whether the member holds `id` (and has not lost it to another member). */
  holds(id: string): boolean {
    const holding = this.held.get(id)
    return holding !== undefined && !holding.lost
  }

  /** How many more entries the member may hold. */
  get free(): number {
    return this.concurrency - this.held.size
  }

  /** Waits until `condition` holds (checked when an entry is let go or all read have started). */
  until(condition: () => boolean): Effect.Effect<void> {
    return Effect.suspend(() =>
      condition()
        ? Effect.void
        : Effect.async<void>((resume) => {
            const waiter: Waiter = { until: condition, resume: () => resume(Effect.void) }
            this.waiters.push(waiter)
            return Effect.sync(() => {
              this.waiters = this.waiters.filter((w) => w !== waiter)
            })
          })
    )
  }

  /** Lets an entry go: no longer held (acknowledged, dead-lettered, retried away or lost). */
  release(state: Held): void {
    state.fiber = undefined
    if (this.held.get(state.entry.id) !== state) return
    this.held.delete(state.entry.id)
    this.wake()
  }

  private wake(): void {
    if (this.waiters.length === 0 || !this.waiters.some((w) => w.until())) return
    const due = this.waiters.filter((w) => w.until())
    this.waiters = this.waiters.filter((w) => !due.includes(w))
    for (const w of due) w.resume()
  }

  private readonly wakeWorker = (): void => this.idle.pop()?.()

  private readonly idleWait = Effect.async<void>((resume) => {
    const waiter = () => resume(Effect.void)
    this.idle.push(waiter)
    return Effect.sync(() => {
      const at = this.idle.indexOf(waiter)
      if (at >= 0) this.idle.splice(at, 1)
    })
  })

  /** The next entry to start, in the order read (one lost meanwhile is let go). */
  private take(): Held | undefined {
    while (this.readyHead < this.ready.length) {
      const state = this.ready[this.readyHead]!
      this.ready[this.readyHead++] = undefined
      if (this.readyHead === this.ready.length) {
        this.ready.length = 0
        this.readyHead = 0
        // All that was read has started: the loop may read again.
        this.wake()
      }
      if (!state.lost) return state
      this.release(state)
    }
    return undefined
  }

  private readonly worker: Effect.Effect<void, never, R> = Effect.withFiberRuntime<void, never, R>(
    (fiber) => {
      let current: Held | undefined
      let checking = false
      // A peer is woken only once this worker's handler lets go of the thread (a microtask finds
      // it still holding an entry), so that handlers done at once run back to back in one fiber
      // and slow ones still get all the concurrency: 31,000 to 45,000 events/s on Redis against
      // 15,000 to 27,000 when a peer was woken at every entry taken (docs/benchmarks.md).
      const check = () => {
        checking = false
        if (current !== undefined && this.readyHead < this.ready.length) this.wakeWorker()
      }
      const settled = Effect.sync(() => {
        if (current !== undefined) this.release(current)
        current = undefined
      })
      // Entries settled at once (`settle` answers `undefined`) are let go and the next taken in the
      // same step, up to `atOnce` of them; then the worker yields, for the loop to read the next
      // batch while this one is handled.
      const next = Effect.suspend(() => {
        for (let ran = 0; ran < atOnce; ran++) {
          const state = this.take()
          if (state === undefined) return this.idleWait
          current = state
          state.fiber = fiber as Fiber.RuntimeFiber<void, never>
          if (!checking && this.readyHead < this.ready.length) {
            checking = true
            Promise.resolve().then(check)
          }
          const rest = this.settle(state)
          if (rest !== undefined) return Effect.zipRight(rest, settled)
          this.release(state)
          current = undefined
        }
        return Effect.yieldNow()
      })
      // Not `Effect.forever`, which yields to the scheduler at every entry (a task, 0.5 KB an entry:
      // 5 to 10 % of the events/s in alternating probe runs); the runtime still yields every 2,048 steps.
      const loop: Effect.Effect<never, never, R> = Effect.flatMap(next, () => loop)
      // Interrupted (its entry lost, a retry's wait at shutdown, the end): the entry it held is let
      // go, a peer is woken for what waits, and another worker takes its place unless the member
      // is closing.
      return Effect.onExit(loop, () =>
        Effect.suspend(() => {
          if (current !== undefined) this.release(current)
          current = undefined
          if (this.readyHead < this.ready.length) this.wakeWorker()
          // Forked interruptible: a fiber forked here would inherit the finalizer's uninterruptibility.
          return this.closing
            ? Effect.void
            : Effect.asVoid(Effect.forkIn(Effect.interruptible(this.worker), this.scope))
        })
      )
    }
  )
}
