/**
 * What a user installs works, not only what the workspace builds. Every package is packed
 * (`pnpm pack`), and the tarballs are installed with npm into a fresh project outside the workspace;
 * there the README's publishing and consuming examples are type-checked (strict, NodeNext, the
 * packages' declarations checked too) and run against a real redis-server started by the installed
 * test kit, with a plain JavaScript reader and the installed `maf-events`.
 *
 * Offline first: the third-party packages (effect, ioredis, … and what they need) are taken from the
 * workspace's own installed copies, packed as tarballs, and npm installs with `--offline`; only where
 * that fails does it install again from the registry. `effect` is given as a patch the workspace does
 * not use (its 3.22.4 relabelled 3.22.99): every package takes it as a peer, so there is one copy.
 */
import { spawnSync } from "node:child_process"
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync
} from "node:fs"
import * as Os from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../..", import.meta.url))
const here = fileURLToPath(new URL("./installed", import.meta.url))
const ours = ["core", "redis", "test", "cli"] as const
/** The patch of `effect` the fresh project gets. */
const effectPatch = "3.22.99"

interface Manifest {
  readonly name: string
  readonly version: string
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
}

const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))

/** A command's run, output kept; throws with the output when it fails. */
const run = (
  command: string,
  args: ReadonlyArray<string>,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env
) => {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 120_000 })
  return {
    ok: result.status === 0,
    output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ?? ""}`
  }
}
const mustRun = (command: string, args: ReadonlyArray<string>, cwd: string, env?: NodeJS.ProcessEnv) => {
  const result = run(command, args, cwd, env)
  if (!result.ok) throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${result.output}`)
  return result.output
}

/** The environment of a child npm: none of the npm_* variables of the package manager running us. */
const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)))

/** pnpm, as the workspace pins it: the one on the PATH, else through npx. */
const pnpm = (): [string, Array<string>] =>
  run("pnpm", ["--version"], root).ok ? ["pnpm", []] : ["npx", ["--yes", "pnpm@12.4.2"]]

/** Where `name` resolves from `from` (a package folder), as Node looks it up; its real path. */
const resolveFrom = (from: string, name: string): string | undefined => {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name)
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate)
    if (dirname(dir) === dir) return undefined
  }
}

/**
 * The third-party packages the installed ones need, as the workspace has them: the required peers of
 * ours (and @types/node, to type-check), and everything they depend on, required peers included.
 */
const closure = (): Map<string, string> => {
  const found = new Map<string, string>()
  const visit = (dir: string) => {
    const manifest = readManifest(dir)
    if (found.has(manifest.name)) return
    found.set(manifest.name, dir)
    for (const name of requiredOf(manifest)) {
      const dep = resolveFrom(dir, name)
      if (dep === undefined)
        throw new Error(`${name} (needed by ${manifest.name}) is not installed in the workspace`)
      visit(dep)
    }
  }
  const requiredOf = (m: Manifest) => [
    ...Object.keys(m.dependencies ?? {}),
    ...Object.keys(m.peerDependencies ?? {}).filter(
      (name) => m.peerDependenciesMeta?.[name]?.optional !== true
    )
  ]
  for (const pkg of ours) {
    const dir = join(root, "packages", pkg)
    for (const name of requiredOf(readManifest(dir)).filter((n) => !n.startsWith("@maf/"))) {
      visit(resolveFrom(dir, name)!)
    }
  }
  visit(resolveFrom(join(root, "packages", "core"), "@types/node")!)
  return found
}

/** An npm tarball of a package folder (its files under `package/`). */
const tarball = (dir: string, file: string) =>
  mustRun("tar", ["-czf", file, "--hard-dereference", "-C", dir, "--transform", "s,^\\.,package,", "."], dir)

let work: string
let project: string
let packed: Record<string, Manifest>
let installMode: "offline" | "registry"
let installLog = ""

beforeAll(() => {
  work = mkdtempSync(join(Os.tmpdir(), "maf-installed-"))
  project = join(work, "project")
  mkdirSync(project)
}, 10_000)

afterAll(() => {
  if (work !== undefined && process.env.MAF_KEEP_INSTALLED === undefined)
    rmSync(work, { recursive: true, force: true })
})

