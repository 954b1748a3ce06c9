import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the sources, not the build output.
    alias: [
      { find: /^@maf\/events$/, replacement: src("core") },
      { find: /^@maf\/events-redis$/, replacement: src("redis") },
      { find: /^@maf\/events-test$/, replacement: src("test") }
    ]
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/src/**/*.test.ts", "examples/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default"]
  }
})
