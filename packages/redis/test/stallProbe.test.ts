/**
 * The stall probe's rule, by its cases (`internal/stallProbe`): which commands past their bound count,
 * what the in-band `PING` tells, and when the connection is made anew. The connection is a fake
 * here (the rule is pure bookkeeping); the real cases — a deep queue on a healthy server, a
 * connection out of step through `TcpProxy` — are in `RedisEventBus.test.ts` and below.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { RedisStreamBackend } from "@maf/events-redis"
import { RedisTestServer } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as StallProbe from "../src/internal/stallProbe.js"

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 5))

/** A probe over a fake connection: `ping` answers as told, `serverAnswers` as told; remakes counted. */
const probeWith = (options: {
  readonly ping: (nonce: string) => Promise<unknown>
  readonly serverAnswers?: boolean
}) => {
  const calls = { pings: 0, serverProbes: 0, remakes: 0 }
  const probe = new StallProbe.StallProbe({
    ping: (nonce) => {
      calls.pings++
      return options.ping(nonce)
    },
    serverAnswers: () => {
      calls.serverProbes++
      return Promise.resolve(options.serverAnswers ?? true)
    },
    remake: () => {
      calls.remakes++
    },
    pingMillis: 20
  })
  return { probe, calls }
}

const silent = () => new Promise<unknown>(() => {})

describe("StallProbe", () => {
  it("two commands past their bound do not probe; the third does", async () => {
    const { probe, calls } = probeWith({ ping: (nonce) => Promise.resolve(nonce) })
    probe.unanswered(probe.mark())
    probe.unanswered(probe.mark())
    await flush()
    expect(calls.pings).toBe(0)
    probe.unanswered(probe.mark())
    await flush()
    expect(calls.pings).toBe(1)
  })

  it("its own nonce back: in step, only busy: kept, and the streak starts again", async () => {
    const { probe, calls } = probeWith({ ping: (nonce) => Promise.resolve(nonce) })
    for (let i = 0; i < 3; i++) probe.unanswered(probe.mark())
    await flush()
    expect(calls.remakes).toBe(0)
    probe.unanswered(probe.mark())
    await flush()
    expect(calls.pings).toBe(1)
  })

  it("another reply to the PING: out of step: made anew, without asking the server", async () => {
    const { probe, calls } = probeWith({ ping: () => Promise.resolve("1700000000000-0") })
    for (let i = 0; i < 3; i++) probe.unanswered(probe.mark())
    await flush()
    expect(calls).toEqual({ pings: 1, serverProbes: 0, remakes: 1 })
  })

  it("a server error to the PING (out of step, handed another command's error) also means out of step", async () => {
    const error = Object.assign(new Error("WRONGTYPE Operation against a key"), { name: "ReplyError" })
    const { probe, calls } = probeWith({ ping: () => Promise.reject(error) })
    for (let i = 0; i < 3; i++) probe.unanswered(probe.mark())
    await flush()
    expect(calls.remakes).toBe(1)
  })

  it("a PING refused (an ACL user without it) says nothing: the server is asked", async () => {
    const error = Object.assign(new Error("NOPERM this user has no permissions to run the 'ping' command"), {
      name: "ReplyError"
    })
    const { probe, calls } = probeWith({ ping: () => Promise.reject(error), serverAnswers: false })
    for (let i = 0; i < 3; i++) probe.unanswered(probe.mark())
    await flush()
    expect(calls).toEqual({ pings: 1, serverProbes: 1, remakes: 0 })
  })

  it("no reply at all, the server answers on a connection of its own, and the PING still not: made anew", async () => {
    const { probe, calls } = probeWith({ ping: silent, serverAnswers: true })
    for (let i = 0; i < 3; i++) probe.unanswered(probe.mark())
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(calls).toEqual({ pings: 2, serverProbes: 1, remakes: 1 })
  })

  it("no reply in the bound, but its own nonce once the server answers (a hang that ended meanwhile): kept", async () => {
    const { probe, calls } = probeWith({
      ping: (nonce) => new Promise((resolve) => setTimeout(() => resolve(nonce), 30)),
      serverAnswers: true
    })
    for (let i = 0; i < 3; i++) probe.unanswered(probe.mark())
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(calls).toEqual({ pings: 2, serverProbes: 1, remakes: 0 })
  })

  it("no reply in the bound, then the second PING's reply (out of step): made anew", async () => {
    const { probe, calls } = probeWith({
      ping: () => new Promise((resolve) => setTimeout(() => resolve("the second PING's reply"), 30)),
      serverAnswers: true
    })
    for (let i = 0; i < 3; i++) probe.unanswered(probe.mark())
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(calls).toEqual({ pings: 2, serverProbes: 1, remakes: 1 })
  })

  it("no reply at all, and the server does not answer either (hung, stopped): kept", async () => {
    const { probe, calls } = probeWith({ ping: silent, serverAnswers: false })
    for (let i = 0; i < 3; i++) probe.unanswered(probe.mark())
    await new Promise((resolve) => setTimeout(resolve, 40))
    expect(calls).toEqual({ pings: 1, serverProbes: 1, remakes: 0 })
  })

  it("a reply in time ends the streak", async () => {
    const { probe, calls } = probeWith({ ping: (nonce) => Promise.resolve(nonce) })
    probe.unanswered(probe.mark())
    probe.unanswered(probe.mark())
    probe.replied(probe.mark(), true)
    probe.unanswered(probe.mark())
    probe.unanswered(probe.mark())
    await flush()
    expect(calls.pings).toBe(0)
  })

  it("a late reply after a command went unanswered has the connection asked at once (out of step: made anew)", async () => {
    const { probe, calls } = probeWith({ ping: () => Promise.resolve("another command's reply") })
    // A late reply with no command unanswered yet says nothing.
    probe.replied(probe.mark(), false)
    await flush()
    expect(calls.pings).toBe(0)
    const sent = probe.mark()
    probe.unanswered(probe.mark())
    probe.replied(sent, false)
    await flush()
    expect(calls).toEqual({ pings: 1, serverProbes: 0, remakes: 1 })
  })

  it("commands of a connection made anew since do not count, nor after the backend closed", async () => {
    const { probe, calls } = probeWith({ ping: () => Promise.resolve("not the nonce") })
    const old = probe.mark()
    for (let i = 0; i < 3; i++) probe.unanswered(probe.mark())
    await flush()
    expect(calls.remakes).toBe(1)
    for (let i = 0; i < 3; i++) probe.unanswered(old)
    await flush()
    expect(calls.remakes).toBe(1)
    probe.stop()
    for (let i = 0; i < 3; i++) probe.unanswered(probe.mark())
    await flush()
    expect(calls.remakes).toBe(1)
  })
})

