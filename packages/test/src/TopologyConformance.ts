/**
 * The conformance suites' environments on real Redis topologies: a Cluster (`RedisTestCluster`, 3
 * masters and 3 replicas) and a master watched by Sentinel (`RedisTestSentinel`). One layer offers
 * what the stream, group and consumer suites need: the ports that `backend` builds for the topology's
 * URL, the raw operations (sent to the node that owns the key), and the members' own ports.
 *
 * @example
 * ```ts
 * import { Conformance, TopologyConformance } from "@maf/events-test"
 * import { RedisGroupBackend, RedisStreamBackend } from "@maf/events-redis"
 * import * as Layer from "effect/Layer"
 *
 * Conformance.conformance(
 *   "the conformance suite on a Redis Cluster",
 *   TopologyConformance.layerCluster((url, clientName) =>
 *     Layer.merge(
 *       RedisStreamBackend.layer({ url, cluster: true, clientName }),
 *       RedisGroupBackend.layer({ url, cluster: true, clientName })
 *     )
 *   )
 * )
 * ```
 *
 * @since 0.3.0
 */
import type { GroupBackend, StreamBackend } from "@maf/events"
import { GroupBackend as GroupBackendTag } from "@maf/events"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Conformance from "./Conformance.js"
import * as ConsumerConformance from "./ConsumerConformance.js"
import * as GroupConformance from "./GroupConformance.js"
import * as RedisTestCluster from "./RedisTestCluster.js"
import * as RedisTestSentinel from "./RedisTestSentinel.js"
import type { RedisTestServerError } from "./RedisTestServer.js"

/**
 * The ports a suite runs on, built for a topology's URL; `clientName` names a consumer-group member's
 * own connections (`undefined` for the suite's shared ports).
 *
 * @since 0.3.0
 * @category models
 */
export type Backend<E> = (
  url: string,
  clientName: string | undefined
) => Layer.Layer<StreamBackend.StreamBackend | GroupBackend.GroupBackend, E>

/**
 * What the three suites need (their `Environment`s).
 *
 * @since 0.3.0
 * @category models
 */
export type Environment =
  | Conformance.Environment
  | GroupConformance.Environment
  | ConsumerConformance.Environment

/** A raw command sent where the key lives. */
type KeyedCommand = (
  key: string,
  ...args: ReadonlyArray<string | number>
) => Effect.Effect<unknown, RedisTestServerError>

/** The suites' environment over `backend`, its raw operations sent by `command`. */
const environment = <E>(
  url: string,
  backend: Backend<E>,
  command: KeyedCommand
): Layer.Layer<Environment, E> =>
  Layer.mergeAll(
    Layer.succeed(Conformance.RawEntries, {
      append: (stream, fields) => Effect.map(command(stream, "XADD", stream, "*", ...fields), String)
    }),
    Layer.succeed(GroupConformance.GroupRaw, {
      appendFields: (stream, fields) => Effect.map(command(stream, "XADD", stream, "*", ...fields), String),
      deleteEntries: (stream, ids) => Effect.map(command(stream, "XDEL", stream, ...ids), Number),
      trim: (stream, maxlen) => Effect.map(command(stream, "XTRIM", stream, "MAXLEN", maxlen), Number),
      destroyGroup: (stream, group) =>
        Effect.map(command(stream, "XGROUP", "DESTROY", stream, group), (reply) => Number(reply) === 1),
      deleteStream: (stream) => Effect.asVoid(command(stream, "DEL", stream))
    }),
    Layer.succeed(ConsumerConformance.Members, {
      backendOf: (member: string) =>
        Effect.map(Layer.build(backend(url, member)), (context) =>
          Context.get(context, GroupBackendTag.GroupBackend)
        )
    }),
    backend(url, undefined)
  )

/**
 * The suites' environment on a fresh `RedisTestCluster` (stopped with the layer): `backend` is given
 * the URL of one of its nodes; raw operations go to the master of their key's slot.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerCluster = <E>(
  backend: Backend<E>,
  options: RedisTestCluster.Options = {}
): Layer.Layer<Environment | RedisTestCluster.RedisTestCluster, E | RedisTestServerError> =>
  Layer.unwrapEffect(
    Effect.map(RedisTestCluster.RedisTestCluster, (cluster) =>
      environment(cluster.url, backend, (key, ...args) =>
        Effect.flatMap(cluster.masterOf(key), (master) => cluster.command({ port: master.port }, ...args))
      )
    )
  ).pipe(Layer.provideMerge(RedisTestCluster.layer(options)))

/**
 * The suites' environment on a fresh `RedisTestSentinel` (stopped with the layer): `backend` is given
 * its `redis+sentinel://` URL; raw operations go to the current master.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerSentinel = <E>(
  backend: Backend<E>,
  options: RedisTestSentinel.Options = {}
): Layer.Layer<Environment | RedisTestSentinel.RedisTestSentinel, E | RedisTestServerError> =>
  Layer.unwrapEffect(
    Effect.map(RedisTestSentinel.RedisTestSentinel, (sentinel) =>
      environment(sentinel.url, backend, (_key, ...args) => sentinel.command(...args))
    )
  ).pipe(Layer.provideMerge(RedisTestSentinel.layer(options)))
