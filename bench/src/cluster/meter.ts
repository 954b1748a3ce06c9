/**
 * What a round costs in CPU, beside its rate: this process's CPU (`process.cpuUsage`) and the cluster
 * nodes' (`INFO cpu`: `used_cpu_user` + `used_cpu_sys`, masters and replicas apart), each an event.
 * They are what the scaling model of `docs/benchmarks.md` ("Cluster") is built from: on a machine
 * where every process has a core of its own, a node takes 1 / (its CPU an event) events a second,
 * and so does a client.
 */
import { Redis } from "ioredis"
import { secondsSince } from "../harness.js"

/** A node to watch, by its role when the run began. */
export interface WatchedNode {
  readonly port: number
  readonly role: "master" | "replica"
}

/** A round's rate and its CPU, in µs an event. */
export interface Measure {
  readonly rate: number
  /** This process (the client side of the round). */
  readonly clientUs: number
  /** The masters together. */
  readonly mastersUs: number
  /** The replicas together (replication of what the masters wrote). */
  readonly replicasUs: number
}

/** Seconds of CPU the masters and the replicas have used so far. */
interface NodeSeconds {
  readonly masters: number
  readonly replicas: number
}

const cpuSeconds = (info: string): number =>
  Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1])

/** Starts a measured stretch; its `stop` gives the rate of `events` and their CPU. */
export interface Meter {
  readonly start: () => Promise<{ readonly stop: (events: number) => Promise<Measure> }>
  readonly close: () => void
}

/** A meter over the given nodes, one connection each (made now, closed by `close`). */
export const meter = async (host: string, nodes: ReadonlyArray<WatchedNode>): Promise<Meter> => {
  const clients = nodes.map((node) => ({ role: node.role, client: new Redis({ host, port: node.port }) }))
  const read = async (): Promise<NodeSeconds> => {
    const seconds = await Promise.all(
      clients.map(async ({ role, client }) => ({ role, cpu: cpuSeconds(await client.info("cpu")) }))
    )
    const sum = (role: WatchedNode["role"]) =>
      seconds.filter((s) => s.role === role).reduce((total, s) => total + s.cpu, 0)
    return { masters: sum("master"), replicas: sum("replica") }
  }
  await read()
  return {
    start: async () => {
      const nodesBefore = await read()
      const clientBefore = process.cpuUsage()
      const started = performance.now()
      return {
        stop: async (events) => {
          const seconds = secondsSince(started)
          const client = process.cpuUsage(clientBefore)
          const nodesAfter = await read()
          const perEvent = (cpuSeconds: number) => (cpuSeconds * 1e6) / events
          return {
            rate: events / seconds,
            clientUs: perEvent((client.user + client.system) / 1e6),
            mastersUs: perEvent(nodesAfter.masters - nodesBefore.masters),
            replicasUs: perEvent(nodesAfter.replicas - nodesBefore.replicas)
          }
        }
      }
    },
    close: () => {
      for (const { client } of clients) client.disconnect()
    }
  }
}
