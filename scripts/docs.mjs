#!/usr/bin/env node
// The API reference, generated from the JSDoc of each package's public modules by @effect/docgen (as
// Effect's own packages make theirs) into docs/api/<package>/, and every `@example` of the sources
// type-checked as a user's file would be: imports by package name, against the built packages, with
// the workspace's strict compiler options.
//
// Usage: pnpm run docs        regenerate docs/api and check the examples
//        pnpm run docs --check check that docs/api is what the sources make, and the examples (CI)
// Needs a build first (`pnpm build`): the examples are checked against the packages' dist/.
import { spawnSync } from "node:child_process"
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { dirname, join, relative } from "node:path"
import { root } from "./lib/setup.mjs"

/** The documented packages: their folder, the modules left out of the reference. */
export const packages = [
  { dir: "core", exclude: ["src/internal/**/*.ts"] },
  { dir: "redis", exclude: ["src/internal/**/*.ts"] },
  { dir: "test", exclude: ["src/internal/**/*.ts"] },
  { dir: "cli", exclude: ["src/internal/**/*.ts", "src/bin.ts"] }
]

const check = process.argv.includes("--check")
const apiDir = join(root, "docs", "api")
const problems = []
const say = (line) => process.stdout.write(`[docs] ${line}\n`)

// The compiler options docgen parses the sources with (signatures are printed from them).
const parseCompilerOptions = {
  noEmit: true,
  strict: true,
  exactOptionalPropertyTypes: true,
  skipLibCheck: true,
  module: "NodeNext",
  moduleResolution: "NodeNext",
  target: "ES2022",
  lib: ["ES2022", "DOM"],
  types: ["node"]
}

/** Every file under `dir`, relative to it, sorted. */
const filesOf = (dir) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
        .sort()
    : []

/**
 * Runs docgen for one package in a staging folder inside the package (so that the sources' imports
 * resolve through its node_modules), with `src` linked in; returns the folder docgen wrote.
 */
const generate = ({ dir, exclude }) => {
  const pkgDir = join(root, "packages", dir)
  const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"))
  const stage = join(pkgDir, "build", "docgen")
  rmSync(stage, { recursive: true, force: true })
  mkdirSync(stage, { recursive: true })
  symlinkSync(join(pkgDir, "src"), join(stage, "src"), "dir")
  // docgen wants a homepage: the repository's README, relative to the generated pages.
  writeFileSync(
    join(stage, "package.json"),
    JSON.stringify({ name: manifest.name, homepage: "../../../README.md" })
  )
  writeFileSync(
    join(stage, "docgen.json"),
    JSON.stringify({ exclude, outDir: "out", enableSearch: false, parseCompilerOptions })
  )
  // Examples are checked below, against the built packages: docgen's own run of them (tsc, then tsx
  // executing each) is off, since they start servers and tests.
  const run = spawnSync(join(root, "node_modules", ".bin", "docgen"), [], {
    cwd: stage,
    encoding: "utf8",
    env: { ...process.env, DOCGEN_RUN_EXAMPLES: "false", NO_COLOR: "1" }
  })
  if (run.status !== 0) {
    problems.push(`docgen failed for packages/${dir}:\n${run.stdout}${run.stderr}`)
    return undefined
  }
  // The module pages only: docgen's Jekyll scaffolding (a home page, a site config) is not used.
  rmSync(join(stage, "out", "modules", "index.md"), { force: true })
  return join(stage, "out", "modules")
}

/** Compares a generated folder with the committed one; records what differs. */
const compare = (generated, committed, name) => {
  const want = filesOf(generated)
  const have = filesOf(committed)
  const differ = [
    ...want.filter((f) => !have.includes(f)).map((f) => `missing ${f}`),
    ...have.filter((f) => !want.includes(f)).map((f) => `extra ${f}`),
    ...want
      .filter((f) => have.includes(f))
      .filter((f) => readFileSync(join(generated, f), "utf8") !== readFileSync(join(committed, f), "utf8"))
      .map((f) => `outdated ${f}`)
  ]
  if (differ.length > 0) {
    problems.push(
      `docs/api/${name} is not what the JSDoc of packages/${name} makes (run \`pnpm run docs\` and commit it):\n  ${differ.join("\n  ")}`
    )
  }
}

// ---------------------------------------------------------------------------------------------------
// examples: every `@example` of every source file, as a file of its own, type-checked at once
// ---------------------------------------------------------------------------------------------------

