/**
 * A fake sentinel: a TCP server speaking just enough RESP for ioredis' Sentinel connector
 * (`SENTINEL get-master-addr-by-name`, `SENTINEL sentinels`, the failover detector's `SUBSCRIBE`),
 * which names the master the test says, after the delay the test says, and can announce a
 * `+switch-master` to its subscribers when the test says. It stands for sentinels at the moments
 * that are hard to bring about with real ones: one that has not yet heard of a failover (naming the
 * old master, a replica now), or a switch announced while a client is asking for the master.
 * Closed with the scope.
 */
import * as Net from "node:net"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** An address to name. */
export interface Address {
  readonly host: string
  readonly port: number
}

/** What the fake answers; read at each question. */
export interface Script {
  /** The master to name, given how many times it was asked before. */
  readonly master: (asked: number) => Address
  /** Milliseconds before it answers a question for the master (default none). */
  readonly delayMillis?: () => number
}

/** A fake sentinel at `port`. */
export interface FakeSentinel {
  readonly port: number
  /** How many times it was asked for the master. */
  readonly asked: () => number
  /** Announces a `+switch-master` on every subscription. */
  readonly switchMaster: () => void
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

/** A fake sentinel following `script`. */
export const make = (script: Script): Effect.Effect<FakeSentinel, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{
      readonly server: Net.Server
      readonly sockets: Set<Net.Socket>
      readonly fake: FakeSentinel
    }>((resume) => {
      let asked = 0
      const sockets = new Set<Net.Socket>()
      const subscribers = new Set<Net.Socket>()
      const answer = (socket: Net.Socket, args: ReadonlyArray<string>): void => {
        const [name = "", sub = ""] = args.map((a) => a.toLowerCase())
        if (name === "sentinel" && sub === "get-master-addr-by-name") {
          const master = script.master(asked++)
          const reply = `*2\r\n${bulk(master.host)}${bulk(String(master.port))}`
          const delay = script.delayMillis?.() ?? 0
          if (delay > 0) setTimeout(() => socket.write(reply), delay)
          else socket.write(reply)
          return
        }
        if (name === "sentinel") return void socket.write("*0\r\n")
        if (name === "subscribe") {
          subscribers.add(socket)
          return void socket.write(
            args
              .slice(1)
              .map((channel, i) => `*3\r\n${bulk("subscribe")}${bulk(channel)}:${i + 1}\r\n`)
              .join("")
          )
        }
        socket.write(name === "ping" ? "+PONG\r\n" : "+OK\r\n")
      }
      const server = Net.createServer((socket) => {
        sockets.add(socket)
        socket.on("close", () => {
          sockets.delete(socket)
          subscribers.delete(socket)
        })
        socket.on("error", () => {})
        let buffer = ""
        socket.on("data", (chunk) => {
          const { commands, rest } = parse(buffer + chunk.toString("utf8"))
          buffer = rest
          for (const command of commands) answer(socket, command)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as Net.AddressInfo).port
        const message = `*3\r\n${bulk("message")}${bulk("+switch-master")}${bulk("mymaster 127.0.0.1 1 127.0.0.1 2")}`
        resume(
          Effect.succeed({
            server,
            sockets,
            fake: {
              port,
              asked: () => asked,
              switchMaster: () => {
                for (const socket of subscribers) socket.write(message)
              }
            }
          })
        )
      })
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        for (const socket of sockets) socket.destroy()
      })
  ).pipe(Effect.map(({ fake }) => fake))