describe("the packages as users install them", { timeout: 180_000 }, () => {
  it("packs every package; effect and its ecosystem are peers with ranges, no workspace: left", () => {
    const out = join(work, "packed")
    const [command, prefix] = pnpm()
    packed = {}
    for (const pkg of ours) {
      mustRun(command, [...prefix, "pack", "--pack-destination", out], join(root, "packages", pkg))
    }
    for (const file of readdirSync(out)) {
      const list = mustRun("tar", ["-xzf", join(out, file), "-O", "package/package.json"], out)
      const manifest: Manifest = JSON.parse(list)
      packed[file] = manifest
      expect(JSON.stringify(manifest)).not.toContain("workspace:")
      // No package pins effect (nor any Effect package): a user's copy is the only one.
      for (const name of Object.keys(manifest.dependencies ?? {}))
        expect(name).not.toMatch(/^(effect$|@effect\/)/)
      expect(manifest.peerDependencies?.effect).toBe("^3.22.0")
    }
    expect(
      Object.values(packed)
        .map((m) => m.name)
        .sort()
    ).toEqual(["@maf/events", "@maf/events-cli", "@maf/events-redis", "@maf/events-test"])
    const redis = Object.values(packed).find((m) => m.name === "@maf/events-redis")!
    expect(redis.peerDependencies).toMatchObject({ ioredis: "^5.11.0" })
    expect(redis.dependencies).toEqual({
      "@maf/events": `^${readManifest(join(root, "packages", "core")).version}`
    })
  })

  it("installs the tarballs with npm into a fresh project outside the workspace", () => {
    const deps = join(work, "deps")
    mkdirSync(deps)
    const dependencies: Record<string, string> = {}
    for (const [file, manifest] of Object.entries(packed))
      dependencies[manifest.name] = `file:${join(work, "packed", file)}`
    for (const [name, dir] of closure()) {
      const file = join(deps, `${name.replace("/", "+")}.tgz`)
      if (name === "effect") {
        // A patch the workspace does not use: the same code, another version.
        const copy = join(work, "effect-patch")
        cpSync(dir, copy, { recursive: true })
        const manifest = JSON.parse(readFileSync(join(copy, "package.json"), "utf8"))
        writeFileSync(
          join(copy, "package.json"),
          JSON.stringify({ ...manifest, version: effectPatch }, null, 2)
        )
        tarball(copy, file)
      } else tarball(dir, file)
      dependencies[name] = `file:${file}`
    }
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "maf-events-user", private: true, type: "module", dependencies }, null, 2)
    )
    const flags = [
      "install",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      "--omit=optional",
      "--loglevel=error"
    ]
    const offline = run(
      "npm",
      [...flags, "--offline", "--cache", join(work, "npm-cache")],
      project,
      cleanEnv()
    )
    installMode = "offline"
    installLog = offline.output
    if (!offline.ok) {
      // Something the workspace's copies do not cover: the registry, as a user's install would.
      installMode = "registry"
      installLog = `${offline.output}\n${mustRun("npm", [...flags, "--prefer-offline"], project, cleanEnv())}`
    }
    console.log(
      `installed ${Object.keys(dependencies).length} packages (${installMode})${installMode === "registry" ? `:\n${installLog}` : ""}`
    )
    for (const name of [
      "@maf/events",
      "@maf/events-redis",
      "@maf/events-test",
      "@maf/events-cli",
      "effect",
      "ioredis"
    ]) {
      expect(existsSync(join(project, "node_modules", name, "package.json"))).toBe(true)
    }
    // One copy of effect in the whole tree, the user's patch.
    const copies = spawnSync(
      "find",
      ["node_modules", "-name", "package.json", "-path", "*/effect/package.json"],
      {
        cwd: project,
        encoding: "utf8"
      }
    )
      .stdout.split("\n")
      .filter((path) => path !== "" && readManifest(join(project, dirname(path))).name === "effect")
    expect(copies).toEqual(["node_modules/effect/package.json"])
    expect(readManifest(join(project, "node_modules", "effect")).version).toBe(effectPatch)
  })

  it("type-checks the README's publishing and consuming examples there, the packages' declarations included", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8")
    const src = join(project, "src")
    mkdirSync(src)
    for (const name of ["publish", "consume"]) {
      const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
        .map((m) => m[1]!)
        .find((b) => b.startsWith(`// examples/src/${name}.ts`))
      expect(block, `the README's examples/src/${name}.ts snippet`).toBeDefined()
      writeFileSync(join(src, `${name}.ts`), block!)
    }
    cpSync(join(here, "runner.ts"), join(src, "runner.ts"))
    cpSync(join(here, "plain.mjs"), join(src, "plain.mjs"))
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2022"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          exactOptionalPropertyTypes: true,
          // The installed declarations are checked too: a type they need and do not bring shows here.
          skipLibCheck: false,
          types: ["node"],
          rootDir: "src",
          outDir: "dist"
        },
        include: ["src/*.ts"]
      })
    )
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
    mustRun(process.execPath, [tsc, "-p", project, "--pretty", "false"], project)
    expect(existsSync(join(project, "dist", "publish.js"))).toBe(true)
  })

  it("runs them against a real redis-server started by the installed test kit, and the installed CLI", () => {
    const output = mustRun(process.execPath, ["dist/runner.js"], project, { ...cleanEnv(), NO_COLOR: "1" })
    const report = JSON.parse(output.trim().split("\n").at(-1)!)
    const shown = (r: { status: number; stdout: string; stderr: string }) => `${r.stdout}${r.stderr}`

    expect(report.publish.status, shown(report.publish)).toBe(0)
    expect(report.publish.stdout).toMatch(/written as \d+-\d+/)
    expect(report.consume.status, shown(report.consume)).toBe(0)
    const lines: Array<string> = report.consume.stdout
      .split("\n")
      .filter((l: string) => l.includes("level=INFO"))
    expect(lines).toHaveLength(100)
    expect(lines[0]).toMatch(/phase\.start trading_intelligence \{\}/)
    expect(lines[1]).toMatch(/phase\.complete trading_intelligence \{\\"score\\":0\.93\}/)
    expect(lines[2]).toMatch(/agent\.signal seeded \{\\"i\\":0\}/)
    expect(lines[99]).toMatch(/malformed \(json_decode\)/)
    expect(report.length).toBe(100)

    expect(report.plainJs.status, shown(report.plainJs)).toBe(0)
    expect(JSON.parse(report.plainJs.stdout)).toEqual(["plain-js"])

    expect(report.cliPublish.status, shown(report.cliPublish)).toBe(0)
    expect(report.cliPublish.stdout.trim()).toMatch(/^\d+-\d+$/)
    expect(report.cliTail.status, shown(report.cliTail)).toBe(0)
    expect(JSON.parse(report.cliTail.stdout)).toMatchObject({ kind: "arena.start", arena: "cli" })
  })
})
