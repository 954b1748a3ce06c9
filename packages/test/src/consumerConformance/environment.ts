/**
 * What the consumer conformance suite runs on: the backend (its two ports and the raw operations
 * of `GroupConformance.GroupRaw`), a backend of each member's own ({@link Members}: a member is a
 * process of its own, with connections of its own), and, where there is a real server, its
 * {@link Faults}. Built for the in-memory backend by {@link layerMemory}, for a real `redis-server`
 * by {@link layerRedis}.
 *
 * @since 0.2.0
 */
import { GroupBackend, type MemoryStreamBackend, type StreamBackend } from "@maf/events"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { ConformanceError } from "../Conformance.js"
import * as GroupConformance from "../GroupConformance.js"
import * as RedisTestServer from "../RedisTestServer.js"

/**
 * The backend of one member, as a process of its own would have it.
 *
 * @since 0.2.0
 * @category capabilities
 */
export class Members extends Context.Tag("@maf/events-test/ConsumerConformance/Members")<
  Members,
  {
    /**
     * The group port of the member named `member`: on a server, connections of its own named after
     * the member (so that {@link Faults} can kill them), closed with the scope.
     */
    readonly backendOf: (
      member: string
    ) => Effect.Effect<GroupBackend.GroupBackendService, unknown, Scope.Scope>
  }
>() {}

/**
 * The faults of a real server, offered by backends that have one (declared to the suite with
 * `features: { faults: true }`).
 *
 * @since 0.2.0
 * @category capabilities
 */
export class Faults extends Context.Tag("@maf/events-test/ConsumerConformance/Faults")<
  Faults,
  {
    /** Closes every connection of the member named `member` (`CLIENT KILL ID`): how many. */
    readonly killConnections: (member: string) => Effect.Effect<number, unknown>
    /** Stops the server, its data saved, and starts it again. */
    readonly restart: Effect.Effect<void, unknown>
  }
>() {}

/**
 * What a backend offers beyond the contract every backend keeps. A check that needs what the
 * backend lacks is registered as skipped.
 *
 * @since 0.2.0
 * @category models
 */
export interface Features {
  /** {@link Faults} is in the environment. Default `false`. */
  readonly faults?: boolean | undefined
}

/**
 * What every check needs: the backend's two ports, `GroupConformance.GroupRaw`, and {@link Members}.
 *
 * @since 0.2.0
 * @category models
 */
export type Environment = GroupConformance.Environment | Members

/**
 * One check of the consumer's contract, as an effect: it succeeds when the consumer over the
 * backend keeps the contract and fails with a `ConformanceError` saying what broke otherwise.
 * `requires` names the feature the check needs (registered as skipped without it).
 *
 * @since 0.2.0
 * @category models
 */
export interface Check {
  readonly name: string
  readonly requires?: "faults" | undefined
  readonly run: Effect.Effect<void, ConformanceError, Environment>
}

/**
 * The suite's environment on a fresh in-memory backend; every member shares it (there are no
 * connections to kill). It offers no {@link Faults}.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Environment | MemoryStreamBackend.MemoryStreamBackend> = Layer.effect(
  Members,
  Effect.map(GroupBackend.GroupBackend, (groups) => ({ backendOf: () => Effect.succeed(groups) }))
).pipe(Layer.provideMerge(GroupConformance.layerMemory))

/** The ids of the connections named `name`, from a `CLIENT LIST` reply. */
const connectionsNamed = (list: string, name: string): ReadonlyArray<string> =>
  list.split("\n").flatMap((line) => {
    const fields = new Map(
      line
        .trim()
        .split(" ")
        .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)] as const)
    )
    const id = fields.get("id")
    return fields.get("name") === name && id !== undefined ? [id] : []
  })

/**
 * The suite's environment on a real `redis-server` started for it (and stopped with the layer):
 * the ports that `backend` builds for the server's URL (with `clientName` for a member's own, so
 * that its connections can be told apart), the raw operations, and {@link Faults} (register the
 * suite with `features: { faults: true }`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerRedis = <E = never>(
  backend: (
    url: string,
    clientName: string | undefined
  ) => Layer.Layer<StreamBackend.StreamBackend | GroupBackend.GroupBackend, E>,
  options: { readonly server?: RedisTestServer.Options | undefined } = {}
): Layer.Layer<
  Environment | Faults | RedisTestServer.RedisTestServer,
  RedisTestServer.RedisTestServerError | E
> =>
  Layer.mergeAll(
    Layer.effect(
      Members,
      Effect.map(RedisTestServer.RedisTestServer, (server) => ({
        backendOf: (member: string) =>
          Effect.map(Layer.build(backend(server.url, member)), (context) =>
            Context.get(context, GroupBackend.GroupBackend)
          )
      }))
    ),
    Layer.effect(
      Faults,
      Effect.map(RedisTestServer.RedisTestServer, (server) => ({
        killConnections: (member: string) =>
          Effect.flatMap(server.command("CLIENT", "LIST"), (list) =>
            Effect.map(
              Effect.forEach(connectionsNamed(String(list), member), (id) =>
                server.command("CLIENT", "KILL", "ID", id)
              ),
              (killed) => killed.length
            )
          ),
        restart: server.restart
      }))
    )
  ).pipe(Layer.provideMerge(GroupConformance.layerRedis((url) => backend(url, undefined), options)))
