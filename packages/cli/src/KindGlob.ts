/**
 * Kind globs: `llm.*`, `*.error`, `agent.?tart`. `*` stands for any run of characters (dots
 * included), `?` for one character; everything else is literal. A kind matches a list of globs when
 * it matches any of them; an empty list matches every kind.
 *
 * Kinds come from the stream (whoever can publish) and globs from a command line or a query string,
 * so matching never backtracks: {@link wildcardMatch} is iterative, at most kind × glob steps, and a
 * list of globs is bounded ({@link limits}, checked by {@link check}).
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

/**
 * The bounds on what matching may cost: at most `globs` globs in a list, each at most `globLength`
 * characters; a kind longer than `kindLength` characters (no real kind is) is matched only by a glob
 * of stars alone. One entry then costs at most globs × globLength × kindLength steps (2 million).
 *
 * @since 0.1.0
 * @category constants
 */
export const limits = {
  globs: 20,
  globLength: 100,
  kindLength: 1000
} as const

/**
 * Whether `text` matches `glob` (`*` any run, `?` one UTF-16 unit), without backtracking: one pass
 * over the text that remembers only the last `*` seen, so at most text × glob steps and no memory.
 * Self-contained (the dashboard's page runs this very function's source).
 *
 * @since 0.1.0
 * @category matching
 * @example
 * ```ts
 * import { KindGlob } from "@maf/events-cli"
 *
 * KindGlob.wildcardMatch("*a*a*a*a*b", "a".repeat(200)) // false, in 200 × 10 steps at most
 * ```
 */
export const wildcardMatch = (glob: string, text: string): boolean => {
  let g = 0
  let t = 0
  let star = -1
  let resume = 0
  while (t < text.length) {
    const c = g < glob.length ? glob.charCodeAt(g) : -1
    if (c === 42) {
      star = g++
      resume = t
    } else if (c === 63 || (c >= 0 && c === text.charCodeAt(t))) {
      g++
      t++
    } else if (star >= 0) {
      // The last star takes one character more; the glob after it is tried again from there.
      g = star + 1
      t = ++resume
    } else {
      return false
    }
  }
  while (g < glob.length && glob.charCodeAt(g) === 42) g++
  return g === glob.length
}

/**
 * What is wrong with a list of globs for {@link limits}, or `undefined` when nothing is.
 *
 * @since 0.1.0
 * @category validation
 */
export const check = (globs: ReadonlyArray<string>): string | undefined => {
  if (globs.length > limits.globs) return `at most ${limits.globs} kind filters, got ${globs.length}`
  const long = globs.find((glob) => glob.length > limits.globLength)
  return long === undefined
    ? undefined
    : `a kind filter has at most ${limits.globLength} characters, got one of ${long.length}`
}

/**
 * Compiles a glob. Runs of stars are one star; a glob without wildcards compares whole kinds.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { KindGlob } from "@maf/events-cli"
 *
 * KindGlob.make("llm.*").test("llm.call") // true
 * KindGlob.make("*.error").test("llm.call") // false
 * ```
 */
export const make = (glob: string): KindGlob => {
  if (!/[*?]/.test(glob)) return { source: glob, test: (kind) => kind === glob }
  const compact = glob.replace(/\*{2,}/g, "*")
  if (compact === "*") return { source: glob, test: () => true }
  // Characters the kind must have beyond those the stars take: a shorter kind cannot match.
  const fixed = compact.replace(/\*/g, "").length
  return {
    source: glob,
    test: (kind) => kind.length >= fixed && kind.length <= limits.kindLength && wildcardMatch(compact, kind)
  }
}

/**
 * A predicate on kinds from a list of globs: true when any glob matches, or when the list is empty.
 * Blank globs are ignored. The list is expected within {@link limits} (see {@link check}).
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
