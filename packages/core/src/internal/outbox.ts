/**
 * The publisher's outbox: the one queue both publishing paths use, and the one owner of its counts.
 *
 * Items wait in publishing order: a fire-and-forget body (a string, or a {@link Traced} body when it
 * was published where spans are wanted) or an awaited publish's {@link Ticket}. The publisher takes them in batches and sends them; the outbox counts what is in
 * flight (items and batches), what `publishNowait` took and what of it is settled (written or given
 * up, for `flush`), and holds the writer's wake-up (a batch answered, closing). Its invariants:
 *
 * - `waiting` is the number of live items queued (tickets answered while queued do not count; their
 *   slots are skipped when taken);
 * - `inFlight` counts the items of the batches sent and not yet finished, `batchesInFlight` those
 *   batches (an awaited publish sent on its own counts as a batch of one);
 * - `settled <= taken`, both counting fire-and-forget events only; `flushUpTo(n)` returns once
 *   `settled >= n`.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import type * as Tracer from "effect/Tracer"
import type * as PublishResult from "../PublishResult.js"

/** A ticket's states: waiting in the queue, sent in a batch, answered. */
export const Waiting = 0
export const Sent = 1
export const Answered = 2

/**
 * An awaited publish in the outbox: its body, its deadline (by the publisher's clock, in
 * milliseconds), its caller's fiber and how that caller is answered (once: the first answer wins).
 *
 * @internal
 */
export class Ticket {
  state: typeof Waiting | typeof Sent | typeof Answered = Waiting
  constructor(
    readonly body: string,
    /** When its caller's bound runs out, by `Timeout.millisBy` (as `start`). */
    readonly deadline: number,
    /** When it was published, by `Timeout.millisBy` (for the latency). */
    readonly start: number,
    /** The caller's fiber (its metric labels; whether it was interrupted). */
    readonly fiber: Fiber.RuntimeFiber<unknown, unknown>,
    private readonly resume: (answer: Effect.Effect<PublishResult.PublishResult>) => void,
    /** The W3C trace context written beside the body (its caller's `send` span), if any. */
    readonly traceparent: string | undefined = undefined
  ) {}

  /** Answers the caller unless it was answered already; `false` then. */
  answer(answer: Effect.Effect<PublishResult.PublishResult>): boolean {
    if (this.state === Answered) return false
    this.state = Answered
    this.resume(answer)
    return true
  }

  /**
   * Its caller was interrupted: it takes no answer any more (Effect ignores a resumption after an
   * interruption), and a ticket still waiting is not to be sent.
   */
  get callerInterrupted(): boolean {
    return !Cause.isEmptyType(this.fiber.getFiberRef(FiberRef.interruptedCause))
  }
}

/**
 * A wake-up for one fiber: {@link signal} resumes the fiber waiting in {@link wait}, or the next
 * wait returns at once.
 *
 * @internal
 */
export class Signal {
  private waiter: (() => void) | undefined
  private signalled = false

  readonly signal = (): void => {
    const waiter = this.waiter
    if (waiter === undefined) {
      this.signalled = true
      return
    }
    this.waiter = undefined
    waiter()
  }

  readonly wait: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.signalled) {
      this.signalled = false
      return resume(Effect.void)
    }
    this.waiter = () => {
      this.signalled = false
      resume(Effect.void)
    }
    return Effect.sync(() => {
      this.waiter = undefined
    })
  })
}

/**
 * A fire-and-forget event published where spans are wanted: its body, the trace context written
 * beside it (the publishing fiber's span, unless propagation is off), that span (a link of its
 * batch's `send` span) and the tracer its batch's span is made with.
 *
 * @internal
 */
export class Traced {
  constructor(
    readonly body: string,
    readonly traceparent: string | undefined,
    readonly span: Tracer.AnySpan | undefined,
    readonly tracer: Tracer.Tracer
  ) {}
}

/** An item of the outbox. */
export type Item = string | Traced | Ticket

