/**
 * Kind globs: `llm.*`, `*.error`, `agent.?tart`. `*` stands for any run of characters (dots
 * included), `?` for one character; everything else is literal. A kind matches a list of globs when
 * it matches any of them; an empty list matches every kind.
 *
 * @since 0.1.0
 */

/**
 * A compiled glob.
 *
 * @since 0.1.0
 * @category models
 */
export interface KindGlob {
  readonly source: string
  readonly test: (kind: string) => boolean
}

const special = /[.+^${}()|[\]\\]/g

/**
 * The regular expression of a glob, anchored at both ends.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toRegExp = (glob: string): RegExp =>
  new RegExp(`^${glob.replace(special, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "s")

/**
 * Compiles a glob.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { KindGlob } from "@maf/events-cli"
 *
 * KindGlob.make("llm.*").test("llm.call") // true
 * KindGlob.make("*.error").test("llm.call") // false
 */
export const make = (glob: string): KindGlob => {
  if (!/[*?]/.test(glob)) return { source: glob, test: (kind) => kind === glob }
  const re = toRegExp(glob)
  return { source: glob, test: (kind) => re.test(kind) }
}

/**
 * A predicate on kinds from a list of globs: true when any glob matches, or when the list is empty.
 * Blank globs are ignored.
 *
 * @since 0.1.0
 * @category constructors
 */
export const matcher = (globs: ReadonlyArray<string>): ((kind: string) => boolean) => {
  const compiled = globs
    .map((g) => g.trim())
    .filter((g) => g !== "")
    .map(make)
  if (compiled.length === 0) return () => true
  return (kind) => compiled.some((g) => g.test(kind))
}