layer(RedisTestServer.layer(), { excludeTestServices: true })("a deep queue on a healthy server", (it) => {
  it.scoped("commands that time out behind each other on their connection do not have it made anew", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestServer.RedisTestServer
      const clientName = "busy-connection"
      const backend = yield* RedisStreamBackend.make({ url: server.url, clientName })
      const stream = "test:busy"
      yield* Effect.orDie(backend.info(stream))
      const idOf = Effect.map(server.command("CLIENT", "LIST"), (list) => {
        const line = String(list)
          .split("\n")
          .find((l) => l.includes(`name=${clientName}`))
        return /id=(\d+)/.exec(line ?? "")?.[1]
      })
      const before = yield* idOf
      expect(before).toBeDefined()
      // 60 batches of 500 at once, each bounded by 20 ms: the server takes them one after the
      // other, so most answer past their bound — while the server answers those before them.
      const body = JSON.stringify({ kind: "agent.signal", payload: { filler: "x".repeat(360) } })
      const bodies = Array.from({ length: 500 }, () => body)
      const exits = yield* Effect.forEach(
        Array.from({ length: 60 }, (_, i) => i),
        () => Effect.either(backend.append(stream, bodies, { maxlen: 0, timeoutMillis: 20 })),
        { concurrency: "unbounded" }
      )
      const timedOut = exits.filter((e) => e._tag === "Left" && e.left.reason === "Timeout").length
      expect(timedOut).toBeGreaterThanOrEqual(3)
      // Every batch was written (the server ran them all), and the connection is the same one.
      yield* Effect.sleep("1500 millis")
      expect(Number(yield* server.command("XLEN", stream))).toBe(60 * 500)
      expect(yield* idOf).toBe(before)
      const after = yield* Effect.either(backend.append(stream, [body], { maxlen: 0, timeoutMillis: 1000 }))
      expect(after._tag).toBe("Right")
    })
  )
})
