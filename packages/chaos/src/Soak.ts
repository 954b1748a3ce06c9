/**
 * The soak: a steady, mixed load on a topology of the test kit while a seeded injector picks faults,
 * every step recorded into a `History` for the checker. The load: 4 publishers (2 awaited, 2
 * fire-and-forget, each event numbered per publisher), 2 live-tail readers (`$`), 1 replay reader
 * from `"0"`, and a consumer group of 3 members whose handler records what it handled and sometimes
 * fails (seeded: some entries always, so they are dead-lettered).
 *
 * `sabotage` swaps one component for a broken one, for the checker's own tests.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { EventBus, EventConsumer, EventReader, PublishMetrics } from "@maf/events"
import { RedisEventBus, RedisEventConsumer, RedisEventReader } from "@maf/events-redis"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Deployment from "./Deployment.js"
import {
  type AwaitedPublish,
  clientName,
  type Delivery,
  type Entry,
  type Fault,
  type FaultKind,
  type Handling,
  type History,
  type NowaitPublish,
  type ReaderRun,
  type Topology
} from "./History.js"
import * as Rng from "./Rng.js"
import * as StreamId from "./StreamId.js"

/** A component broken on purpose: the checker must catch it. */
export type Sabotage =
  /** The live reader `live-1` leaves out one event (the 20th it is given). */
  | "readerSkipsOne"
  /** Member `m1` acknowledges each entry before handling it (a failed handling is then lost). */
  | "memberAcksFirst"
  /** Publisher `a1` answers `Written` for its 20th event without publishing it. */
  | "publisherLies"

/** What a soak runs. */
export interface Options {
  readonly topology: Topology
  readonly seconds: number
  readonly seed: number
  /** The faults to pick from; default every fault the topology offers. */
  readonly faults?: ReadonlyArray<FaultKind> | undefined
  readonly sabotage?: Sabotage | undefined
  /** Where progress lines go; default nowhere. */
  readonly log?: ((line: string) => void) | undefined
  /** The RSS bound, in MB; default 1024. */
  readonly rssBoundMb?: number | undefined
}

/** The faults every topology offers, beside its own server faults. */
const genericFaults: ReadonlyArray<FaultKind> = ["clientKill", "trim", "memberKill"]

const publishTimeout = Duration.seconds(2)
/** Entries that fail on every delivery (dead-lettered after `maxDeliveries`), and one delivery in 20. */
const poisonRate = 0.01
const failureRate = 0.05
const maxDeliveries = 3
const members = ["m1", "m2", "m3"] as const
/** What every soak client's connection name starts with. */
const prefix = clientName("")

let runs = 0

const tagOf = (payload: unknown): string => {
  const p = payload as { src?: string; n?: number } | undefined
  return `${p?.src}:${p?.n}`
}

const entriesOf = (reply: unknown): Array<Entry> =>
  ((reply ?? []) as ReadonlyArray<[string, ReadonlyArray<string>]>).map(([id, fields]) => {
    const data = fields[fields.indexOf("data") + 1]
    let tag = "?"
    try {
      tag = tagOf((JSON.parse(data ?? "{}") as { payload?: unknown }).payload)
    } catch {
      // not an event of the soak
    }
    return { id, tag }
  })

/** The name of a client connection in a `CLIENT LIST` line. */
const nameOf = (line: string) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? ""
const idOf = (line: string) => /(?:^| )id=(\d+)/.exec(line)?.[1] ?? ""

