/**
 * A member's spans, wanted or not for the whole member (its workers have its tracer and span): a
 * settlement (ack, dead letter) in a `settle` span, a handler's run in a `process` span, a child
 * of the producer's when asked to be.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Event from "../Event.js"
import type { Message } from "../EventConsumer.js"
import type { BackendServer } from "../StreamBackend.js"
import * as Tracing from "./tracing.js"

/** The spans of one member. */
export interface Spans<E extends Event.Any> {
  /** Whether spans are wanted (a tracer other than the no-op one). */
  readonly on: boolean
  /** A settlement in a `settle` span (client), when spans are wanted. */
  readonly settling: <A, E2, R>(
    effect: Effect.Effect<A, E2, R>,
    name: string,
    attributes: Record<string, unknown>
  ) => Effect.Effect<A, E2, R>
  /**
   * A handler's run in a `process` span (consumer): made when spans are wanted, or when the span
   * is to be a child of the producer's (the handler then runs in the producer's trace).
   */
  readonly processing: <A, E2, R>(
    message: Message<E>,
    run: Effect.Effect<A, E2, R>
  ) => Effect.Effect<A, E2, R>
}

/** The spans of the member of `group` on `stream` (`server`: the backend's address). */
export const make = <E extends Event.Any>(options: {
  readonly stream: string
  readonly group: string
  readonly server: BackendServer | undefined
  readonly parentOnProducer: boolean
}): Effect.Effect<Spans<E>> =>
  Effect.withFiberRuntime((fiber) => {
    const on = Tracing.spansWanted(fiber)
    const destination = Tracing.destination(options.stream, options.server)
    const groupAttributes = { "messaging.consumer.group.name": options.group }
    const processName = `process ${options.stream}`
    const settleName = `settle ${options.stream}`
    return Effect.succeed<Spans<E>>({
      on,
      settling: (effect, name, attributes) =>
        on
          ? Effect.withSpan(effect, settleName, {
              kind: "client",
              attributes: Tracing.operation(destination, "settle", name, {
                ...groupAttributes,
                ...attributes
              }),
              captureStackTrace: false
            })
          : effect,
      processing: (message, run) => {
        const producer = message._tag === "Gap" ? undefined : message.producerSpan
        const parented = producer !== undefined && options.parentOnProducer
        if (!on && !parented) return run
        return Effect.withSpan(run, processName, {
          kind: "consumer",
          attributes: Tracing.operation(
            destination,
            "process",
            "process",
            message._tag === "Gap"
              ? { ...groupAttributes, "messaging.batch.message_count": message.ids.length }
              : { ...groupAttributes, "messaging.message.id": message.streamId }
          ),
          links: producer === undefined || parented ? [] : [Tracing.linkTo(producer)],
          ...(parented ? { parent: producer } : {}),
          captureStackTrace: false
        })
      }
    })
  })
