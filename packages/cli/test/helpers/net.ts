/**
 * A free TCP port on loopback (nothing listens there once it is answered), for a server that is down.
 */
import * as Net from "node:net"
import * as Effect from "effect/Effect"

export const freePort = Effect.async<number>((resume) => {
  const probe = Net.createServer()
  probe.listen(0, "127.0.0.1", () => {
    const address = probe.address() as Net.AddressInfo
    probe.close(() => resume(Effect.succeed(address.port)))
  })
})
