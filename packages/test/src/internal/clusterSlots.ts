/**
 * The pure parts of the cluster kit: the parsing of a `CLUSTER NODES` reply and what a view of it
 * says (who serves which slots, which nodes fail). The slot of a key is `Partitions.keySlot` of
 * `@maf/events`.
 *
 * @internal
 */
import * as Option from "effect/Option"

/** The number of hash slots of a Redis Cluster. */
export const SLOTS = 16_384

/** One line of `CLUSTER NODES`, as the node that answered sees that node. */
export interface NodeLine {
  readonly id: string
  readonly host: string
  readonly port: number
  readonly flags: ReadonlyArray<string>
  readonly role: "master" | "replica"
  readonly masterId: Option.Option<string>
  /** Slot ranges served, inclusive (`[from, to]`). */
  readonly slots: ReadonlyArray<readonly [number, number]>
  /** Slots being migrated away: slot and target node id. */
  readonly migrating: ReadonlyArray<readonly [number, string]>
  /** Slots being imported: slot and source node id. */
  readonly importing: ReadonlyArray<readonly [number, string]>
}

const parseLine = (line: string): Option.Option<NodeLine> => {
  const [id, address, flagText, master, , , , , ...slotFields] = line.trim().split(" ")
  if (id === undefined || address === undefined || flagText === undefined || master === undefined) {
    return Option.none()
  }
  // `ip:port@cport[,hostname]`
  const hostPort = address.split("@")[0] ?? ""
  const colon = hostPort.lastIndexOf(":")
  const flags = flagText.split(",")
  const slots: Array<readonly [number, number]> = []
  const migrating: Array<readonly [number, string]> = []
  const importing: Array<readonly [number, string]> = []
  for (const field of slotFields) {
    const open = /^\[(\d+)-([<>])-([0-9a-f]+)\]$/.exec(field)
    if (open !== null) {
      const slot = Number(open[1])
      const other = open[3] ?? ""
      if (open[2] === ">") migrating.push([slot, other])
      else importing.push([slot, other])
      continue
    }
    const [from, to] = field.split("-")
    if (from !== undefined && from !== "") slots.push([Number(from), Number(to ?? from)])
  }
  return Option.some({
    id,
    host: hostPort.slice(0, colon),
    port: Number(hostPort.slice(colon + 1)),
    flags,
    role: flags.includes("master") ? "master" : "replica",
    masterId: master === "-" ? Option.none() : Option.some(master),
    slots,
    migrating,
    importing
  })
}

/** Parses a `CLUSTER NODES` reply (one node a line). */
export const parseClusterNodes = (reply: string): ReadonlyArray<NodeLine> =>
  reply
    .split("\n")
    .filter((line) => line.trim() !== "")
    .flatMap((line) => Option.toArray(parseLine(line)))

/** Whether a node is seen as failing (`fail`, or `fail?` when only this view suspects it). */
export const isFailing = (node: NodeLine): boolean =>
  node.flags.includes("fail") || node.flags.includes("fail?")

/** The slot ranges by serving master id, as a text to compare views with (sorted by slot). */
export const slotMap = (nodes: ReadonlyArray<NodeLine>): string =>
  nodes
    .filter((node) => node.role === "master")
    .flatMap((node) => node.slots.map(([from, to]) => ({ from, to, id: node.id })))
    .sort((a, b) => a.from - b.from)
    .map(({ from, id, to }) => `${from}-${to}:${id}`)
    .join(" ")

/** How many slots the masters of a view serve. */
export const slotsCovered = (nodes: ReadonlyArray<NodeLine>): number =>
  nodes
    .filter((node) => node.role === "master")
    .reduce((sum, node) => sum + node.slots.reduce((n, [from, to]) => n + to - from + 1, 0), 0)
