/**
 * The demo's simulated multi-agent arena runs: arenas go through phases in which agents fetch
 * sources, call LLMs and emit signals; a decision and an action close the last phase; operators send
 * control commands now and then; errors happen occasionally, and a few entries of kinds the reader
 * does not know (`trade.fill`, `memory.write`) are published as a newer producer would.
 *
 * Randomness comes from Effect's `Random` (seed it for a repeatable run), pacing from its `Clock`.
 *
 * @since 0.1.0
 */
import { EventBus, type PublishResult } from "@maf/events"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"

/**
 * Options of a simulation.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The pause between two events (jittered ±50 %). Default 250 ms. */
  readonly interval?: Duration.DurationInput | undefined
  /** How many arena runs; default: until interrupted. */
  readonly runs?: number | undefined
}

interface Arena {
  readonly name: string
  readonly agents: ReadonlyArray<string>
  readonly sources: ReadonlyArray<string>
  readonly decisions: ReadonlyArray<string>
}

const arenas: ReadonlyArray<Arena> = [
  {
    name: "trading",
    agents: ["analyst", "risk", "trader"],
    sources: ["prices", "news", "filings"],
    decisions: ["buy", "hold", "sell"]
  },
  {
    name: "research",
    agents: ["scout", "reader", "critic"],
    sources: ["arxiv", "web", "notes"],
    decisions: ["publish", "revise", "drop"]
  },
  {
    name: "support",
    agents: ["triage", "responder"],
    sources: ["tickets", "kb"],
    decisions: ["answer", "escalate"]
  }
]

const phases = ["gather", "analyze", "decide"] as const
const models = ["gpt-4o-mini", "claude-haiku", "llama-3.1-70b"] as const
const symbols = ["AAPL", "NVDA", "MSFT", "TSLA"] as const

const pick = <A>(items: ReadonlyArray<A>): Effect.Effect<A> =>
  Effect.map(Random.nextIntBetween(0, items.length), (i) => items[i]!)
const chance = (p: number): Effect.Effect<boolean> => Effect.map(Random.next, (x) => x < p)
const between = (min: number, max: number): Effect.Effect<number> => Random.nextIntBetween(min, max + 1)
const round = (x: number, digits: number) => Number(x.toFixed(digits))

/**
 * Runs the simulation with the `EventBus` of the context; it succeeds with how many events were
 * written (after `runs` runs), or runs until interrupted.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (options: Options = {}): Effect.Effect<number, never, EventBus.EventBus> =>
  Effect.gen(function* () {
    const bus = yield* EventBus.EventBus
    const interval = Duration.toMillis(options.interval ?? Duration.millis(250))
    let written = 0
    let sequence = 0

    const pause = Effect.flatMap(Random.next, (x) => Effect.sleep(Duration.millis(interval * (0.5 + x))))
    const emit = (
      kind: string,
      envelope: {
        readonly arena: string
        readonly arenaId: string
        readonly phase: string
        readonly correlationId: string
      },
      payload: Record<string, unknown>
    ) =>
      Effect.zipRight(
        pause,
        Effect.map(bus.publish({ kind, ...envelope, payload }), (result: PublishResult.PublishResult) => {
          if (result._tag === "Written") written++
        })
      )

    const runOnce = Effect.gen(function* () {
      sequence++
      const arena = arenas[(sequence - 1) % arenas.length]!
      const runId = `${arena.name.slice(0, 3)}-${String(sequence).padStart(4, "0")}`
      const correlationId = (yield* Effect.all([
        Random.nextInt,
        Random.nextInt,
        Random.nextInt,
        Random.nextInt
      ]))
        .map((n) => (n >>> 0).toString(16).padStart(8, "0"))
        .join("")
      const at = (phase: string) => ({ arena: arena.name, arenaId: runId, phase, correlationId })
      const started = yield* Clock.currentTimeMillis
      let errors = 0

      yield* emit("arena.start", at(""), { run: sequence, agents: arena.agents, budget_usd: 2.5 })
      for (const [index, phase] of phases.entries()) {
        yield* emit("phase.start", at(phase), { index, agents: arena.agents.length })
        for (const agent of arena.agents) {
          yield* emit("agent.start", at(phase), { agent, task: `${phase} ${arena.name}` })
          const source = yield* pick(arena.sources)
          if (yield* chance(0.08)) {
            errors++
            yield* emit("source.error", at(phase), { agent, source, error: "timeout after 3000 ms" })
          } else {
            yield* emit("source.fetch", at(phase), { agent, source, items: yield* between(3, 40) })
          }
          const model = yield* pick(models)
          if (yield* chance(0.06)) {
            errors++
            yield* emit("llm.error", at(phase), {
              agent,
              model,
              error: "rate limited (429)",
              retry_in_ms: 1200
            })
          }
          const promptTokens = yield* between(300, 4000)
          yield* emit("llm.call", at(phase), {
            agent,
            model,
            prompt_tokens: promptTokens,
            completion_tokens: yield* between(40, 900),
            latency_ms: yield* between(180, 4200),
            cost_usd: round(promptTokens * 0.0000025, 5)
          })
          if (yield* chance(0.03)) {
            errors++
            yield* emit("agent.error", at(phase), {
              agent,
              error: "tool call failed: schema mismatch in output"
            })
            continue
          }
          yield* emit("agent.signal", at(phase), {
            agent,
            signal: yield* pick(arena.decisions),
            confidence: round(0.5 + (yield* Random.next) / 2, 2)
          })
          yield* emit("agent.complete", at(phase), { agent, duration_ms: yield* between(400, 9000) })
        }
        if (yield* chance(0.15)) {
          const command = yield* pick(["pause", "resume", "raise_budget"])
          yield* emit("control.command", at(phase), { command, by: "operator" })
          yield* emit("control.ack", at(phase), { command, ok: true })
        }
        if (phase === "decide") {
          const decision = yield* pick(arena.decisions)
          yield* emit("decision.emit", at(phase), {
            decision,
            confidence: round(0.55 + (yield* Random.next) * 0.4, 2),
            votes: Object.fromEntries(
              arena.agents.map((a, i) => [a, arena.decisions[(i + sequence) % arena.decisions.length]])
            )
          })
          if (arena.name !== "trading") {
            yield* emit("action.emit", at(phase), { action: decision, target: runId })
          } else if (decision === "hold") {
            yield* emit("action.emit", at(phase), { action: "none", reason: "hold" })
          } else {
            const symbol = yield* pick(symbols)
            const qty = yield* between(1, 50)
            yield* emit("action.emit", at(phase), { action: "place_order", symbol, side: decision, qty })
            // A kind this reader does not know, as a newer producer would write it.
            yield* emit("trade.fill", at(phase), {
              symbol,
              qty,
              price: round(100 + (yield* Random.next) * 400, 2)
            })
          }
        }
        if (phase === "analyze") {
          // Another kind the reader does not know.
          yield* emit("memory.write", at(phase), {
            key: `${runId}/${phase}`,
            bytes: yield* between(200, 9000)
          })
        }
        yield* emit("phase.complete", at(phase), { index, errors })
      }
      yield* emit("system.status", at(""), {
        queue_depth: yield* between(0, 12),
        workers: 4,
        uptime_s: Math.round(process.uptime())
      })
      yield* emit("arena.complete", at(""), {
        run: sequence,
        errors,
        duration_ms: (yield* Clock.currentTimeMillis) - started
      })
    })

    if (options.runs === undefined) return yield* Effect.forever(runOnce)
    for (let i = 0; i < options.runs; i++) yield* runOnce
    return written
  })
