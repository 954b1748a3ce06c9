// Set-up shared by `npm test` and `npm run demo`: pnpm (pinned), the packages, the build.
import { execFileSync, spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..")
const pnpmVersion = "12.4.2"

/** Prints a step of the set-up. */
export const say = (line) => process.stdout.write(`[maf-events] ${line}\n`)

/** Whether a command is on the PATH. */
export const has = (command) =>
  spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0

/** Runs a command in the repo, output shown; returns its exit status. */
export const run = (command, args, options = {}) =>
  spawnSync(command, args, { cwd: root, stdio: "inherit", ...options }).status ?? 1

/** pnpm, pinned (the lockfile was written by it): the one on the PATH, installed through npm, or npx. */
export const ensurePnpm = () => {
  const current = has("pnpm") ? execFileSync("pnpm", ["--version"], { encoding: "utf8" }).trim() : undefined
  if (current === pnpmVersion) return (args) => ["pnpm", args]
  say(`getting pnpm ${pnpmVersion} through npm`)
  if (run("npm", ["install", "-g", `pnpm@${pnpmVersion}`]) === 0 && has("pnpm"))
    return (args) => ["pnpm", args]
  say("a global install is not allowed here: using npx")
  return (args) => ["npx", ["--yes", `pnpm@${pnpmVersion}`, ...args]]
}

/** Runs a step; on failure prints why and exits with its status (after `onFail`). */
export const step = (name, [command, args], onFail = () => {}) => {
  say(name)
  const status = run(command, args)
  if (status !== 0) {
    say(`${name} failed (exit ${status})`)
    onFail()
    process.exit(status)
  }
}

/** pnpm, the packages (as locked) and the build: what every entry point needs first. */
export const installAndBuild = (onFail) => {
  const pnpm = ensurePnpm()
  step("installing packages", pnpm(["install", "--frozen-lockfile"]), onFail)
  step("building (tsc -b)", pnpm(["run", "build"]), onFail)
  return pnpm
}
