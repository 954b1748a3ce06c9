// Mutation testing of the core package (`pnpm mutation`; figures and how often in docs/mutation.md).
// StrykerJS 9.6 with its vitest runner (10.x needs Node 22) runs the suite that covers core
// (vitest.mutation.config.ts) against each mutant of the files below, in a sandbox copy.
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  packageManager: "pnpm",
  testRunner: "vitest",
  // Named, as pnpm does not put the runner beside Stryker's core where it looks by default.
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.mutation.config.ts" },
  mutate: [
    "packages/core/src/internal/publisher.ts",
    "packages/core/src/internal/reader.ts",
    "packages/core/src/internal/failureStreak.ts",
    "packages/core/src/internal/jsonSafe.ts",
    "packages/core/src/WireCodec.ts",
    // The codec's decoding fast path for the canonical kinds.
    "packages/core/src/internal/canonicalBody.ts",
    // The group modules: the consumer and its parts.
    "packages/core/src/internal/consumer*.ts",
    // The partition modules.
    "packages/core/src/Partitions.ts",
    "packages/core/src/internal/partition*.ts"
  ],
  coverageAnalysis: "perTest",
  // A static mutant (module-level code: constants, Schemas, defaults) needs the whole suite run again
  // in a fresh environment, about two minutes each here; they are listed as "Ignored" in the report
  // and counted in docs/mutation.md. `pnpm mutation --ignoreStatic false` runs them too.
  ignoreStatic: true,
  // The machine is shared (two cores): one sandbox at a time, or two.
  concurrency: 2,
  // Results of unchanged mutants (same source, same tests) are taken from the previous run.
  incremental: true,
  incrementalFile: "reports/mutation/stryker-incremental.json",
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  // The sandbox needs only what the suite imports: core, redis (imported by the test kit) and the kit.
  ignorePatterns: [
    "dist",
    "build",
    "coverage",
    ".vitest-results.json",
    "reports",
    "docs",
    "bench",
    "examples",
    "scripts",
    ".changeset",
    ".ci",
    "packages/chaos",
    "packages/cli"
  ],
  timeoutMS: 10000,
  thresholds: { high: 90, low: 80, break: null }
}
