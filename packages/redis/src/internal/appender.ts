/**
 * Appending batches on a connection: one entry by `XADD`, a batch by the append script (one round
 * trip, written in order or not at all past the first failure) or by pipelined `XADD`s where the
 * server refuses scripts. An entry given a trace context (`AppendOptions.traceparents`) gets the
 * field `traceparent` after `data` (a batch of such: `tracedAppendScript`).
 *
 * @internal
 */
import { createHash } from "node:crypto"
import { StreamBackend } from "@maf/events"
import * as Effect from "effect/Effect"
import type { AppendMode } from "../RedisStreamBackend.js"
import { appendScript, tracedAppendScript } from "./appendScript.js"
import { FramedCommand } from "./commandFrame.js"
import type { Connection } from "./connection.js"
import { refusesScripts, toBackendError } from "./errors.js"
import * as ReplyShape from "./replyShape.js"

/** The append script's SHA-1, by which `EVALSHA` names it. */
const appendSha = createHash("sha1").update(appendScript).digest("hex")
const tracedAppendSha = createHash("sha1").update(tracedAppendScript).digest("hex")

/** `WAIT replicas timeoutMillis` after each append (see `ConnectionOptions.waitForReplicas`). */
export interface WaitForReplicas {
  readonly replicas: number
  readonly timeoutMillis: number
}

/**
 * The `append` of the port on `connection`, in `mode` (`"auto"` falls back to pipelines by itself).
 * With `wait`, every append is pipelined `XADD`s followed by `WAIT` on the same connection (on a
 * Cluster, the node of the stream's slot), and answers how many replicas acknowledged it.
 */
