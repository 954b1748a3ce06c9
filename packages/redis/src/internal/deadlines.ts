/**
 * Bounds on many commands kept with one host timer.
 *
 * A bounded command used to set a `setTimeout` of its own and clear it when answered. On the bench
 * machine that cost an awaited publish about 6 µs of its round trip (alternating runs of 5,000
 * publishes, medians of 11 rounds: 101.6 and 103.4 µs with a timer a command, 95.3 and 97.1 without;
 * plain ioredis 87.7 and 89.8). Here a deadline is an entry in a queue of its bound's length (the
 * deadlines of one length come in the order they were set), and one timer waits for the earliest
 * one still pending. An answered command only marks its entry; answered entries leave their queue
 * when a deadline is set behind them or when the timer fires. The timer is armed again only when it
 * fires or when a deadline earlier than the one it waits for is set, so a steady run of commands
 * sets about one timer a bound's length, not one a command.
 *
 * The timer is `unref`'d: it never keeps a process alive by itself. A command waiting for its answer
 * has a connection open, which does, and a wait for a connection has ioredis' attempt (its socket,
 * or its timer before the next attempt).
 *
 * What it costs: an answered entry stays in its queue while an older one of the same length waits
 * (at most a bound's worth of small objects, behind a command that will time out), and each bound
 * length has a queue of its own until its last entry is gone (an awaited publish waiting behind
 * fire-and-forget events is bounded by what is left of its time, a length of its own).
 *
 * @internal
 */

/** One deadline; see {@link Deadlines.set}. */
export interface Deadline {
  /** When it expires, in `performance.now()` milliseconds. */
  readonly at: number
  /** Called when it expires; `undefined` once it has expired or been cleared. */
  expire: (() => void) | undefined
}

/** A queue of the deadlines of one length, oldest at `head`. */
interface Queue {
  items: Array<Deadline | undefined>
  head: number
}

/** Deadlines kept with one host timer. */
export interface Deadlines {
  /** Calls `expire` once `millis` have passed, unless {@link clear} comes first. */
  readonly set: (millis: number, expire: () => void) => Deadline
  /** Clears a deadline: `true` if it had not expired yet (and now never will). */
  readonly clear: (deadline: Deadline) => boolean
}

/** What a deadlines keeper uses of its host. */
export interface Host {
  readonly now: () => number
  readonly setTimeout: (task: () => void, millis: number) => unknown
  readonly clearTimeout: (handle: unknown) => void
  /** Throws an expiry's error on its own, once the other expiries are done. */
  readonly rethrow: (error: unknown) => void
}

/** Node's clock and timers; an expiry's error is thrown from a microtask of its own. */
export const nodeHost: Host = {
  now: () => performance.now(),
  setTimeout: (task, millis) => setTimeout(task, millis).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  rethrow: (error) =>
    queueMicrotask(() => {
      throw error
    })
}

/** A deadlines keeper on `host` (tests give their own). */
export const make = (host: Host = nodeHost): Deadlines => {
  const queues = new Map<number, Queue>()
  let timer: unknown
  let armedAt = Number.POSITIVE_INFINITY

  /** Drops the entries that no longer wait from the head of `queue`. */
  const dropCleared = (queue: Queue): void => {
    const { items } = queue
    while (queue.head < items.length && items[queue.head]!.expire === undefined)
      items[queue.head++] = undefined
    if (queue.head === items.length) {
      items.length = 0
      queue.head = 0
    } else if (queue.head > 1024 && queue.head * 2 > items.length) {
      queue.items = items.slice(queue.head)
      queue.head = 0
    }
  }

  const arm = (at: number, now: number): void => {
    if (timer !== undefined) host.clearTimeout(timer)
    armedAt = at
    // A host timer counts whole milliseconds and may fire a fraction early: it is rounded up, and
    // `fire` sets it again for what is left.
    timer = host.setTimeout(fire, Math.max(1, Math.ceil(at - now)))
  }

  const fire = (): void => {
    timer = undefined
    armedAt = Number.POSITIVE_INFINITY
    const now = host.now()
    let next = Number.POSITIVE_INFINITY
    let thrown: { readonly error: unknown } | undefined
    for (const [millis, queue] of queues) {
      for (;;) {
        dropCleared(queue)
        const first = queue.items[queue.head]
        if (first === undefined) break
        if (first.at > now) {
          if (first.at < next) next = first.at
          break
        }
        const expire = first.expire!
        first.expire = undefined
        // One expiry that throws must not leave the others waiting: the pass goes on, and the
        // error is thrown afterwards, on its own.
        try {
          expire()
        } catch (error) {
          thrown ??= { error }
        }
      }
      if (queue.items.length === 0) queues.delete(millis)
    }
    // An expiry may have set a deadline (and armed the timer for it): the earliest one counts.
    if (next < armedAt) arm(next, host.now())
    if (thrown !== undefined) host.rethrow(thrown.error)
  }

  const set = (millis: number, expire: () => void): Deadline => {
    const now = host.now()
    const deadline: Deadline = { at: now + millis, expire }
    let queue = queues.get(millis)
    if (queue === undefined) {
      queue = { items: [], head: 0 }
      queues.set(millis, queue)
    } else {
      dropCleared(queue)
    }
    queue.items.push(deadline)
    if (deadline.at < armedAt) arm(deadline.at, now)
    return deadline
  }

  const clear = (deadline: Deadline): boolean => {
    if (deadline.expire === undefined) return false
    deadline.expire = undefined
    return true
  }

  return { set, clear }
}
