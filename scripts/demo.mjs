#!/usr/bin/env node
// The demo, from a fresh clone: gets pnpm, installs, builds, then runs `maf-events demo` on the
// embedded in-memory backend (no Redis needed). Extra arguments go to the demo:
//   npm run demo -- --redis-url redis://localhost:6379/0
import { installAndBuild, run } from "./lib/setup.mjs"

installAndBuild()
process.exit(run("node", ["packages/cli/dist/bin.js", "demo", ...process.argv.slice(2)]))
