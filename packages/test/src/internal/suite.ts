/**
 * Registers a conformance suite's checks with `@effect/vitest`: a `describe` block whose environment
 * is built once (on the live clock) and shared by the checks, one test per check, and a check that
 * needs a feature the backend does not offer registered as skipped, saying which (as Watermill's
 * `t.Skipf`), so that it shows in the counts.
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"

/** `@effect/vitest`, loaded only where it can be (see `Conformance`). */
const vitest = await import("@effect/vitest").then(
  (module) => module,
  () => undefined
)

/** A check as the registrar sees it. */
export interface RegisteredCheck<R> {
  readonly name: string
  readonly run: Effect.Effect<void, unknown, R>
  /** The feature it needs, if any. */
  readonly requires?: string | undefined
}

/** Registers `checks` under `name`; `owner` names the caller in the error of a call outside vitest. */
export const register = <R, E>(
  owner: string,
  name: string,
  environment: Layer.Layer<R, E>,
  checks: ReadonlyArray<RegisteredCheck<R>>,
  options: { readonly timeoutMillis: number; readonly offered?: ReadonlySet<string> | undefined }
): void => {
  if (vitest === undefined) {
    throw new Error(`${owner} registers tests: call it in a test file that vitest runs`)
  }
  vitest.layer(environment, { excludeTestServices: true })(name, (it) => {
    for (const check of checks) {
      if (check.requires === undefined || options.offered?.has(check.requires) === true) {
        it.effect(check.name, () => check.run, options.timeoutMillis)
      } else it.effect.skip(`${check.name} (needs ${check.requires})`, () => check.run)
    }
  })
}
