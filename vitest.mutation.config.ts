// The suite the mutation run uses (`pnpm mutation`, see stryker.config.mjs): the core package's own
// tests and the conformance suites on the in-memory backend, the tests that cover core's source.

import { defineConfig } from "vitest/config"
import type { TestSpecification } from "vitest/node"
import { BaseSequencer } from "vitest/node"
import base from "./vitest.config.js"

/**
 * The quickest files first (vitest's own order is the slowest first): a mutant is reported killed
 * at its first failing test, so the unit tests that catch most mutants in milliseconds run before
 * the slow scenarios.
 */
class QuickestFirst extends BaseSequencer {
  override async sort(files: Array<TestSpecification>): Promise<Array<TestSpecification>> {
    return (await super.sort(files)).reverse()
  }
}

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ["packages/core/test/**/*.test.ts", "packages/test/test/*.memory.test.ts"],
    sequence: { sequencer: QuickestFirst }
  }
})
