/**
 * Why a TLS handshake with a node fails, asked apart from ioredis: its Sentinel connector keeps only
 * "Connection is closed" of a sentinel's certificate refused (or of a client certificate missing),
 * which says nothing of why.
 *
 * @internal
 */
import * as Tls from "node:tls"
import { oneLine } from "./client.js"

/**
 * The reason a TLS handshake with `node` fails within `millis`, in one line; `undefined` when it
 * succeeds or does not end in time (then the handshake is not the reason).
 */
export const handshakeFailure = (
  node: { readonly host: string; readonly port: number },
  tls: Tls.ConnectionOptions,
  millis: number
): Promise<string | undefined> =>
  new Promise((resolve) => {
    const socket = Tls.connect({ ...tls, host: node.host, port: node.port })
    const done = (why: string | undefined) => {
      socket.destroy()
      resolve(why)
    }
    socket.once("secureConnect", () => done(undefined))
    socket.once("error", (error) => done(oneLine(error)))
    socket.setTimeout(millis, () => done(undefined))
  })
