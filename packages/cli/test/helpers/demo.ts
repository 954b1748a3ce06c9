/**
 * What the tests of `demo --partitions` share: the command line of a short partitioned demo, and the
 * checks of what it printed (the live tail on stdout, the closing report on stderr) and, on Redis,
 * of what it left on each partition key.
 */
import { expect } from "@effect/vitest"
import { Partitions } from "@maf/events"
import * as Effect from "effect/Effect"
import type * as Bin from "./bin.js"

/**
 * A short demo: two runs (trading, research), which `--partitions 3` (given in `args`, or
 * `MAF_EVENTS_PARTITIONS`) puts on two of the three partitions.
 */
export const shortDemo = (stream: string, ...args: ReadonlyArray<string>) => [
  "demo",
  ...["--stream", stream, "--runs", "2", "--interval", "0", "--port", "0"],
  ...args
]

/** A group's state on a key, as the demo's closing report gives it. */
export interface GroupState {
  readonly pending: number
  readonly lag: number
}

/** A key's line of the demo's closing report. */
export interface KeyReport {
  readonly shown: number
  readonly groups: Readonly<Record<string, GroupState>>
}

/** The demo's closing report: `demo: N events written`, then a line a key. */
export const reportOf = (stderr: string) => {
  const written = /^demo: (\d+) events written$/m.exec(stderr)
  const keys = new Map<string, KeyReport>()
  for (const [, key, shown, groups] of stderr.matchAll(/^demo: (\S+): (\d+) shown; (.*)$/gm)) {
    const states: Record<string, GroupState> = {}
    for (const [, name, pending, lag] of groups!.matchAll(/(\w+): (\d+) pending, lag (\d+)/g))
      states[name!] = { pending: Number(pending), lag: Number(lag) }
    keys.set(key!, { shown: Number(shown), groups: states })
  }
  return { written: written === null ? undefined : Number(written[1]), keys }
}

/** The tail's lines (after the dashboard's address), each with its entry id, kind and arena. */
export const tailOf = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => {
      const [id, , kind, arena] = line.split(/\s+/)
      return { id: id!, kind: kind!, arena: arena! }
    })

/**
 * The checks of a finished `demo --partitions 3 --runs 2`: it exited 0; the tail showed every event
 * written, each arena's run whole and in order (`arena.start` first, `arena.complete` last); the
 * events are on the partitions of their arenas, two of the three keys; the archiver took every event
 * of every key (nothing pending, no lag), the auditor has its group on each key and holds at most
 * what it may start there (2). Returns the report's keys.
 */
export const checkPartitionedDemo = (result: Bin.Finished, stream: string) => {
  expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 })
  expect(result.stdout).toMatch(/^Dashboard: http:\/\/127\.0\.0\.1:\d+\/\n/)
  expect(result.stderr).toContain(`demo: simulated arena runs on ${stream} (3 partitions)`)
  const keys = Partitions.keys(stream, 3)
  const report = reportOf(result.stderr)
  const tail = tailOf(result.stdout)
  expect(report.written).toBe(tail.length)
  expect([...report.keys.keys()]).toEqual(keys)

  const byArena = new Map<string, Array<string>>()
  for (const line of tail) byArena.set(line.arena, [...(byArena.get(line.arena) ?? []), line.kind])
  expect([...byArena.keys()].sort()).toEqual(["research", "trading"])
  const expected = keys.map(() => 0)
  for (const [arena, kinds] of byArena) {
    expect(kinds[0]).toBe("arena.start")
    expect(kinds.at(-1)).toBe("arena.complete")
    expected[Partitions.partitionOf(arena, 3)]! += kinds.length
  }
  expect(keys.map((key) => report.keys.get(key)!.shown)).toEqual(expected)
  expect(expected.filter((n) => n > 0)).toHaveLength(2)

  for (const key of keys) {
    const { groups } = report.keys.get(key)!
    expect({ key, archiver: groups.archiver }).toEqual({ key, archiver: { pending: 0, lag: 0 } })
    // (A member loop a partition key, each holding no more than it may start.)
    expect(groups.auditor!.pending).toBeLessThanOrEqual(2)
  }
  return report.keys
}

/** A raw command on the server that holds its key. */
export type Command = (...args: ReadonlyArray<string | number>) => Effect.Effect<unknown, unknown>

/** `XINFO GROUPS` of a key: each group's fields. */
const groupsOn = (command: Command, key: string) =>
  Effect.map(command("XINFO", "GROUPS", key), (reply) =>
    (reply as Array<Array<unknown>>).map((fields) => {
      const map = new Map<string, unknown>()
      for (let i = 0; i + 1 < fields.length; i += 2) map.set(String(fields[i]), fields[i + 1])
      return map
    })
  )

/**
 * What a partitioned demo left on Redis, against its report: each key's length is what the tail
 * showed of it; both groups are on each key, as the report says (pending, and the archiver's lag).
 */
export const checkOnRedis = (command: Command, reported: ReadonlyMap<string, KeyReport>) =>
  Effect.forEach(reported, ([key, report]) =>
    Effect.gen(function* () {
      expect({ key, length: Number(yield* command("XLEN", key)) }).toEqual({ key, length: report.shown })
      const groups = yield* groupsOn(command, key)
      expect(groups.map((g) => g.get("name")).sort()).toEqual(["archiver", "auditor"])
      for (const group of groups) {
        const name = String(group.get("name"))
        expect({ key, name, pending: Number(group.get("pending")) }).toEqual({
          key,
          name,
          pending: report.groups[name]!.pending
        })
      }
      const archiver = groups.find((g) => g.get("name") === "archiver")!
      expect({
        key,
        lag: Number(archiver.get("lag")),
        read: Number(archiver.get("entries-read") ?? 0)
      }).toEqual({
        key,
        lag: 0,
        read: report.shown
      })
    })
  )
