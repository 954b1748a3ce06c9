/**
 * The connection options of the commands, from the command line and from the environment, as a user
 * runs them against real servers: mutual TLS with the PEM files (`--tls-*`, `REDIS_TLS_*`), a file
 * that cannot be read named in one line, and a partitioned stream on a real Redis Cluster
 * (`--cluster`, `--partitions`, `REDIS_CLUSTER`, `MAF_EVENTS_PARTITIONS`, `MAF_EVENTS_STREAM`).
 */
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, layer } from "@effect/vitest"
import { Partitions } from "@maf/events"
import { RedisTestCluster, RedisTestTls } from "@maf/events-test"
import * as Effect from "effect/Effect"
import * as Bin from "./helpers/bin.js"
import { eventLines, files } from "./helpers/inputs.js"

const file = files("maf-events-connection-")

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>)

beforeAll(() => Bin.assertBuilt())

describe("TLS", () => {
  layer(RedisTestTls.layer({ authClients: "yes" }), { excludeTestServices: true })(
    "the commands on a redis-server requiring mutual TLS",
    (it) => {
      it.effect(
        "publish with REDIS_TLS_* and tail with --tls-* flags; an unreadable file is one line naming it",
        () =>
          Effect.gen(function* () {
            const server = yield* RedisTestTls.RedisTestTls
            const { ca, clientCert, clientKey } = server.certificates
            const stream = `test:cli-tls:${process.pid}`
            const published = yield* Bin.run(
              ["publish", "--input", file(eventLines(5, { arenas: 2 }).join("\n")), "--stream", stream],
              {
                REDIS_URL: server.url,
                REDIS_TLS_CA: ca.path,
                REDIS_TLS_CERT: clientCert.path,
                REDIS_TLS_KEY: clientKey.path
              }
            )
            expect(published.stderr).toBe("")
            expect(published.code).toBe(0)
            expect(JSON.parse(published.stdout)).toMatchObject({ written: 5, not_written: 0 })
            const tail = yield* Bin.run([
              "tail",
              ...[
                "--redis-url",
                server.url,
                "--stream",
                stream,
                "--from",
                "0",
                "--limit",
                "5",
                "--format",
                "json"
              ],
              ...["--tls-ca", ca.path, "--tls-cert", clientCert.path, "--tls-key", clientKey.path]
            ])
            expect(tail.code).toBe(0)
            expect(jsonLines(tail.stdout).map((line) => (line.payload as { i: number }).i)).toEqual([
              0, 1, 2, 3, 4
            ])

            const missing = join(tmpdir(), `maf-events-no-such-key-${process.pid}.pem`)
            const unreadable = yield* Bin.run(
              ["tail", "--redis-url", server.url, "--tls-cert", clientCert.path],
              {
                REDIS_TLS_KEY: missing
              }
            )
            expect(unreadable.code).toBe(2)
            expect(unreadable.stderr).toBe(
              `maf-events: --tls-key (REDIS_TLS_KEY) ${missing}: cannot be read (no such file)\n`
            )
            const alone = yield* Bin.run(["tail", "--redis-url", server.url, "--tls-cert", clientCert.path])
            expect(alone.code).toBe(2)
            expect(alone.stderr).toBe(
              "maf-events: --tls-cert and --tls-key go together (mutual TLS): give both or neither\n"
            )
          })
      )
    }
  )
})

describe("Cluster", () => {
  layer(RedisTestCluster.layer({ replicasPerMaster: 0 }), { excludeTestServices: true })(
    "the commands on a real Redis Cluster with a partitioned stream",
    (it) => {
      it.effect(
        "publish --input with REDIS_CLUSTER and MAF_EVENTS_PARTITIONS; tail --cluster --partitions reads every partition, each arena in order; consume and group info on every partition",
        () =>
          Effect.gen(function* () {
            const cluster = yield* RedisTestCluster.RedisTestCluster
            const stream = `test:cli-cluster:${process.pid}`
            const n = 600
            const published = yield* Bin.run(
              ["publish", "--input", file(eventLines(n, { arenas: 6 }).join("\n"))],
              {
                REDIS_URL: cluster.url,
                REDIS_CLUSTER: "true",
                MAF_EVENTS_PARTITIONS: "3",
                MAF_EVENTS_STREAM: stream
              }
            )
            expect(published.stderr).toBe("")
            expect(published.code).toBe(0)
            expect(JSON.parse(published.stdout)).toMatchObject({ written: n, not_written: 0 })
            // The three partition keys, on three different masters, hold every event.
            const keys = Partitions.keys(stream, 3)
            const masters = new Set<number>()
            let total = 0
            for (const key of keys) {
              const master = yield* cluster.masterOf(key)
              masters.add(master.port)
              total += Number(yield* cluster.command({ port: master.port }, "XLEN", key))
            }
            expect(masters.size).toBe(3)
            expect(total).toBe(n)

            const tail = yield* Bin.run([
              "tail",
              ...["--redis-url", cluster.url, "--cluster", "--partitions", "3", "--stream", stream],
              ...["--from", "0", "--limit", String(n), "--format", "json"]
            ])
            expect(tail.code).toBe(0)
            const read = jsonLines(tail.stdout)
            expect(read).toHaveLength(n)
            const byArena = new Map<string, Array<number>>()
            for (const line of read) {
              const arena = String(line.arena)
              byArena.set(arena, [...(byArena.get(arena) ?? []), (line.payload as { i: number }).i])
            }
            expect(byArena.size).toBe(6)
            for (const [arena, is] of byArena) {
              const k = Number(arena.slice("arena-".length))
              expect(is).toEqual(Array.from({ length: n / 6 }, (_, j) => k + 6 * j))
            }

            // A member of a group on every partition, then the group on each partition's key.
            const env = { REDIS_URL: cluster.url, REDIS_CLUSTER: "true", MAF_EVENTS_PARTITIONS: "3" }
            const consume = yield* Bin.run(
              [
                "consume",
                "--stream",
                stream,
                "--group",
                "g",
                "--from",
                "0",
                "--limit",
                String(n),
                "--format",
                "json"
              ],
              env
            )
            expect(consume.code).toBe(0)
            const handled = jsonLines(consume.stdout)
            expect(new Set(handled.map((line) => (line.payload as { i: number }).i)).size).toBe(n)
            const info = yield* Bin.run(
              ["group", "info", "--stream", stream, "--group", "g", "--format", "json"],
              env
            )
            expect(info.code).toBe(0)
            // The group on each partition key, then merged over them.
            expect(
              jsonLines(info.stdout).map(({ stream, group, pending }) => ({ stream, group, pending }))
            ).toEqual([...keys, stream].map((key) => ({ stream: key, group: "g", pending: 0 })))
            expect(jsonLines(info.stdout).at(-1)?.partitions).toBe(3)
          })
      )
    }
  )
})