/** Runs a soak and returns its history. */
export const run = (options: Options): Effect.Effect<History, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const log = options.log ?? (() => {})
      const rng = Rng.make(options.seed)
      const deployment = yield* Deployment.start(options.topology)
      const stream = `{chaos:${process.pid}:${++runs}}:events`
      const deadStream = `${stream}:dead`
      const command = (...args: ReadonlyArray<string | number>) => deployment.command(stream, ...args)
      const connection = (name: string) => ({ ...deployment.connection, clientName: clientName(name) })
      const waitsForReplicas = deployment.connection.waitForReplicas !== undefined
      log(`${options.topology} started at ${new Date().toISOString()}; stream ${stream}`)

      // ---- the bus ---------------------------------------------------------------------------------
      const dropped = Metric.tagged(PublishMetrics.dropped, "stream", stream)
      const droppedBefore = (yield* Metric.value(dropped)).count
      // In a scope of its own: closed (drained) before its drop count is read.
      const busScope = yield* Scope.make()
      const bus = Context.get(
        yield* Layer.buildWithScope(
          RedisEventBus.layer({
            ...connection("bus"),
            stream,
            publishTimeout,
            bufferCapacity: 2_000,
            // No MAXLEN: every entry that leaves the stream must be explained by a fault (a long run
            // passes the default 100,000, and its own trimming would hide losses).
            maxlen: 0,
            drainTimeout: Duration.seconds(20)
          }),
          busScope
        ),
        EventBus.EventBus
      )
      yield* Effect.addFinalizer(() => Scope.close(busScope, Exit.void))

      // ---- readers ---------------------------------------------------------------------------------
      const readers: Array<{ name: string; from: "$" | "0"; deliveries: Array<Delivery> }> = [
        { name: "live-1", from: "$", deliveries: [] },
        { name: "live-2", from: "$", deliveries: [] },
        { name: "replay", from: "0", deliveries: [] }
      ]
      const readerFibers = yield* Effect.forEach(readers, (reader) => {
        let given = 0
        return EventReader.stream({
          stream,
          from: reader.from,
          block: Duration.seconds(1),
          watchdogGrace: Duration.seconds(1)
        }).pipe(
          Stream.runForEach((result) =>
            Effect.sync(() => {
              const at = Date.now()
              if (result._tag === "Gap") {
                reader.deliveries.push({
                  _tag: "Gap",
                  streamId: result.streamId,
                  after: result.after,
                  lost: result.lost,
                  at
                })
              } else if (result._tag === "KnownEvent") {
                given++
                if (options.sabotage === "readerSkipsOne" && reader.name === "live-1" && given === 20) return
                reader.deliveries.push({
                  _tag: "Event",
                  id: result.streamId,
                  tag: tagOf(result.event.payload),
                  at
                })
              }
            })
          ),
          Effect.provide(RedisEventReader.layer({ ...connection(reader.name), stream })),
          Effect.orDie,
          Effect.forkScoped
        )
      })

      // ---- the group -------------------------------------------------------------------------------
      const handled: Array<Handling> = []
      const groupGaps: Array<{ member: string; ids: ReadonlyArray<string> }> = []
      /** Members that ended by themselves, and why. */
      const memberEnds: Array<{ member: string; cause: string }> = []
      /** The seeded handling: poison entries always fail, others fail one delivery in 20. */
      const handle = (member: string, id: string, tag: string, deliveryCount: number) =>
        Effect.suspend(() => {
          const fails =
            Rng.hash(options.seed, tag) < poisonRate ||
            Rng.hash(options.seed, `${tag}#${deliveryCount}`) < failureRate
          handled.push({ member, id, tag, at: Date.now(), deliveryCount, outcome: fails ? "fail" : "ack" })
          return fails ? Effect.fail(`handling ${tag} failed (seeded)`) : Effect.void
        })
      const memberOptions = (member: string) => ({
        stream,
        group: "chaos",
        consumer: member,
        from: "0",
        block: Duration.seconds(1),
        minIdle: Duration.seconds(2),
        maxDeliveries,
        // Entries waiting for their retry hold a handler's place: with one, the group falls behind.
        concurrency: 4
      })
      const memberLayer = (member: string) => RedisEventConsumer.layer({ ...connection(member), stream })
      const runMember = (member: string): Effect.Effect<void> =>
        options.sabotage === "memberAcksFirst" && member === "m1"
          ? EventConsumer.stream(memberOptions(member)).pipe(
              Stream.runForEach((message) => {
                if (message._tag === "Gap")
                  return Effect.sync(() => groupGaps.push({ member, ids: message.ids }))
                const tag = message._tag === "KnownEvent" ? tagOf(message.event.payload) : "?"
                // Broken: the ack first, then the handling, whose failure is then forgotten.
                return message.ack.pipe(
                  Effect.zipRight(Effect.ignore(handle(member, message.streamId, tag, message.deliveryCount)))
                )
              }),
              Effect.provide(memberLayer(member)),
              Effect.orDie
            )
          : EventConsumer.consume({
              ...memberOptions(member),
              handler: (message) =>
                message._tag === "Gap"
                  ? Effect.sync(() => {
                      groupGaps.push({ member, ids: message.ids })
                    })
                  : handle(
                      member,
                      message.streamId,
                      message._tag === "KnownEvent" ? tagOf(message.event.payload) : "?",
                      message.deliveryCount
                    )
            }).pipe(Effect.provide(memberLayer(member)), Effect.orDie)
      // A member that ends by itself (not interrupted by a fault or the end) stopped consuming: said.
      const watchedMember = (member: string): Effect.Effect<void> =>
        runMember(member).pipe(
          Effect.onExit((exit) =>
            Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)
              ? Effect.sync(() => {
                  memberEnds.push({ member, cause: Cause.pretty(exit.cause).split("\n")[0]! })
                  log(`member ${member} ended: ${Cause.pretty(exit.cause)}`)
                })
              : Effect.void
          )
        )
      const scope = yield* Effect.scope
      const memberFibers = new Map<string, Fiber.RuntimeFiber<void>>()
      for (const member of members)
        memberFibers.set(member, yield* Effect.forkIn(watchedMember(member), scope))

      // Ready: the group exists and every reader and member has its connection.
      yield* awaitCondition(Duration.seconds(30), () =>
        Effect.gen(function* () {
          const groups = yield* Effect.either(command("XINFO", "GROUPS", stream))
          const current = (yield* deployment.clients).map((c) => nameOf(c.line))
          const wanted = [...readers.map((r) => r.name), ...members].map(clientName)
          return (
            groups._tag === "Right" &&
            (groups.right as ReadonlyArray<unknown>).length > 0 &&
            wanted.every((n) => current.includes(n))
          )
        })
      )
      // Publishing starts once every reader is connected: the live readers' `$` is the empty stream's end.
      const startAfter = "0-0"

      // ---- publishers ------------------------------------------------------------------------------
      let publishing = true
      const awaited: Array<AwaitedPublish> = []
      const nowait: Array<NowaitPublish> = []
      const awaitedLoop = (publisher: string) =>
        Effect.gen(function* () {
          let lastId = "0-1"
          for (let n = 0; publishing; n++) {
            const tag = `${publisher}:${n}`
            const at = Date.now()
            const started = performance.now()
            if (options.sabotage === "publisherLies" && publisher === "a1" && n === 20) {
              // Broken: the event is dropped, and Written is answered all the same.
              awaited.push({ tag, at, millis: 0, result: { _tag: "Written", id: lastId } })
              continue
            }
            const result = yield* bus.publish({ kind: "agent.signal", payload: { src: publisher, n } })
            const millis = performance.now() - started
            if (result._tag === "Written") lastId = result.id
            awaited.push({
              tag,
              at,
              millis,
              result:
                result._tag === "Written"
                  ? { _tag: "Written", id: result.id, replicas: result.replicas }
                  : { _tag: "NotWritten", reason: result.reason }
            })
            yield* Effect.sleep(Duration.millis(10))
          }
        })
      const nowaitLoop = (publisher: string) =>
        Effect.gen(function* () {
          for (let n = 0; publishing; n++) {
            const at = Date.now()
            const accepted = yield* bus.publishNowait({
              kind: "agent.signal",
              payload: { src: publisher, n }
            })
            nowait.push({ tag: `${publisher}:${n}`, at, accepted })
            yield* Effect.sleep(Duration.millis(4))
          }
        })
      const publishers = yield* Effect.forEach(
        [awaitedLoop("a1"), awaitedLoop("a2"), nowaitLoop("f1"), nowaitLoop("f2")],
        (loop) => Effect.forkScoped(loop)
      )

      // ---- resources -------------------------------------------------------------------------------
      let rssMaxMb = 0
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.zipRight(
            Effect.sync(() => {
              rssMaxMb = Math.max(rssMaxMb, process.memoryUsage().rss / 2 ** 20)
            }),
            Effect.sleep(Duration.millis(500))
          )
        )
      )
      /** The soak's own connections: by client name and server. */
      const ownConnections = Effect.map(deployment.clients, (clients) => {
        const counts = new Map<string, { name: string; port: number; count: number }>()
        for (const c of clients) {
          const name = nameOf(c.line)
          if (!name.startsWith(prefix)) continue
          const key = `${name}@${c.port}`
          const entry = counts.get(key) ?? { name, port: c.port, count: 0 }
          entry.count++
          counts.set(key, entry)
        }
        return [...counts.values()]
      })
      const total = (list: ReadonlyArray<{ count: number }>) => list.reduce((n, c) => n + c.count, 0)

      // ---- faults ----------------------------------------------------------------------------------
      const startedAt = Date.now()
      const endAt = startedAt + options.seconds * 1_000
      const faultsEndAt = startedAt + options.seconds * 800
      yield* Effect.sleep(Duration.seconds(Math.min(2, options.seconds / 5)))
      const baseline = yield* ownConnections
      const baselinePerServer: Record<string, number> = {}
      for (const c of baseline) baselinePerServer[c.name] = Math.max(baselinePerServer[c.name] ?? 0, c.count)
      const offered = [...Object.keys(deployment.faults), ...genericFaults] as Array<FaultKind>
      const allowed = offered.filter((kind) => options.faults === undefined || options.faults.includes(kind))
      const faults: Array<Fault> = []
      const generic: Record<string, () => Effect.Effect<Deployment.FaultEffect, unknown>> = {
        clientKill: () =>
          Effect.gen(function* () {
            const ours = (yield* deployment.clients).filter((c) => nameOf(c.line).startsWith(prefix))
            const victims = Array.from({ length: Math.min(ours.length, rng.int(1, 3)) }, () => rng.pick(ours))
            for (const victim of new Set(victims))
              yield* Effect.ignore(deployment.killClient(victim.port, idOf(victim.line)))
            const touched = [...new Set(victims.map((v) => nameOf(v.line)))]
            return {
              detail: `CLIENT KILL of ${touched.join(", ")}`,
              losesData: false,
              failsOver: false,
              touched
            }
          }),
        trim: () =>
          Effect.gen(function* () {
            const length = Number(yield* command("XLEN", stream))
            const keep = Math.floor(length * rng.next() * 0.8)
            yield* command("XTRIM", stream, "MAXLEN", keep)
            const first = entriesOf(yield* command("XRANGE", stream, "-", "+", "COUNT", 1))[0]
            const last = entriesOf(yield* command("XREVRANGE", stream, "+", "-", "COUNT", 1))[0]
            const trimmedBelow =
              first?.id ?? (last === undefined ? "0-0" : `${StreamId.millisOf(last.id) + 1}-0`)
            return {
              detail: `XTRIM MAXLEN ${keep} of ${length}`,
              losesData: false,
              failsOver: false,
              trimmedBelow
            }
          }),
        memberKill: () =>
          Effect.gen(function* () {
            const member = rng.pick(members)
            const fiber = memberFibers.get(member)!
            const down = rng.int(300, 2_000)
            yield* Fiber.interrupt(fiber)
            for (const c of yield* deployment.clients)
              if (nameOf(c.line) === clientName(member))
                yield* Effect.ignore(deployment.killClient(c.port, idOf(c.line)))
            yield* Effect.sleep(Duration.millis(down))
            memberFibers.set(member, yield* Effect.forkIn(watchedMember(member), scope))
            return {
              detail: `member ${member} killed, started again after ${down} ms`,
              losesData: false,
              failsOver: false,
              touched: [clientName(member)]
            }
          })
      }
      while (allowed.length > 0 && Date.now() < faultsEndAt) {
        yield* Effect.sleep(Duration.millis(rng.int(800, 2_500)))
        if (Date.now() >= faultsEndAt) break
        const kind = rng.pick(allowed)
        const inject =
          generic[kind] ??
          ((() => deployment.faults[kind]!(rng, stream)) as () => Effect.Effect<
            Deployment.FaultEffect,
            unknown
          >)
        const at = Date.now()
        const outcome = yield* Effect.either(inject())
        const end = Date.now()
        const fault: Fault =
          outcome._tag === "Right"
            ? { kind, at, end, ...outcome.right }
            : { kind, at, end, detail: kind, losesData: false, failsOver: false, error: String(outcome.left) }
        faults.push(fault)
        log(
          `${((at - startedAt) / 1000).toFixed(1)}s ${kind}: ${fault.detail}${fault.error === undefined ? "" : ` FAILED: ${fault.error}`}`
        )
      }

      // ---- the end: quiet, stop publishing, catch up -------------------------------------------------
      yield* Effect.sleep(Duration.millis(Math.max(0, endAt - Date.now())))
      publishing = false
      log(`${options.seconds}s: publishers stopping`)
      yield* Effect.forEach(publishers, Fiber.join)
      const flushed = yield* Effect.timeout(bus.flush, Duration.seconds(30)).pipe(Effect.option)
      log(`publishers stopped; buffer ${flushed._tag === "Some" ? "flushed" : "NOT flushed within 30 s"}`)
      // A client re-making a connection at this instant holds one more for a moment: counted again
      // (up to 3 times, 2 s apart) while any is above its baseline; a leak stays.
      const aboveBaseline = (list: ReadonlyArray<{ name: string; count: number }>) =>
        list.some((c) => c.count > (baselinePerServer[c.name] ?? 0))
      let finalConnections = yield* ownConnections
      for (let i = 0; i < 3 && aboveBaseline(finalConnections); i++) {
        yield* Effect.sleep(Duration.seconds(2))
        finalConnections = yield* ownConnections
      }
      const unnamed = (yield* deployment.clients).filter((c) => nameOf(c.line) === "").length
      log(
        `connections at the end: ${finalConnections.map((c) => `${c.name}@${c.port}×${c.count}`).join(", ")}; unnamed ${unnamed}`
      )
      // Closed: what it could not write by its drain deadline is counted as dropped now.
      yield* Scope.close(busScope, Exit.void)
      const lastId = entriesOf(yield* command("XREVRANGE", stream, "+", "-", "COUNT", 1))[0]?.id ?? "0-0"
      const positionOf = (deliveries: ReadonlyArray<Delivery>) => {
        let position = "0-0"
        for (const d of deliveries) position = StreamId.max(position, d._tag === "Event" ? d.id : d.streamId)
        return position
      }
      const readerCaughtUp = (reader: (typeof readers)[number]) =>
        StreamId.compare(positionOf(reader.deliveries), lastId) >= 0
      const groupState = Effect.map(command("XINFO", "GROUPS", stream), (reply) => {
        const group = (reply as ReadonlyArray<ReadonlyArray<unknown>>)
          .map((fields) => {
            const o: Record<string, unknown> = {}
            for (let i = 0; i + 1 < fields.length; i += 2) o[String(fields[i])] = fields[i + 1]
            return o
          })
          .find((o) => o.name === "chaos")
        return {
          pending: Number(group?.pending ?? 0),
          caughtUp: group !== undefined && StreamId.compare(String(group["last-delivered-id"]), lastId) >= 0
        }
      })
      const caughtUp = yield* awaitCondition(Duration.seconds(60), () =>
        Effect.map(
          Effect.either(groupState),
          (state) =>
            readers.every(readerCaughtUp) &&
            state._tag === "Right" &&
            state.right.caughtUp &&
            state.right.pending === 0
        )
      )
      log(caughtUp ? "readers and group caught up" : "readers or group did not catch up within 60 s")
      const group = yield* Effect.orElseSucceed(groupState, () => ({ pending: -1, caughtUp: false }))

      const final: Array<Entry> = []
      for (let from = "-"; ; ) {
        const page = entriesOf(yield* command("XRANGE", stream, from, "+", "COUNT", 10_000))
        final.push(...page)
        if (page.length < 10_000) break
        from = `(${page.at(-1)!.id}`
      }
      const deadLettered = entriesOf(yield* command("XRANGE", deadStream, "-", "+"))
      const dropsCounted = (yield* Metric.value(dropped)).count - droppedBefore

      const readerRuns: Array<ReaderRun> = readers.map((r) => ({
        name: r.name,
        from: r.from,
        startAfter,
        deliveries: r.deliveries,
        caughtUp: readerCaughtUp(r)
      }))
      yield* Effect.forEach(readerFibers, Fiber.interrupt)
      yield* Effect.forEach([...memberFibers.values()], Fiber.interrupt)

      return {
        seed: options.seed,
        topology: options.topology,
        seconds: options.seconds,
        // The bound: the publish time-out, the replicas' wait, and a scheduling margin.
        publishBoundMillis:
          Duration.toMillis(publishTimeout) +
          (waitsForReplicas ? Duration.toMillis(Deployment.waitForReplicas.timeout) : 0) +
          500,
        waitsForReplicas,
        faults,
        awaited,
        nowait,
        dropsCounted,
        flushedAtEnd: flushed._tag === "Some",
        readers: readerRuns,
        handled,
        groupGaps,
        memberEnds,
        deadLettered,
        group: { pendingAtEnd: Math.max(0, group.pending), caughtUp: group.caughtUp && group.pending >= 0 },
        final,
        resources: {
          baselineConnections: total(baseline),
          finalConnections: total(finalConnections),
          baselinePerServer,
          finalPerServer: finalConnections,
          rssMaxMb,
          rssBoundMb: options.rssBoundMb ?? 1_024
        }
      } satisfies History
    })
  ).pipe(Effect.provide(NodeContext.layer))

/** Polls `condition` every 100 ms until it holds or `within` passes; succeeds with whether it held. */
const awaitCondition = <E>(
  within: Duration.DurationInput,
  condition: () => Effect.Effect<boolean, E>
): Effect.Effect<boolean, E> =>
  Effect.gen(function* () {
    const deadline = Date.now() + Duration.toMillis(within)
    while (Date.now() < deadline) {
      if (yield* condition()) return true
      yield* Effect.sleep(Duration.millis(100))
    }
    return false
  })
