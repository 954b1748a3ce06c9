/**
 * The bus's integer options, checked when the layer is built: each refused below its minimum or when
 * not a safe integer, as a defect naming the option, the minimum and the value; each accepted at its
 * minimum.
 */
import { describe, expect, it } from "@effect/vitest"
import { EventBus, MemoryStreamBackend } from "@maf/events"
import * as Effect from "effect/Effect"

const build = (options: EventBus.Options) =>
  Effect.exit(Effect.scoped(EventBus.make(options).pipe(Effect.provide(MemoryStreamBackend.layer))))

const refusals: ReadonlyArray<readonly [EventBus.Options, string]> = [
  [{ maxlen: -1 }, "maxlen must be an integer >= 0, got -1"],
  [{ maxlen: 1.5 }, "maxlen must be an integer >= 0, got 1.5"],
  [{ bufferCapacity: 0 }, "bufferCapacity must be an integer >= 1, got 0"],
  [{ bufferCapacity: 2 ** 53 }, `bufferCapacity must be an integer >= 1, got ${2 ** 53}`],
  [{ batchSize: 0 }, "batchSize must be an integer >= 1, got 0"],
  [{ batchSize: Number.NaN }, "batchSize must be an integer >= 1, got NaN"]
]

describe("EventBus integer options", () => {
  for (const [options, message] of refusals) {
    it.effect(`refuses ${JSON.stringify(options) ?? String(options)}: ${message}`, () =>
      Effect.gen(function* () {
        const exit = yield* build(options)
        expect(exit._tag).toBe("Failure")
        expect(String(exit._tag === "Failure" ? exit.cause : "")).toContain(`EventBus option ${message}`)
      })
    )
  }

  it.effect("accepts each at its minimum: maxlen 0, bufferCapacity 1, batchSize 1", () =>
    Effect.gen(function* () {
      const exit = yield* build({ maxlen: 0, bufferCapacity: 1, batchSize: 1 })
      expect(exit._tag).toBe("Success")
    })
  )
})