/** Whether an item is a fire-and-forget event (not a ticket). */
export const isNowait = (item: Item): item is string | Traced => !(item instanceof Ticket)

/** A fire-and-forget item's body. */
export const bodyOf = (item: string | Traced): string => (typeof item === "string" ? item : item.body)

/** @internal */
export class Outbox {
  private items: Array<Item | undefined> = []
  private head = 0
  /** Tickets answered while waiting: their slots stay until taken or compacted away. */
  private answeredWaiting = 0
  private flushWaiters: Array<{ readonly target: number; readonly done: Deferred.Deferred<void> }> = []

  /** Fire-and-forget events taken, and those written or given up. */
  taken = 0
  settled = 0
  /** Items in the batches sent and not yet finished, and those batches. */
  inFlight = 0
  batchesInFlight = 0
  /** The bus is draining (everything waiting goes, partial batches too); then closed (nothing taken). */
  closing = false
  closed = false

  constructor(
    /** Items waiting, plus those in flight beyond the first batch, that the outbox holds at most. */
    readonly capacity: number,
    readonly batchSize: number
  ) {}

  /** Live items queued. */
  get waiting(): number {
    return this.items.length - this.head - this.answeredWaiting
  }

  /** Nothing queued and nothing in flight: an awaited publish may go straight to the backend. */
  get idle(): boolean {
    return this.batchesInFlight === 0 && this.waiting === 0
  }

  /** Whether an item offered now would go past the capacity. */
  get full(): boolean {
    return this.waiting + Math.max(0, this.inFlight - this.batchSize) >= this.capacity
  }

  /** The writer's wake-up: a batch answered, closing. */
  readonly wake = new Signal()

  /** Queues an item. */
  push(item: Item): void {
    if (isNowait(item)) this.taken++
    this.items.push(item)
  }

  /** To call when a waiting ticket is answered (its deadline, its caller interrupted). */
  ticketAnsweredWhileWaiting(): void {
    this.answeredWaiting++
  }

  /**
   * Takes the oldest live item out of the queue (to make room under `dropOldest`); a body taken so
   * counts as settled (given up). The caller answers a ticket.
   */
  dropOldest(): Item | undefined {
    const [item] = this.take(1)
    if (item !== undefined && isNowait(item)) this.settle(1)
    return item
  }

  /**
   * Up to `max` live items, oldest first. Taken slots are emptied, and so is the array left behind
   * when the queue is compacted: an array promoted to the old generation would otherwise keep the
   * bodies it held alive.
   */
  take(max: number): Array<Item> {
    const out: Array<Item> = []
    const items = this.items
    let i = this.head
    while (i < items.length && out.length < max) {
      const item = items[i]!
      items[i++] = undefined
      if (item instanceof Ticket && item.state === Answered) this.answeredWaiting--
      else out.push(item)
    }
    this.head = i
    this.compact()
    return out
  }

  /** `n` fire-and-forget events written or given up. */
  settle(n: number): void {
    this.settled += n
    if (this.flushWaiters.length === 0) return
    const waiting: typeof this.flushWaiters = []
    for (const waiter of this.flushWaiters) {
      if (waiter.target <= this.settled) Deferred.unsafeDone(waiter.done, Effect.void)
      else waiting.push(waiter)
    }
    this.flushWaiters = waiting
  }

  /** Waits until the first `target` fire-and-forget events taken are written or given up. */
  flushUpTo(target: number): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.settled >= target) return Effect.void
      const done = Deferred.unsafeMake<void>(FiberId.none)
      this.flushWaiters.push({ target, done })
      // A waiter given up (its fiber interrupted) leaves the list.
      return Deferred.await(done).pipe(
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            this.flushWaiters = this.flushWaiters.filter((waiter) => waiter.done !== done)
          })
        )
      )
    })
  }

  /** Flush waiters still waiting (for tests of the accounting). */
  get flushWaiting(): number {
    return this.flushWaiters.length
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
      this.answeredWaiting = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      const old = this.items
      this.items = old.slice(this.head)
      old.length = 0
      this.head = 0
    }
  }
}
