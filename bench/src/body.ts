/**
 * The event every throughput case publishes and reads: an `agent.signal` whose encoded `data` is
 * exactly 400 bytes. The library fills `ts` and `correlation_id` itself (fixed-width fields), so its
 * bodies are as long as {@link rawBody}, the same JSON text that the plain-ioredis side sends.
 */
import { type Event, WireCodec } from "@maf/events"

export const bodyBytes = 400

const envelope = {
  kind: "agent.signal",
  arena: "trading",
  arenaId: "arena-2026-05-14-0001",
  phase: "analysis"
} as const

const payloadWith = (reasoning: string) => ({
  agent: "analyst-3",
  signal: "buy",
  confidence: 0.87,
  symbols: ["AAPL", "MSFT", "NVDA"],
  horizon_days: 5,
  reasoning
})

const encodeWith = (reasoning: string): string =>
  WireCodec.encode({
    ...envelope,
    ts: "2026-05-14T11:22:33.123456+00:00",
    correlationId: "6f1c2d0e9a8b4c7d8e9f0a1b2c3d4e5f",
    payload: payloadWith(reasoning)
  })

const filler = (() => {
  const unpadded = Buffer.byteLength(encodeWith(""))
  const text = "momentum and earnings revisions agree; volume confirms the breakout above resistance. "
  return text.repeat(10).slice(0, bodyBytes - unpadded)
})()

/** What the library is given: no `ts` and no `correlationId`, as a program publishes. */
export const input: Event.Input<"agent.signal"> = { ...envelope, payload: payloadWith(filler) }

/** The JSON text the raw side sends: the library's encoding of the same event. */
export const rawBody: string = encodeWith(filler)

if (Buffer.byteLength(rawBody) !== bodyBytes) {
  throw new Error(`the bench body is ${Buffer.byteLength(rawBody)} bytes, not ${bodyBytes}`)
}
