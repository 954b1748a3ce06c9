/**
 * The API reference (docs/api, made by @effect/docgen from the JSDoc) is what the sources make, and
 * every `@example` of the sources type-checks against the built packages, imports by package name
 * (scripts/docs.mjs --check). A failure says what to run: `pnpm docs`, then commit docs/api.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const script = fileURLToPath(new URL("../../scripts/docs.mjs", import.meta.url))

describe("the API reference", () => {
  it("is up to date with the JSDoc, and every @example type-checks", { timeout: 180_000 }, () => {
    const run = spawnSync(process.execPath, [script, "--check"], { encoding: "utf8" })
    expect(run.stdout + run.stderr).toMatch(/docs\/api is up to date; \d+ @example blocks type-check/)
    expect(run.status).toBe(0)
  })
})
