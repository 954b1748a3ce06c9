/**
 * What a soak saw, as plain data: the faults injected, what each publisher got back, what each reader
 * and group member delivered, and what the server held at the end. The soak writes it; the checker
 * (`Checker.ts`) reads it. Times are wall-clock milliseconds (`Date.now()`), comparable with the
 * millisecond part of a stream id.
 */

/** The deployment a soak runs against. */
export type Topology = "single" | "cluster" | "sentinel"

/** The topologies, for parsing. */
export const topologies: ReadonlyArray<Topology> = ["single", "cluster", "sentinel"]

/** The faults the injector picks from (which ones apply depends on the topology: `Faults.ts`). */
export type FaultKind =
  | "restart"
  | "crash"
  | "clientKill"
  | "hangShort"
  | "hangLong"
  | "proxyStall"
  | "proxyDrop"
  | "trim"
  | "memberKill"
  | "failover"
  | "slotMigration"

/** Every fault kind, for parsing. */
export const faultKinds: ReadonlyArray<FaultKind> = [
  "restart",
  "crash",
  "clientKill",
  "hangShort",
  "hangLong",
  "proxyStall",
  "proxyDrop",
  "trim",
  "memberKill",
  "failover",
  "slotMigration"
]

/** One fault, from its start to the end of its effect (a restart: until the server answers again). */
export interface Fault {
  readonly kind: FaultKind
  readonly at: number
  readonly end: number
  readonly detail: string
  /** The server may have lost acknowledged writes (`SHUTDOWN NOSAVE`/`SIGKILL` without a replica). */
  readonly losesData: boolean
  /** A replica became the master: writes no replica acknowledged may be gone. */
  readonly failsOver: boolean
  /** A trim: every entry below this id was removed. */
  readonly trimmedBelow?: string | undefined
  /**
   * The clients the fault touched, by connection name (`chaos-m1`), when it touched only some (a
   * `CLIENT KILL`, a member killed); absent when it touched everyone (a server fault).
   */
  readonly touched?: ReadonlyArray<string> | undefined
  /** The fault could not be injected (it is kept, and it explains nothing it did not do). */
  readonly error?: string | undefined
}

/** What an awaited publish returned. */
export type PublishOutcome =
  | { readonly _tag: "Written"; readonly id: string; readonly replicas?: number | undefined }
  | { readonly _tag: "NotWritten"; readonly reason: string }

/** One awaited publish: its event (`publisher:n`), when it began, how long it took, what it returned. */
export interface AwaitedPublish {
  readonly tag: string
  readonly at: number
  readonly millis: number
  readonly result: PublishOutcome
}

/** One fire-and-forget publish: its event and whether the buffer took it. */
export interface NowaitPublish {
  readonly tag: string
  readonly at: number
  readonly accepted: boolean
}

/** What a reader delivered: an event (by stream id and tag) or a gap notice. */
export type Delivery =
  | { readonly _tag: "Event"; readonly id: string; readonly tag: string; readonly at: number }
  | {
      readonly _tag: "Gap"
      readonly streamId: string
      readonly after: string
      readonly lost: number | undefined
      readonly at: number
    }

/** One reader's run. `startAfter`: the id it was to read after (`"0-0"` from the start). */
export interface ReaderRun {
  readonly name: string
  readonly from: "$" | "0"
  readonly startAfter: string
  readonly deliveries: ReadonlyArray<Delivery>
  /** It had delivered the stream's last entry when the soak ended. */
  readonly caughtUp: boolean
}

/** One call of a group member's handler. `ack`: it succeeded; `fail`: it failed (a retry follows). */
export interface Handling {
  readonly member: string
  readonly id: string
  readonly tag: string
  readonly at: number
  readonly deliveryCount: number
  readonly outcome: "ack" | "fail" | "deadLetter"
}

/** A stream entry, by id and by the tag of its event (`publisher:n`). */
export interface Entry {
  readonly id: string
  readonly tag: string
}

/** The whole history of a soak. */
export interface History {
  readonly seed: number
  readonly topology: Topology
  readonly seconds: number
  /** The bound every awaited publish must return within, in ms. */
  readonly publishBoundMillis: number
  /** Appends wait for a replica (`waitForReplicas`): a `Written` with `replicas >= 1` survives a failover. */
  readonly waitsForReplicas: boolean
  readonly faults: ReadonlyArray<Fault>
  readonly awaited: ReadonlyArray<AwaitedPublish>
  readonly nowait: ReadonlyArray<NowaitPublish>
  /** The bus's `maf_events_dropped_total` for the stream at the end. */
  readonly dropsCounted: number
  /**
   * The bus wrote everything it held within 30 s after the publishers stopped (the last fault long
   * over): a writer stuck on a failure that no longer is (a node it should have left) does not.
   */
  readonly flushedAtEnd: boolean
  readonly readers: ReadonlyArray<ReaderRun>
  readonly handled: ReadonlyArray<Handling>
  /** Members whose consuming ended by itself (not stopped by a fault or the end), and why. */
  readonly memberEnds: ReadonlyArray<{ readonly member: string; readonly cause: string }>
  /** Group gap notices: entries pending for the group that were removed before they were handled. */
  readonly groupGaps: ReadonlyArray<{ readonly member: string; readonly ids: ReadonlyArray<string> }>
  /** The dead-letter stream at the end (the entry's event, by tag). */
  readonly deadLettered: ReadonlyArray<Entry>
  /** The group's pending entries at the end, and whether it had been delivered the last entry. */
  readonly group: { readonly pendingAtEnd: number; readonly caughtUp: boolean }
  /** The stream at the end. */
  readonly final: ReadonlyArray<Entry>
  readonly resources: {
    /** The soak's own connections once everything ran, before the first fault (`CLIENT LIST`). */
    readonly baselineConnections: number
    /** The same, after the last fault and a quiet period. */
    readonly finalConnections: number
    /** At the baseline, by client name: the most connections it held to one server. */
    readonly baselinePerServer: Readonly<Record<string, number>>
    /** At the end: the connections each client holds to each server. */
    readonly finalPerServer: ReadonlyArray<{
      readonly name: string
      readonly port: number
      readonly count: number
    }>
    readonly rssMaxMb: number
    readonly rssBoundMb: number
  }
}

/** The connection name of a soak client (`m1`, `live-1`, `bus`…), as `CLIENT LIST` shows it. */
export const clientName = (client: string): string => `chaos-${client}`
