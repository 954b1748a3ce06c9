/**
 * The connection options from the environment, for every `layerConfig`: what the code gave wins,
 * the rest comes from `REDIS_URL`, `REDIS_CLUSTER`, `REDIS_CLUSTER_NODES`, `REDIS_TLS_CA`,
 * `REDIS_TLS_CERT`, `REDIS_TLS_KEY`, `REDIS_TLS_SERVERNAME`, `REDIS_WAIT_REPLICAS` and
 * `REDIS_WAIT_TIMEOUT` (the TLS variables name PEM files, read when the layer is built).
 *
 * @internal
 */
import * as Fs from "node:fs"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { ConnectionOptions, TlsOptions } from "../RedisStreamBackend.js"
import { defaultUrl } from "./topology.js"

/** The URL from `REDIS_URL`, else the default, as a `Redacted`. */
export const urlConfig: Config.Config<Redacted.Redacted<string>> = Config.redacted("REDIS_URL").pipe(
  Config.withDefault(Redacted.make(defaultUrl))
)

/** A PEM file named by `variable`, read; a file that cannot be read is a `ConfigError` naming both. */
const pemFile = (variable: string): Effect.Effect<Option.Option<string>, ConfigError.ConfigError> =>
  Effect.flatMap(Config.option(Config.string(variable)), (path) =>
    Option.isNone(path)
      ? Effect.succeed(Option.none())
      : Effect.try({
          try: () => Option.some(Fs.readFileSync(path.value, "utf8")),
          catch: (error) =>
            ConfigError.InvalidData(
              [variable],
              `${variable} ${path.value}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`
            )
        })
  )

const tlsConfig: Effect.Effect<TlsOptions | undefined, ConfigError.ConfigError> = Effect.gen(function* () {
  const ca = yield* pemFile("REDIS_TLS_CA")
  const cert = yield* pemFile("REDIS_TLS_CERT")
  const key = yield* pemFile("REDIS_TLS_KEY")
  const servername = yield* Config.option(Config.string("REDIS_TLS_SERVERNAME"))
  if (Option.isSome(cert) !== Option.isSome(key)) {
    return yield* Effect.fail(
      ConfigError.InvalidData(
        ["REDIS_TLS_CERT"],
        "REDIS_TLS_CERT and REDIS_TLS_KEY go together (mutual TLS): set both or neither"
      )
    )
  }
  const tls: TlsOptions = {
    ...(Option.isSome(ca) ? { ca: ca.value } : {}),
    ...(Option.isSome(cert) ? { cert: cert.value } : {}),
    ...(Option.isSome(key) ? { key: Redacted.make(key.value) } : {}),
    ...(Option.isSome(servername) ? { servername: servername.value } : {})
  }
  return Object.keys(tls).length === 0 ? undefined : tls
})

const waitConfig = Effect.gen(function* () {
  const replicas = yield* Config.option(
    Config.integer("REDIS_WAIT_REPLICAS").pipe(
      Config.validate({ message: "REDIS_WAIT_REPLICAS must be 1 or more", validation: (n) => n >= 1 })
    )
  )
  if (Option.isNone(replicas)) return undefined
  const timeout = yield* Config.duration("REDIS_WAIT_TIMEOUT").pipe(Config.withDefault(Duration.millis(500)))
  return { replicas: replicas.value, timeout }
})

/** `given` completed from the environment (see the module's comment). */
export const connectionConfig = <A extends ConnectionOptions>(
  given: A
): Effect.Effect<A & ConnectionOptions, ConfigError.ConfigError> =>
  Effect.gen(function* () {
    const url = given.url ?? (yield* urlConfig)
    const cluster = given.cluster ?? (yield* Config.boolean("REDIS_CLUSTER").pipe(Config.withDefault(false)))
    const clusterNodes =
      given.clusterNodes ??
      (yield* Config.array(Config.string(), "REDIS_CLUSTER_NODES").pipe(Config.withDefault([])))
    const tls = given.tls ?? (yield* tlsConfig)
    const waitForReplicas = given.waitForReplicas ?? (yield* waitConfig)
    return {
      ...given,
      url,
      ...(cluster ? { cluster } : {}),
      ...(clusterNodes.length > 0 ? { clusterNodes } : {}),
      ...(tls !== undefined ? { tls } : {}),
      ...(waitForReplicas !== undefined ? { waitForReplicas } : {})
    }
  })
