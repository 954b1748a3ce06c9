#!/usr/bin/env node
// Every TypeScript snippet of the README is a file of examples/src, word for word: the build
// type-checks those files, so the README's code compiles. A snippet starts with a comment naming its
// file (`// examples/src/publish.ts — …`); this check fails when a snippet and its file differ.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { root } from "./lib/setup.mjs"

const readme = readFileSync(join(root, "README.md"), "utf8")
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
const problems = []
for (const block of blocks) {
  const named = /^\/\/ (examples\/src\/[\w.-]+\.ts)/.exec(block)
  if (named === null) {
    problems.push(`a ts snippet does not start with "// examples/src/<file>.ts":\n${block.split("\n")[0]}`)
    continue
  }
  let file
  try {
    file = readFileSync(join(root, named[1]), "utf8")
  } catch {
    problems.push(`${named[1]} (named by a README snippet) does not exist`)
    continue
  }
  if (file !== block) problems.push(`the README's snippet of ${named[1]} differs from the file`)
}
if (problems.length > 0) {
  for (const p of problems) process.stdout.write(`README: ${p}\n`)
  process.exit(1)
}
process.stdout.write(
  `README: ${blocks.length} TypeScript snippets match their type-checked files in examples/src\n`
)
