/**
 * A minimal Server-Sent Events reader over `fetch`, for the dashboard tests.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

export interface Message {
  readonly id: string | undefined
  /** The message's type (`event:`), `undefined` for plain messages. */
  readonly event: string | undefined
  readonly data: string
}

export interface Feed {
  readonly status: number
  /** The next `n` plain messages (comments and typed messages skipped), as `EventSource.onmessage` sees them. */
  readonly take: (n: number) => Effect.Effect<ReadonlyArray<Message>>
  /** The next `n` messages of any type (comments skipped). */
  readonly takeAny: (n: number) => Effect.Effect<ReadonlyArray<Message>>
  readonly close: Effect.Effect<void>
}

const parse = (block: string): Message | undefined => {
  let id: string | undefined
  let event: string | undefined
  const data: Array<string> = []
  for (const line of block.split("\n")) {
    if (line.startsWith("id: ")) id = line.slice(4)
    else if (line.startsWith("event: ")) event = line.slice(7)
    else if (line.startsWith("data: ")) data.push(line.slice(6))
  }
  return data.length === 0 ? undefined : { id, event, data: data.join("\n") }
}

/** Opens a feed; closed (the request aborted) with the scope. */
export const open = (
  url: string,
  headers: Record<string, string> = {}
): Effect.Effect<Feed, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const controller = new AbortController()
      const response = await fetch(url, { headers, signal: controller.signal })
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ""
      const queue: Array<Message> = []
      const next = async (): Promise<Message> => {
        for (;;) {
          const queued = queue.shift()
          if (queued !== undefined) return queued
          const { value, done } = await reader.read()
          if (done) throw new Error("the feed ended")
          buffer += value
          let end = buffer.indexOf("\n\n")
          while (end !== -1) {
            const message = parse(buffer.slice(0, end))
            if (message !== undefined) queue.push(message)
            buffer = buffer.slice(end + 2)
            end = buffer.indexOf("\n\n")
          }
        }
      }
      const feed: Feed = {
        status: response.status,
        take: (n) =>
          Effect.promise(async () => {
            const out: Array<Message> = []
            while (out.length < n) {
              const message = await next()
              if (message.event === undefined) out.push(message)
            }
            return out
          }),
        takeAny: (n) =>
          Effect.promise(async () => {
            const out: Array<Message> = []
            while (out.length < n) out.push(await next())
            return out
          }),
        close: Effect.sync(() => controller.abort())
      }
      return feed
    }),
    (feed) => feed.close
  )
