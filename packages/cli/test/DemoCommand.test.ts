/**
 * The demo's services on a partitioned stream (`DemoCommand.services` with `partitions`, on the
 * embedded in-memory backend, as `demo --partitions 3` runs them): the runs are published on the
 * partitions of their arenas, the dashboard's feed shows every partition's events, and its group
 * watch each of the demo's groups once, merged over the three partition keys, the archiver having
 * taken everything.
 */
import { describe, expect, it } from "@effect/vitest"
import { Partitions } from "@maf/events"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Dashboard from "../src/Dashboard.js"
import * as DemoCommand from "../src/DemoCommand.js"
import * as DemoWorkers from "../src/DemoWorkers.js"
import type * as GroupWatch from "../src/GroupWatch.js"
import * as Simulation from "../src/Simulation.js"
import * as Sse from "./helpers/sse.js"

describe("DemoCommand.services on a partitioned stream", () => {
  it.live(
    "the dashboard's feed shows the runs of every partition; its group watch merges each group over the partition keys",
    () =>
      Effect.gen(function* () {
        const stream = "demo:parts"
        const services = DemoCommand.services(Option.none(), {
          stream,
          partitions: 3,
          source: "in-memory",
          port: 0,
          groupsInterval: Duration.millis(100)
        })
        yield* Effect.gen(function* () {
          yield* Effect.forkScoped(DemoWorkers.run(stream, 3))
          const written = yield* Simulation.run({ interval: Duration.zero, runs: 2 })
          const feed = yield* Sse.open(`${yield* Dashboard.url}events?from=0`)
          const arenas = new Map<string, number>()
          let events = 0
          let groups: ReadonlyArray<GroupWatch.GroupStatus> = []
          const caughtUp = () => groups.some((g) => g.name === "archiver" && g.lag === 0 && g.pending === 0)
          while (events < written || !caughtUp()) {
            const [message] = yield* feed.takeAny(1)
            if (message!.event === "groups") {
              groups = (JSON.parse(message!.data) as GroupWatch.Snapshot).groups
            } else {
              const { arena } = JSON.parse(message!.data) as { arena: string }
              arenas.set(arena, (arenas.get(arena) ?? 0) + 1)
              events++
            }
          }
          expect(events).toBe(written)
          // Two arenas, on two different partitions.
          expect([...arenas.keys()].sort()).toEqual(["research", "trading"])
          expect(new Set([...arenas.keys()].map((arena) => Partitions.partitionOf(arena, 3))).size).toBe(2)
          expect(groups.map((g) => [g.name, g.partitions])).toEqual([
            ["archiver", 3],
            ["auditor", 3]
          ])
          expect(groups[0]!.members!.map((m) => m.name)).toEqual(["archiver-1"])
        }).pipe(Effect.provide(services), Effect.scoped)
      }),
    { timeout: 20_000 }
  )
})