export const make = (
  connection: Connection,
  initialMode: AppendMode,
  wait?: WaitForReplicas | undefined
): StreamBackend.StreamBackendService["append"] => {
  const client = connection.client
  let mode = initialMode
  const backendError = (error: unknown) => toBackendError(connection.explain(error), [])

  /**
   * A reply of another command (a connection out of step): the append's outcome is unknown (reason
   * `Timeout`), and the connection is checked at once (made anew when out of step).
   */
  const outOfStep = (command: string, reply: unknown) => {
    connection.suspect()
    return ReplyShape.outOfStep(command, reply, "write")
  }

  /** The arguments of an `XADD` of one entry (on a pipeline or the client). */
  const xaddArgs = (
    stream: string,
    body: string,
    trim: string | undefined,
    traceparent: string | undefined
  ): [string, ...Array<string>] => {
    const fields = traceparent === undefined ? ["data", body] : ["data", body, "traceparent", traceparent]
    return trim === undefined ? [stream, "*", ...fields] : [stream, "MAXLEN", "~", trim, "*", ...fields]
  }

  const xadd = (stream: string, body: string, trim: string | undefined): Promise<string | null> =>
    trim === undefined
      ? client.xadd(stream, "*", "data", body)
      : client.xadd(stream, "MAXLEN", "~", trim, "*", "data", body)

  const appendOne = (
    stream: string,
    body: string,
    maxlen: number,
    timeoutMillis: number | undefined,
    traceparent: string | undefined
  ) =>
    Effect.flatMap(
      connection.run(
        () =>
          traceparent === undefined
            ? xadd(stream, body, maxlen > 0 ? String(maxlen) : undefined)
            : client.xadd(...xaddArgs(stream, body, maxlen > 0 ? String(maxlen) : undefined, traceparent)),
        backendError,
        timeoutMillis
      ),
      (id) => (ReplyShape.isStreamId(id) ? Effect.succeed([id]) : Effect.fail(outOfStep("XADD", id)))
    )

  const appendByPipeline = (
    stream: string,
    bodies: ReadonlyArray<string>,
    maxlen: number,
    timeoutMillis: number | undefined,
    traceparents: ReadonlyArray<string | undefined> | undefined
  ) =>
    connection
      .run(
        () => {
          const pipeline = client.pipeline()
          const last = bodies.length - 1
          bodies.forEach((body, i) => {
            const traceparent = traceparents?.[i]
            if (traceparent !== undefined)
              pipeline.xadd(
                ...xaddArgs(stream, body, i === last && maxlen > 0 ? String(maxlen) : undefined, traceparent)
              )
            else if (i === last && maxlen > 0)
              pipeline.xadd(stream, "MAXLEN", "~", String(maxlen), "*", "data", body)
            else pipeline.xadd(stream, "*", "data", body)
          })
          if (wait !== undefined) pipeline.call("WAIT", String(wait.replicas), String(wait.timeoutMillis))
          return pipeline.exec()
        },
        backendError,
        timeoutMillis
      )
      .pipe(
        Effect.flatMap((results) => {
          const ids: Array<string> & { replicas?: number } = []
          const replies = results ?? []
          for (const [error, id] of replies.slice(0, bodies.length)) {
            // (Sent on a ready connection: an entry lost with it may have been written.)
            if (error !== null)
              return Effect.fail(toBackendError(connection.lost(connection.afterFailure(error), true), ids))
            // Not an id: another command's reply, and every reply of the pipeline is in doubt.
            if (!ReplyShape.isStreamId(id)) return Effect.fail(outOfStep("a pipelined XADD", id))
            ids.push(id)
          }
          if (ids.length !== bodies.length)
            return Effect.fail(toBackendError(new Error("the pipeline answered short"), ids))
          if (wait !== undefined) {
            const [error, replicas] = replies[bodies.length] ?? [new Error("no answer to WAIT"), undefined]
            // Written; how far it was replicated is not known (said as none).
            ids.replicas = error === null ? Number(replicas) : 0
          }
          return Effect.succeed(ids)
        })
      )

  /**
   * The append script as a command of our own rather than ioredis' `defineCommand`, so that its
   * arguments (the batch's bodies) can be let go once it is answered (figures:
   * `docs/benchmarks.md`). As ioredis does, the script is sent in full (`EVAL`) the first time on a
   * connection, and by its SHA-1 (`EVALSHA`) after that (on a Cluster, a connection per node: in
   * full again to a node that answers `NOSCRIPT`). It writes its frame itself
   * (see `commandFrame`).
   */
  let scriptSentOn: unknown
  let scriptCalls = 0
  let tracedScriptSentOn: unknown
  const runScript = (
    stream: string,
    maxlen: number,
    token: string,
    bodies: ReadonlyArray<string>,
    traceparents: ReadonlyArray<string | undefined> | undefined
  ) => {
    const on = "stream" in client ? client.stream : client
    const full = (traceparents === undefined ? scriptSentOn : tracedScriptSentOn) !== on
    if (traceparents === undefined) scriptSentOn = on
    else tracedScriptSentOn = on
    const script =
      traceparents === undefined
        ? full
          ? appendScript
          : appendSha
        : full
          ? tracedAppendScript
          : tracedAppendSha
    // A traced batch: each body followed by its trace context, "" for none.
    const args =
      traceparents === undefined ? bodies : bodies.flatMap((body, i) => [body, traceparents[i] ?? ""])
    const command = new FramedCommand(
      full ? "eval" : "evalsha",
      [script, "1", stream, String(maxlen), token, args as Array<string>],
      { replyEncoding: "utf8" }
    )
    return (client.sendCommand(command) as Promise<unknown>).finally(() => {
      command.args.length = 0
    })
  }

  const appendByScript = (
    stream: string,
    bodies: ReadonlyArray<string>,
    maxlen: number,
    timeoutMillis: number | undefined,
    traceparents: ReadonlyArray<string | undefined> | undefined
  ) => {
    // This call's token, which its reply must carry (see `appendScript`).
    const token = String(++scriptCalls)
    return connection
      .run(
        (abandoned) =>
          runScript(stream, maxlen, token, bodies, traceparents).catch((error: unknown) => {
            if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error
            // The server lost the script (`SCRIPT FLUSH`, a node that never had it): sent again in
            // full, unless the caller has given up (it may be sending the batch again itself).
            scriptSentOn = undefined
            tracedScriptSentOn = undefined
            if (abandoned()) throw error
            return runScript(stream, maxlen, token, bodies, traceparents)
          }),
        (error) => error,
        timeoutMillis
      )
      .pipe(
        Effect.flatMap((reply) => {
          // Another command's reply (not a list), or another call's (its token): this batch's
          // outcome is unknown (its own reply went to an earlier command); the connection is checked.
          if (!Array.isArray(reply) || reply[2] !== token)
            return Effect.fail(outOfStep("the append script", reply))
          const [error, joined] = reply
          const ids = typeof joined === "string" && joined !== "" ? joined.split(" ") : []
          return error === "" || error === undefined
            ? Effect.succeed(ids)
            : Effect.fail(
                toBackendError(Object.assign(new Error(String(error)), { name: "ReplyError" }), ids)
              )
        }),
        Effect.catchAll((error) => {
          if (error instanceof StreamBackend.StreamBackendError) return Effect.fail(error)
          if (mode === "auto" && refusesScripts(error)) {
            mode = "pipeline"
            return Effect.logInfo(
              "Redis refuses scripts for this user: appending batches with pipelined XADD from now on"
            ).pipe(Effect.zipRight(appendByPipeline(stream, bodies, maxlen, timeoutMillis, traceparents)))
          }
          return Effect.fail(backendError(error))
        })
      )
  }

  return (stream, bodies, appendOptions) => {
    if (bodies.length === 0) return Effect.succeed([])
    // Trace contexts only where one is given (a batch of untraced events takes the plain script).
    const traceparents = appendOptions.traceparents?.some((t) => t !== undefined)
      ? appendOptions.traceparents
      : undefined
    if (wait !== undefined)
      return appendByPipeline(stream, bodies, appendOptions.maxlen, appendOptions.timeoutMillis, traceparents)
    if (bodies.length === 1)
      return appendOne(
        stream,
        bodies[0]!,
        appendOptions.maxlen,
        appendOptions.timeoutMillis,
        traceparents?.[0]
      )
    return mode === "pipeline"
      ? appendByPipeline(stream, bodies, appendOptions.maxlen, appendOptions.timeoutMillis, traceparents)
      : appendByScript(stream, bodies, appendOptions.maxlen, appendOptions.timeoutMillis, traceparents)
  }
}
