/**
 * The checker of a soak's history: pure (history in, verdict out), so that it is tested by table.
 * It reports, per promise, every violation with the events it concerns, and the figures of the run.
 *
 * Known truths it respects (not violations, counted as losses with their cause):
 * - A failover may lose writes no replica acknowledged: replication is asynchronous, and the
 *   promoted replica lacks what the old master took last. A `Written` with `replicas === 0` (or any
 *   write on a run without `waitForReplicas`) lost across a failover is "acknowledged by no replica".
 * - `SHUTDOWN NOSAVE` (a `SIGKILL`) loses what was written since the last save, by design: a
 *   `Written` event gone after such a fault is lost with it. A reader that had not read it needs a
 *   `Gap` or that restart explaining it: without a Gap it is counted ("lost with the server before
 *   a reader read them, no Gap"), not reported; a trimmed entry always needs a Gap.
 * - A publish answered `NotWritten` with reason `Timeout` has an unknown outcome: it may be in the
 *   stream. Every other `NotWritten` says it is not.
 * - `XTRIM` removes entries on purpose: gone below the trim's floor is "trimmed".
 */
import {
  clientName,
  type Fault,
  type FaultKind,
  type Handling,
  type History,
  type ReaderRun
} from "./History.js"
import * as StreamId from "./StreamId.js"

/** The promises checked. */
export type Promise = "publish" | "readers" | "groups" | "resources"

/** One broken promise: which rule, and a message naming the events concerned. */
export interface Violation {
  readonly promise: Promise
  readonly rule: string
  readonly message: string
}

/** Why an event written is not in the stream at the end. */
export type LossCause = "trimmed" | "server data loss" | "acknowledged by no replica" | "failover"

/** The figures of a run. */
export interface Figures {
  readonly faults: Readonly<Partial<Record<FaultKind, number>>>
  readonly faultsFailed: number
  readonly awaited: number
  readonly written: number
  readonly notWritten: Readonly<Record<string, number>>
  readonly nowaitAccepted: number
  readonly nowaitRefused: number
  readonly dropsCounted: number
  readonly streamEntries: number
  /** Events in the stream more than once (a batch retried after an unknown outcome). */
  readonly duplicatesInStream: number
  /** Entries a reader delivered twice. */
  readonly readerDuplicates: number
  readonly gaps: number
  /** Entries reported lost by readers' gaps (where the backend could tell). */
  readonly gapEntries: number
  /** Entries a server took away before a reader read them, with no Gap to tell it (per reader). */
  readonly lostUnannounced: number
  readonly lost: Readonly<Partial<Record<LossCause, number>>>
  readonly maxPublishMillis: number
  readonly handled: number
  readonly handlerFailures: number
  readonly deadLettered: number
  readonly redeliveredAfterAck: number
}

/** The checker's answer. */
export interface Verdict {
  readonly ok: boolean
  readonly violations: ReadonlyArray<Violation>
  readonly figures: Figures
}

/** At most this many violations of one rule are listed; the rest are counted. */
const perRule = 10

const count = <K extends string>(into: Partial<Record<K, number>>, key: K, by = 1) => {
  into[key] = (into[key] ?? 0) + by
}

/** Whether `id` is a stream id (`<ms>-<seq>`). */
const isStreamId = (id: unknown): id is string => typeof id === "string" && /^\d+-\d+$/.test(id)

/** A value as at most 60 characters of a message. */
const shorten = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length <= 60 ? text : `${text.slice(0, 57)}...`
}

/** Whether a fault could have taken away what was written at `at`: it ended after `at`. */
const after = (fault: Fault, at: number) => fault.error === undefined && fault.end >= at

/**
 * Why an event written at `at` (`id` when known) is gone, if a fault after it explains it: a trim
 * whose floor is above it first (a reader that had not read it is owed a `Gap`), else a server that
 * lost its data, else a failover (for `acknowledged`: only when no replica had acknowledged the
 * write). An entry a crash took before a trim passed its place is put down to the trim: the reader
 * is owed a `Gap` either way (it tells a server's loss by the stream's count going back).
 */
