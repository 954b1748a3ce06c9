/**
 * The soak's report: the table of a run's figures and its violations, as text.
 */
import type { Verdict } from "./Checker.js"
import type { History } from "./History.js"

const entries = (record: Readonly<Record<string, number | undefined>>) =>
  Object.entries(record)
    .filter(([, n]) => n !== undefined && n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ") || "none"

/** The table of a run, its violations, and how to run it again. */
export const render = (history: History, verdict: Verdict): string => {
  const f = verdict.figures
  const faultTotal = Object.values(f.faults).reduce((a, b) => a + (b ?? 0), 0)
  const lostTotal = Object.values(f.lost).reduce((a, b) => a + (b ?? 0), 0)
  const rows: Array<readonly [string, string]> = [
    ["topology / seconds / seed", `${history.topology} / ${history.seconds} / ${history.seed}`],
    [
      "faults injected",
      `${faultTotal}: ${entries(f.faults)}${f.faultsFailed > 0 ? ` (${f.faultsFailed} failed to inject)` : ""}`
    ],
    ["awaited publishes", `${f.awaited}: Written ${f.written}, NotWritten ${entries(f.notWritten)}`],
    [
      "fire-and-forget",
      `accepted ${f.nowaitAccepted}, refused ${f.nowaitRefused}, drops counted ${f.dropsCounted}`
    ],
    ["stream entries at the end", String(f.streamEntries)],
    [
      "duplicates",
      `in the stream ${f.duplicatesInStream}, delivered twice by a reader ${f.readerDuplicates}`
    ],
    [
      "reader gaps",
      `${f.gaps} notices, ${f.gapEntries} entries reported lost; ${f.lostUnannounced} lost with the server before a reader read them, no Gap`
    ],
    ["lost, with cause", `${lostTotal}: ${entries(f.lost)}`],
    ["max publish latency", `${f.maxPublishMillis} ms (bound ${history.publishBoundMillis} ms)`],
    [
      "group",
      `handled ${f.handled}, handler failures ${f.handlerFailures}, dead-lettered ${f.deadLettered}, redelivered after ack ${f.redeliveredAfterAck}, pending at end ${history.group.pendingAtEnd}`
    ],
    [
      "resources",
      `connections ${history.resources.finalConnections} (baseline ${history.resources.baselineConnections}), max RSS ${Math.round(history.resources.rssMaxMb)} MB`
    ]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)
  if (verdict.ok) lines.push("", "PASS: every promise held")
  else {
    lines.push("", `FAIL: ${verdict.violations.length} violations`)
    for (const v of verdict.violations) lines.push(`  [${v.rule}] ${v.message}`)
    lines.push(
      "",
      `reproduce: pnpm chaos --topology ${history.topology} --seconds ${history.seconds} --seed ${history.seed}`
    )
  }
  return lines.join("\n")
}
