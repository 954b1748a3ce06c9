/**
 * README.md's TypeScript examples are quoted from the tests of this directory and of
 * packages/redis/test (those that use the Redis layers: the test kit does not depend on them), so that
 * they compile (the test build type-checks them) and run. Quoted word for word, that is: the formatter lays the
 * code of a README out anew (a quoted block loses its indentation), so whitespace is not compared.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"

const here = Path.dirname(new URL(import.meta.url).pathname)
const readme = Fs.readFileSync(Path.join(here, "..", "README.md"), "utf8")
const words = (code: string) => code.replace(/\s+/g, "")
const redisTests = Path.join(here, "..", "..", "redis", "test")
const tests = [here, redisTests].flatMap((dir) =>
  Fs.readdirSync(dir)
    .filter((file) => file.endsWith(".test.ts") && file !== "readme.test.ts")
    .map((file) => words(Fs.readFileSync(Path.join(dir, file), "utf8")))
)
const snippets = Array.from(readme.matchAll(/```ts\n([\s\S]*?)```/g), (match) => match[1]!)

describe("README.md", () => {
  it("has TypeScript examples", () => {
    expect(snippets.length).toBeGreaterThan(5)
  })

  it.each(snippets.map((snippet) => [snippet.split("\n")[0], snippet]))(
    "quotes %s… word for word from a test",
    (_, snippet) => {
      expect(tests.some((test) => test.includes(words(snippet!)))).toBe(true)
    }
  )
})