const lossCause = (
  faults: ReadonlyArray<Fault>,
  at: number,
  id: string | undefined,
  replicated: "yes" | "no" | "unknown"
): LossCause | undefined => {
  for (const fault of faults) {
    if (!after(fault, at) || fault.trimmedBelow === undefined) continue
    // Without an id, the entry's id is at least the time it was handed over (its ms part).
    const below =
      id !== undefined
        ? StreamId.compare(id, fault.trimmedBelow) < 0
        : StreamId.millisOf(fault.trimmedBelow) > at
    if (below) return "trimmed"
  }
  if (faults.some((fault) => fault.losesData && after(fault, at))) return "server data loss"
  if (replicated !== "yes" && faults.some((fault) => fault.failsOver && after(fault, at)))
    return replicated === "no" ? "acknowledged by no replica" : "failover"
  return undefined
}

/** Whether a reader's gap notice covers `id`: it lies after the gap's `after` and before its `streamId`. */
const covers = (gap: { readonly after: string; readonly streamId: string }, id: string) =>
  StreamId.compare(id, gap.after) > 0 && StreamId.compare(id, gap.streamId) < 0

/**
 * Whether `id`, gone at the end, went with a failover before the reader passed its place at
 * `passedAt`: a failover after it was written and before then, and no trim before then whose floor
 * is above it. The new master never had it (written on the old one alone, or taken by it after it
 * was demoted): the reader, reading there, could not tell — trimmed later or not.
 */
const goneInFailover = (faults: ReadonlyArray<Fault>, id: string, passedAt: number): boolean =>
  !faults.some(
    (f) =>
      f.error === undefined &&
      f.trimmedBelow !== undefined &&
      f.at <= passedAt &&
      StreamId.compare(id, f.trimmedBelow) < 0
  ) &&
  faults.some(
    (f) => f.error === undefined && f.failsOver && f.end >= StreamId.millisOf(id) && f.at <= passedAt
  )

const checkReader = (
  reader: ReaderRun,
  known: ReadonlyArray<string>,
  inFinal: ReadonlySet<string>,
  lostWithServer: ReadonlySet<string>,
  faults: ReadonlyArray<Fault>,
  add: (rule: string, message: string) => void
): { duplicates: number; gaps: number; gapEntries: number; unannounced: number } => {
  const seen = new Set<string>()
  let unannounced = 0
  let duplicates = 0
  let gaps = 0
  let gapEntries = 0
  let position = reader.startAfter
  const gapNotices: Array<{ after: string; streamId: string }> = []
  for (const delivery of reader.deliveries) {
    if (delivery._tag === "Gap") {
      gaps++
      gapEntries += delivery.lost ?? 0
      gapNotices.push({ after: delivery.after, streamId: delivery.streamId })
      continue
    }
    if (seen.has(delivery.id)) {
      duplicates++
      add("duplicate", `reader ${reader.name} delivered ${delivery.id} (${delivery.tag}) twice`)
    } else if (StreamId.compare(delivery.id, position) <= 0) {
      add(
        "order",
        `reader ${reader.name} delivered ${delivery.id} (${delivery.tag}) after ${position}: out of order`
      )
    }
    seen.add(delivery.id)
    position = StreamId.max(position, delivery.id)
  }
  // Every entry known to have existed, after where the reader started and up to where it got, was
  // delivered or covered by a gap notice.
  for (const id of known) {
    if (StreamId.compare(id, reader.startAfter) <= 0 || StreamId.compare(id, position) > 0) continue
    if (seen.has(id) || gapNotices.some((gap) => covers(gap, id))) continue
    if (lostWithServer.has(id)) {
      unannounced++
      continue
    }
    // When the reader went past its place: its first delivery after it.
    const after = reader.deliveries.find((d) => d._tag === "Event" && StreamId.compare(d.id, id) > 0)
    if (!inFinal.has(id) && after !== undefined && goneInFailover(faults, id, after.at)) {
      unannounced++
      continue
    }
    add(
      "skipped",
      `reader ${reader.name} skipped ${id} without a Gap covering it (${inFinal.has(id) ? "in the stream at the end" : "gone at the end"})`
    )
  }
  if (!reader.caughtUp)
    add(
      "caught-up",
      `reader ${reader.name} had not delivered the stream's last entry at the end (at ${position})`
    )
  return { duplicates, gaps, gapEntries, unannounced }
}

