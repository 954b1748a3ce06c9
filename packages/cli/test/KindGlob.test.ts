import { describe, expect, it } from "@effect/vitest"
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
