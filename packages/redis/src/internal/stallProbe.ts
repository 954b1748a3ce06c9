/**
 * The stall probe of the publisher's connection: it tells a connection that will not serve again
 * from a server that is only busy, and has the first made anew.
 *
 * A network that dropped bytes leaves a TCP connection open but out of step: the commands sent into
 * the void never get a reply, ioredis hands each later reply to an earlier command, and, as it
 * cannot tell, would go on with the connection until TCP gives up (minutes). A busy server (a burst
 * of commands queued behind each other on the connection) also leaves commands unanswered past their
 * bound. The probe tells them apart:
 *
 * - commands past their bound are counted; a reply to a command still within its bound ends the
 *   streak (a late reply does not: on an out-of-step connection every reply comes late, handed to
 *   an earlier command);
 * - after {@link unansweredBeforeProbe} in a row, or at a late reply after one, the connection is
 *   asked `PING <nonce>` itself. Its own nonce back: the connection is in step, only busy (the
 *   streak ends). Another reply: it is out of step, and is made anew. No reply within the bound
 *   (out of step, the PING's own reply is handed to a later command; or a queue longer than the
 *   bound): a connection of its own asks the server a `PING`; if the server answers, a second
 *   `PING` is sent on the connection and the first given one bound more (a hang that ended
 *   meanwhile leaves the connection in step: its own nonce comes back; out of step, the second's
 *   reply or nothing does), and the connection is made anew unless its own nonce came (the
 *   commands in flight on it fail, their outcome unknown); if the server does not answer, the
 *   server is slow or down (hung, `SIGSTOP`) and the connection is kept, its commands answered when
 *   it wakes (made anew then, the batches in flight would be written twice).
 *
 * Counts belong to the connection (its generation) their commands were sent on.
 *
 * @internal
 */

/** Commands unanswered in a row (see the module's comment) after which the server is probed. */
export const unansweredBeforeProbe = 3

/**
 * What a command records when it is sent: the generation of its connection.
 *
 * @internal
 */
export type Mark = number

/** What the probe needs of the connection. */
export interface Connection {
  /** `PING <nonce>` on the connection probed, bounded by the caller (`undefined`: not connected). */
  readonly ping: (nonce: string) => Promise<unknown> | undefined
  /** Whether the server answers on a connection of its own (bounded). */
  readonly serverAnswers: () => Promise<boolean>
  /** Closes the connection probed, so that a new one is made. */
  readonly remake: () => void
  /** The bound on the in-band `PING`, in milliseconds. */
  readonly pingMillis: number
}

/** @internal */
export class StallProbe {
  /** The connection's generation: made anew, the connection is a new generation. */
  private generation = 0
  private unansweredInARow = 0
  private probing = false
  private stopped = false
  private nonces = 0

  constructor(private readonly connection: Connection) {}

  /** The mark of a command sent now. */
  mark(): Mark {
    return this.generation
  }

  /**
   * A reply (a value or a server error) came for a command sent at `mark`: `inTime` when the command
   * was still within its bound.
   */
  replied(mark: Mark, inTime: boolean): void {
    const generation = mark
    if (generation !== this.generation) return
    if (inTime) this.unansweredInARow = 0
    // A late reply after a command went unanswered: a queue draining, or a connection out of step
    // handing each reply to an earlier command. The PING tells at once (every command sent on an
    // out-of-step connection is run, and a batch retried on it is written again each time).
    else if (this.unansweredInARow > 0) this.probe(generation)
  }

  /** The bound of a command sent at `mark` ran out before its reply. */
  unanswered(mark: Mark): void {
    const generation = mark
    if (generation !== this.generation) return
    this.unansweredInARow++
    if (this.unansweredInARow >= unansweredBeforeProbe) this.probe(generation)
  }

  /**
   * A reply that cannot be the command's own came (another command's): the connection is asked at
   * once, as after a streak of commands unanswered.
   */
  suspect(): void {
    this.probe(this.generation)
  }

  private probe(generation: number): void {
    if (this.probing || this.stopped) return
    this.probing = true
    void this.check(generation).then((outOfStep) => {
      this.probing = false
      if (outOfStep && !this.stopped && generation === this.generation) {
        this.generation++
        this.unansweredInARow = 0
        this.connection.remake()
      }
    })
  }

  /** Whether the connection of `generation` is out of step (see the module's comment). */
  private async check(generation: number): Promise<boolean> {
    const nonce = `maf-events-probe-${++this.nonces}`
    const sent = this.connection.ping(nonce)
    if (sent === undefined) return false
    const reply = await bounded(sent, this.connection.pingMillis)
    if (generation !== this.generation) return false
    if (reply.kind === "reply") {
      if (reply.value === nonce) {
        this.unansweredInARow = 0
        return false
      }
      // A refused PING (an ACL user without it) says nothing of the connection: the server decides.
      const refused = reply.value instanceof Error && /ping/i.test(reply.value.message)
      return refused ? this.connection.serverAnswers() : true
    }
    if (!(await this.connection.serverAnswers())) return false
    if (generation !== this.generation) return false
    // The server answers. A hang that ended meanwhile left the connection in step: the PING queued
    // behind it comes back with its own nonce. A second PING pushes a reply through: out of step,
    // the first is handed the second's (or nothing comes), and that is told at once.
    this.connection.ping(`maf-events-probe-${++this.nonces}`)?.catch(() => {})
    const late = await bounded(sent, this.connection.pingMillis)
    return generation === this.generation && !(late.kind === "reply" && late.value === nonce)
  }

  /** The backend is closing: a probe answering later must not open the connection again. */
  stop(): void {
    this.stopped = true
  }
}

/** A promise's value or failure (both replies), or nothing within `millis`. */
const bounded = (
  promise: Promise<unknown>,
  millis: number
): Promise<{ readonly kind: "reply"; readonly value: unknown } | { readonly kind: "none" }> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ kind: "none" }), millis)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve({ kind: "reply", value })
      },
      (error: unknown) => {
        clearTimeout(timer)
        resolve(
          error instanceof Error && error.name === "ReplyError"
            ? { kind: "reply", value: error }
            : { kind: "none" }
        )
      }
    )
  })