/** Checks a history: every promise, every violation, and the figures. */
export const check = (history: History): Verdict => {
  const violations: Array<Violation> = []
  const perRuleCount = new Map<string, number>()
  const add = (promise: Promise) => (rule: string, message: string) => {
    const key = `${promise}.${rule}`
    const n = (perRuleCount.get(key) ?? 0) + 1
    perRuleCount.set(key, n)
    if (n <= perRule) violations.push({ promise, rule: key, message })
  }
  const faults = history.faults
  const lost: Partial<Record<LossCause, number>> = {}

  // ---- what the server holds -------------------------------------------------------------------
  const idsByTag = new Map<string, Array<string>>()
  for (const entry of history.final) {
    const ids = idsByTag.get(entry.tag)
    if (ids === undefined) idsByTag.set(entry.tag, [entry.id])
    else ids.push(entry.id)
  }
  const duplicatesInStream = [...idsByTag.values()].filter((ids) => ids.length > 1).length

  // ---- publish -------------------------------------------------------------------------------------
  const publish = add("publish")
  const notWritten: Record<string, number> = {}
  let written = 0
  let maxPublishMillis = 0
  /** Written entries gone with a fault: they existed, so a reader that did not read them needs a Gap. */
  const lostIds: Array<string> = []
  /**
   * Written entries a server took away (a restart without the data, a failover): a reader that had
   * not read them is not told by a Gap, and the fault explains it (the brief: "a Gap or a restart
   * explaining it"); counted apart in the figures.
   */
  const lostWithServer = new Set<string>()
  // The ids a reader or a member saw of each event (more than one: a batch written again after an
  // unknown outcome). An event gone with the server took every copy: none needs a Gap.
  const seenIds = new Map<string, Set<string>>()
  const see = (tag: string, id: string) => {
    const ids = seenIds.get(tag)
    if (ids === undefined) seenIds.set(tag, new Set([id]))
    else ids.add(id)
  }
  for (const reader of history.readers)
    for (const d of reader.deliveries) if (d._tag === "Event") see(d.tag, d.id)
  for (const h of history.handled) see(h.tag, h.id)
  const goneWithServer = (tag: string) => {
    for (const id of seenIds.get(tag) ?? []) lostWithServer.add(id)
  }
  for (const call of history.awaited) {
    maxPublishMillis = Math.max(maxPublishMillis, call.millis)
    if (call.millis > history.publishBoundMillis)
      publish(
        "bound",
        `${call.tag} took ${Math.round(call.millis)} ms, over the bound of ${history.publishBoundMillis} ms`
      )
    const result = call.result
    const ids = idsByTag.get(call.tag)
    if (result._tag === "NotWritten") {
      count(notWritten, result.reason)
      // A Timeout leaves the outcome unknown: the event may well be in the stream.
      if (result.reason !== "Timeout" && ids !== undefined)
        publish(
          "not-written-but-there",
          `${call.tag} was answered NotWritten (${result.reason}) but is in the stream as ${ids[0]}`
        )
      // Written after all (seen), then gone with the server: no Gap owed either.
      if (result.reason === "Timeout" && ids === undefined && seenIds.has(call.tag)) {
        const cause = lossCause(faults, call.at, undefined, "unknown")
        if (cause !== undefined && cause !== "trimmed") goneWithServer(call.tag)
      }
      continue
    }
    written++
    if (!isStreamId(result.id)) {
      publish(
        "written-id",
        `${call.tag} was answered Written with ${shorten(result.id)}, which is not a stream id`
      )
      continue
    }
    if (ids !== undefined) {
      if (!ids.includes(result.id))
        publish(
          "written-id",
          `${call.tag} was answered Written as ${result.id} but is in the stream as ${ids[0]}`
        )
      continue
    }
    const replicated = !history.waitsForReplicas ? "no" : (result.replicas ?? 0) >= 1 ? "yes" : "no"
    const cause = lossCause(faults, call.at, result.id, replicated)
    if (cause !== undefined) {
      count(lost, cause)
      lostIds.push(result.id)
      if (cause !== "trimmed") {
        lostWithServer.add(result.id)
        goneWithServer(call.tag)
      }
    } else
      publish(
        "written-lost",
        `${call.tag} was answered Written as ${result.id}${result.replicas === undefined ? "" : ` (replicas ${result.replicas})`} but is not in the stream, and no fault explains it`
      )
  }

  // Fire-and-forget: what the buffer took arrived, or a fault explains it, or it counts as a drop.
  let nowaitAccepted = 0
  let nowaitRefused = 0
  let missingUnexplained = 0
  let missingExplained = 0
  for (const call of history.nowait) {
    if (!call.accepted) {
      nowaitRefused++
      continue
    }
    nowaitAccepted++
    if (idsByTag.has(call.tag)) continue
    const seen = seenIds.get(call.tag)
    const id = seen === undefined ? undefined : [...seen].sort(StreamId.compare)[0]
    const cause = lossCause(faults, call.at, id, "unknown")
    if (cause !== undefined) {
      missingExplained++
      count(lost, cause)
      // Seen, then gone with the server: as a Written one, a reader that had not read it needs no Gap.
      if (cause !== "trimmed") goneWithServer(call.tag)
    } else missingUnexplained++
  }
  // Drops made: refused by the full buffer, or taken and never written (given up at the drain
  // deadline). Those a fault may have taken away could have been either.
  const dropsMade = nowaitRefused + missingUnexplained
  if (history.dropsCounted < dropsMade || history.dropsCounted > dropsMade + missingExplained)
    publish(
      "drops-counted",
      `drops counted (${history.dropsCounted}) differ from drops made (${nowaitRefused} refused by the buffer, ${missingUnexplained} taken and never in the stream${missingExplained > 0 ? `, up to ${missingExplained} more lost with a fault` : ""})`
    )

  if (!history.flushedAtEnd)
    publish(
      "stuck",
      "the bus did not write what it held within 30 s after the publishers stopped and the faults ended"
    )

  // ---- readers -------------------------------------------------------------------------------------
  const known = new Set<string>([...history.final.map((e) => e.id), ...lostIds])
  for (const reader of history.readers)
    for (const d of reader.deliveries) if (d._tag === "Event") known.add(d.id)
  for (const h of history.handled) known.add(h.id)
  const knownIds = [...known].sort(StreamId.compare)
  const inFinal = new Set(history.final.map((e) => e.id))
  const readers = add("readers")
  let readerDuplicates = 0
  let lostUnannounced = 0
  let gaps = 0
  let gapEntries = 0
  for (const reader of history.readers) {
    const figures = checkReader(reader, knownIds, inFinal, lostWithServer, faults, readers)
    lostUnannounced += figures.unannounced
    readerDuplicates += figures.duplicates
    gaps += figures.gaps
    gapEntries += figures.gapEntries
  }

  // ---- groups --------------------------------------------------------------------------------------
  const groups = add("groups")
  for (const end of history.memberEnds)
    groups("member-ended", `member ${end.member} stopped consuming by itself: ${end.cause}`)
  const byId = new Map<string, Array<Handling>>()
  for (const h of history.handled) {
    const list = byId.get(h.id)
    if (list === undefined) byId.set(h.id, [h])
    else list.push(h)
  }
  const deadTags = new Set(history.deadLettered.map((e) => e.tag))
  const gapIds = new Set(history.groupGaps.flatMap((g) => g.ids))
  for (const entry of history.final) {
    const done = (byId.get(entry.id) ?? []).some((h) => h.outcome !== "fail")
    if (!done && !deadTags.has(entry.tag) && !gapIds.has(entry.id))
      groups("unhandled", `${entry.id} (${entry.tag}) was neither handled nor dead-lettered`)
  }
  // An acknowledged entry delivered again: only a fault between the two explains it (the ack's
  // XACK lost with the acking member's connection, that member killed before its batched ack left,
  // a server that hung, failed over or lost its data). A trim explains nothing, nor a fault that
  // touched only other clients.
  let redeliveredAfterAck = 0
  for (const [id, list] of byId) {
    const acked = list.find((h) => h.outcome === "ack")
    if (acked === undefined) continue
    const again = list.find((h) => h.at > acked.at && h !== acked)
    if (again === undefined) continue
    redeliveredAfterAck++
    const explained = faults.some(
      (f) =>
        f.kind !== "trim" &&
        (f.touched === undefined || f.touched.includes(clientName(acked.member))) &&
        f.end >= acked.at &&
        f.at <= again.at
    )
    if (!explained)
      groups(
        "acked-redelivered",
        `${id} (${acked.tag}) acknowledged by ${acked.member} was delivered again to ${again.member} (delivery ${again.deliveryCount}) with no fault between`
      )
  }
  if (history.group.pendingAtEnd > 0)
    groups("pending", `${history.group.pendingAtEnd} entries still pending for the group at the end`)
  if (!history.group.caughtUp)
    groups("caught-up", "the group had not been delivered the stream's last entry at the end")

  // ---- resources -----------------------------------------------------------------------------------
  const resources = add("resources")
  const r = history.resources
  // Per client and server: a Cluster client connects to every node it is led to (after failovers
  // and migrations, more of them than at the start), which is no leak; more connections to one
  // server than it ever held to one is.
  for (const { name, port, count } of r.finalPerServer) {
    const baseline = r.baselinePerServer[name] ?? 0
    if (count > baseline)
      resources(
        "connections",
        `${name} holds ${count} connections to the server at port ${port} at the end, above its baseline of ${baseline}`
      )
  }
  if (r.rssMaxMb > r.rssBoundMb)
    resources("rss", `RSS reached ${Math.round(r.rssMaxMb)} MB, above the bound of ${r.rssBoundMb} MB`)

  for (const [rule, n] of perRuleCount) {
    if (n > perRule) {
      const [promise] = rule.split(".") as [Promise]
      violations.push({ promise, rule, message: `… and ${n - perRule} more ${rule} violations` })
    }
  }

  const faultCounts: Partial<Record<FaultKind, number>> = {}
  for (const fault of faults) count(faultCounts, fault.kind)
  return {
    ok: violations.length === 0,
    violations,
    figures: {
      faults: faultCounts,
      faultsFailed: faults.filter((f) => f.error !== undefined).length,
      awaited: history.awaited.length,
      written,
      notWritten,
      nowaitAccepted,
      nowaitRefused,
      dropsCounted: history.dropsCounted,
      streamEntries: history.final.length,
      duplicatesInStream,
      readerDuplicates,
      gaps,
      gapEntries,
      lostUnannounced,
      lost,
      maxPublishMillis: Math.round(maxPublishMillis),
      handled: history.handled.filter((h) => h.outcome !== "fail").length,
      handlerFailures: history.handled.filter((h) => h.outcome === "fail").length,
      deadLettered: history.deadLettered.length,
      redeliveredAfterAck
    }
  }
}
