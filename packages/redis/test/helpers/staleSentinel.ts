/**
 * A sentinel that names a stale master: a TCP server speaking just enough RESP for ioredis' Sentinel
 * connector (`SENTINEL get-master-addr-by-name`, `SENTINEL sentinels`, the failover detector's
 * `SUBSCRIBE`), which answers `stale` to the first question for the master and `current` to the
 * others. It stands for a sentinel that has not yet heard of a failover: the client it leads to the
 * old master, now a replica, must find its way to the new one. Closed with the scope.
 */
import * as Net from "node:net"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** An address to name. */
export interface Address {
  readonly host: string
  readonly port: number
}

const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`

/** The commands (arrays of bulk strings) whole in `buffer`, and what is left of it. */
const parse = (buffer: string): { readonly commands: Array<Array<string>>; readonly rest: string } => {
  const commands: Array<Array<string>> = []
  let at = 0
  for (;;) {
    if (buffer[at] !== "*") break
    const header = buffer.indexOf("\r\n", at)
    if (header < 0) break
    const count = Number(buffer.slice(at + 1, header))
    let cursor = header + 2
    const args: Array<string> = []
    for (let i = 0; i < count; i++) {
      const end = buffer.indexOf("\r\n", cursor)
      if (end < 0 || buffer[cursor] !== "$") return { commands, rest: buffer.slice(at) }
      const length = Number(buffer.slice(cursor + 1, end))
      if (buffer.length < end + 2 + length + 2) return { commands, rest: buffer.slice(at) }
      args.push(buffer.slice(end + 2, end + 2 + length))
      cursor = end + 2 + length + 2
    }
    commands.push(args)
    at = cursor
  }
  return { commands, rest: buffer.slice(at) }
}

const sockets = new Set<Net.Socket>()

/** The stale sentinel's port, and how many times it was asked for the master. */
export const make = (
  stale: Address,
  current: Address
): Effect.Effect<{ readonly port: number; readonly asked: () => number }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Net.Server; readonly port: number; readonly asked: () => number }>(
      (resume) => {
        let asked = 0
        const answer = (args: ReadonlyArray<string>): string => {
          const [name = "", sub = ""] = args.map((a) => a.toLowerCase())
          if (name === "sentinel" && sub === "get-master-addr-by-name") {
            const master = asked++ === 0 ? stale : current
            return `*2\r\n${bulk(master.host)}${bulk(String(master.port))}`
          }
          if (name === "sentinel") return "*0\r\n"
          if (name === "subscribe")
            return args
              .slice(1)
              .map((channel, i) => `*3\r\n${bulk("subscribe")}${bulk(channel)}:${i + 1}\r\n`)
              .join("")
          if (name === "ping") return "+PONG\r\n"
          return "+OK\r\n"
        }
        const server = Net.createServer((socket) => {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
          let buffer = ""
          socket.on("error", () => {})
          socket.on("data", (chunk) => {
            const { commands, rest } = parse(buffer + chunk.toString("utf8"))
            buffer = rest
            for (const command of commands) socket.write(answer(command))
          })
        })
        server.listen(0, "127.0.0.1", () =>
          resume(
            Effect.succeed({
              server,
              port: (server.address() as Net.AddressInfo).port,
              asked: () => asked
            })
          )
        )
      }
    ),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        for (const socket of sockets) socket.destroy()
      })
  ).pipe(Effect.map(({ port, asked }) => ({ port, asked })))
