// The fresh project's runner (copied there by installed.test.ts, compiled with the README's examples):
// a real redis-server from the installed test kit, then the examples, a plain JavaScript reader and
// the installed `maf-events` run against it as separate processes. Prints one JSON report.
import { spawnSync } from "node:child_process"
import { RedisTestServer } from "@maf/events-test"
import { Effect } from "effect"

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

const node = (args: ReadonlyArray<string>, url: string): Run => {
  const run = spawnSync(process.execPath, args, {
    env: { ...process.env, REDIS_URL: url },
    encoding: "utf8",
    timeout: 60_000
  })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

const body = (kind: string, i: number) =>
  JSON.stringify({
    schema_version: "1",
    kind,
    arena: "seeded",
    ts: "2026-05-14T11:22:33.123456+00:00",
    payload: { i }
  })

const program = Effect.gen(function* () {
  const server = yield* RedisTestServer.RedisTestServer
  const publish = node(["dist/publish.js"], server.url)
  // The consuming example reads 100 entries from "0": the 2 published, 97 more and a malformed one.
  for (let i = 0; i < 97; i++)
    yield* server.command("XADD", "maf:events", "*", "data", body("agent.signal", i))
  yield* server.command("XADD", "maf:events", "*", "data", "{not json")
  const consume = node(["dist/consume.js"], server.url)
  const plainJs = node(["src/plain.mjs"], server.url)
  const bin = "node_modules/@maf/events-cli/dist/bin.js"
  const cliPublish = node(
    [bin, "publish", "arena.start", "--arena", "cli", "--stream", "cli:stream"],
    server.url
  )
  const cliTail = node(
    [bin, "tail", "--stream", "cli:stream", "--from", "0", "--limit", "1", "--format", "json"],
    server.url
  )
  return {
    publish,
    consume,
    plainJs,
    cliPublish,
    cliTail,
    length: yield* server.command("XLEN", "maf:events")
  }
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(RedisTestServer.layer()))).then(
  (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
  (error) => {
    process.stderr.write(`runner failed: ${String(error)}\n`)
    process.exit(1)
  }
)
