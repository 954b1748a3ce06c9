import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as KindGlob from "../src/KindGlob.js"

describe("KindGlob", () => {
  it("matches families, variants and exact kinds", () => {
    expect(KindGlob.make("llm.*").test("llm.call")).toBe(true)
    expect(KindGlob.make("llm.*").test("llm.error")).toBe(true)
    expect(KindGlob.make("llm.*").test("agent.start")).toBe(false)
    expect(KindGlob.make("llm.*").test("llm")).toBe(false)
    expect(KindGlob.make("*.error").test("phase.error")).toBe(true)
    expect(KindGlob.make("*.error").test("phase.errors")).toBe(false)
    expect(KindGlob.make("agent.?tart").test("agent.start")).toBe(true)
    expect(KindGlob.make("arena.start").test("arena.start")).toBe(true)
    expect(KindGlob.make("arena.start").test("arenaXstart")).toBe(false)
    expect(KindGlob.make("*").test("anything.at.all")).toBe(true)
  })

  it("takes regular-expression characters literally", () => {
    expect(KindGlob.make("a+b.(x)").test("a+b.(x)")).toBe(true)
    expect(KindGlob.make("a+b.*").test("aab.x")).toBe(false)
    expect(KindGlob.make("[x]*").test("[x]y")).toBe(true)
    expect(KindGlob.make("$*").test("$x")).toBe(true)
  })

  it("matches any glob of a list; an empty or blank list matches everything", () => {
    const m = KindGlob.matcher(["llm.*", "*.error"])
    expect(["llm.call", "agent.error", "agent.start"].map(m)).toEqual([true, true, false])
    expect(KindGlob.matcher([])("x")).toBe(true)
    expect(KindGlob.matcher(["", "  "])("x")).toBe(true)
  })
})

/** The matcher as it was: a glob made a regular expression (backtracking), the reference for small cases. */
const byRegExp = (glob: string, kind: string) =>
  new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "s"
  ).test(kind)

const millisOf = (f: () => void) => {
  const started = performance.now()
  f()
  return performance.now() - started
}

describe("KindGlob against hostile globs and kinds", () => {
  it("agrees with the regular expression on every small glob and kind", () => {
    fc.assert(
      fc.property(
        fc.stringOf(fc.constantFrom("a", "b", ".", "*", "?"), { maxLength: 8 }),
        fc.stringOf(fc.constantFrom("a", "b", ".", "*", "?"), { maxLength: 12 }),
        (glob, kind) => {
          expect(KindGlob.make(glob).test(kind)).toBe(byRegExp(glob, kind))
          expect(KindGlob.wildcardMatch(glob, kind)).toBe(byRegExp(glob, kind))
        }
      ),
      { numRuns: 5000 }
    )
  })

  it("a star in the kind is a character like any other, not a wildcard", () => {
    expect(KindGlob.make("a*").test("a*")).toBe(true)
    expect(KindGlob.make("a?c").test("a*c")).toBe(true)
    expect(KindGlob.make("a*c").test("*")).toBe(false)
    expect(KindGlob.make("llm.call").test("llm.*")).toBe(false)
  })

  it("backtracking globs against long kinds answer at once (a regular expression took 915 ms for the first)", () => {
    const kind = "a".repeat(200)
    const globs = ["*a*a*a*a*b", "*a*a*a*a*a*a*b", `${"*a".repeat(50)}b`, `*${"a".repeat(98)}?b`]
    for (const glob of globs) {
      expect(millisOf(() => expect(KindGlob.make(glob).test(kind)).toBe(false))).toBeLessThan(50)
    }
    // The whole budget: as many globs as allowed, each as long as allowed, on the longest kind matched.
    const worst = KindGlob.matcher(
      Array.from(
        { length: KindGlob.limits.globs },
        (_, i) => `*${"a".repeat(KindGlob.limits.globLength - 3)}?${i}`
      )
    )
    const longest = "a".repeat(KindGlob.limits.kindLength)
    expect(millisOf(() => expect(worst(longest)).toBe(false))).toBeLessThan(500)
  })

  it("a kind longer than the limit is matched only by a glob of stars alone", () => {
    const long = `llm.${"x".repeat(KindGlob.limits.kindLength)}`
    expect(KindGlob.make("llm.*").test(long)).toBe(false)
    expect(KindGlob.make("*").test(long)).toBe(true)
    expect(KindGlob.make("**").test(long)).toBe(true)
    expect(KindGlob.make("llm.*").test(`llm.${"x".repeat(KindGlob.limits.kindLength - 4)}`)).toBe(true)
  })

  it("check bounds the number and the length of globs", () => {
    const many = Array.from({ length: KindGlob.limits.globs }, () => "llm.*")
    expect(KindGlob.check(many)).toBeUndefined()
    expect(KindGlob.check([...many, "x"])).toBe("at most 20 kind filters, got 21")
    expect(KindGlob.check(["a".repeat(KindGlob.limits.globLength)])).toBeUndefined()
    expect(KindGlob.check(["llm.*", "a".repeat(101)])).toBe(
      "a kind filter has at most 100 characters, got one of 101"
    )
  })
})
