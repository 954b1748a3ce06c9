// examples/src/testing-tls.test.ts — a TLS-only redis-server with throwaway certificates
import { expect, layer } from "@effect/vitest"
import { RedisTestTls } from "@maf/events-test"
import { Effect, Option } from "effect"

// Mutual TLS: the server asks every client for a certificate signed by the kit's CA.
layer(RedisTestTls.layer({ authClients: "yes" }))("over mutual TLS", (it) => {
  it.effect("gives a client what it needs, and has no plain port", () =>
    Effect.gen(function* () {
      const server = yield* RedisTestTls.RedisTestTls
      // A client's settings: the URL, the CA to trust, its certificate and key (files or PEM text);
      // `wrongCa` is a CA that signed nothing of this server's, for the test that must fail.
      const { ca, clientCert, clientKey } = server.certificates
      expect(server.url).toBe(`rediss://127.0.0.1:${server.port}/0`)
      expect([ca, clientCert, clientKey].every((file) => file.pem.startsWith("-----BEGIN"))).toBe(true)
      expect(server.plainPort).toEqual(Option.none())
      expect(yield* server.command("PING")).toBe("PONG") // the kit's own connection, over TLS
    })
  )
})