/** The `@example` blocks of a source text, each with the line it starts on. */
export const examplesOf = (text) => {
  const found = []
  for (const block of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const startLine = text.slice(0, block.index).split("\n").length
    const lines = block[0]
      .replace(/^\/\*\*/, "")
      .replace(/\*\/$/, "")
      .split("\n")
      .map((line) => line.replace(/^\s*\* ?/, ""))
    for (let i = 0; i < lines.length; i++) {
      if (!/^@example\b/.test(lines[i])) continue
      const body = []
      let j = i + 1
      for (; j < lines.length && !/^@\w/.test(lines[j]); j++) body.push(lines[j])
      const code = body
        .join("\n")
        .trim()
        .replace(/^```(?:ts|typescript)?\n/, "")
        .replace(/\n```$/, "")
      found.push({ line: startLine + i, code })
      i = j - 1
    }
  }
  return found
}

const checkExamples = () => {
  const out = join(root, "examples", "build", "jsdoc")
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  const origins = new Map()
  for (const { dir } of packages) {
    const src = join(root, "packages", dir, "src")
    for (const file of filesOf(src).filter((f) => f.endsWith(".ts"))) {
      const examples = examplesOf(readFileSync(join(src, file), "utf8"))
      examples.forEach(({ line, code }, n) => {
        const name = `${dir}-${file.replace(/[/.]/g, "_")}-${n}.ts`
        origins.set(name, `packages/${dir}/src/${file}:${line}`)
        // `export {}`: each example is a module of its own, whatever it declares.
        writeFileSync(join(out, name), `${code}\n\nexport {}\n`)
      })
    }
  }
  writeFileSync(
    join(out, "tsconfig.json"),
    JSON.stringify({
      extends: "../../../tsconfig.base.json",
      compilerOptions: {
        noEmit: true,
        composite: false,
        incremental: false,
        declaration: false,
        declarationMap: false,
        sourceMap: false,
        noUnusedLocals: false,
        noUnusedParameters: false,
        lib: ["ES2022", "DOM"],
        types: ["node"]
      },
      include: ["*.ts"]
    })
  )
  const tscBin = join(root, "node_modules", "typescript", "bin", "tsc")
  const tsc = spawnSync(process.execPath, [tscBin, "-p", out, "--pretty", "false"], { encoding: "utf8" })
  if (tsc.status !== 0) {
    // Name each failing example by where it is written.
    const report = tsc.stdout.replace(/^(?:\S*\/)?([\w.-]+\.ts)\((\d+),(\d+)\)/gm, (_, name, line) => {
      return `${origins.get(name) ?? name} (example line ${line})`
    })
    problems.push(`@example blocks that do not type-check:\n${report}`)
  }
  return origins.size
}

// ---------------------------------------------------------------------------------------------------

if (!existsSync(join(root, "packages", "cli", "dist", "index.d.ts"))) {
  process.stdout.write("[docs] the packages are not built: run `pnpm build` first\n")
  process.exit(1)
}

const index = [
  "# API reference",
  "",
  "Generated from the JSDoc of each package by `@effect/docgen` (`pnpm run docs`).",
  ""
]
for (const pkg of packages) {
  const generated = generate(pkg)
  if (generated === undefined) continue
  const target = join(apiDir, pkg.dir)
  if (check) compare(generated, target, pkg.dir)
  else {
    rmSync(target, { recursive: true, force: true })
    mkdirSync(dirname(target), { recursive: true })
    cpSync(generated, target, { recursive: true })
  }
  const manifest = JSON.parse(readFileSync(join(root, "packages", pkg.dir, "package.json"), "utf8"))
  const modules = filesOf(generated).filter((f) => f.endsWith(".ts.md"))
  index.push(`## ${manifest.name}`, "", manifest.description, "")
  for (const module of modules) index.push(`- [${module.replace(/\.md$/, "")}](${pkg.dir}/${module})`)
  index.push("")
}
const indexText = index.join("\n")
const indexFile = join(apiDir, "README.md")
if (check) {
  if (!existsSync(indexFile) || readFileSync(indexFile, "utf8") !== indexText)
    problems.push("docs/api/README.md is outdated (run `pnpm run docs` and commit it)")
} else writeFileSync(indexFile, indexText)

const examples = checkExamples()
if (problems.length > 0) {
  for (const p of problems) process.stdout.write(`[docs] ${p}\n`)
  process.exit(1)
}
say(
  `${check ? "docs/api is up to date" : "docs/api written"}; ${examples} @example blocks type-check against the built packages`
)
