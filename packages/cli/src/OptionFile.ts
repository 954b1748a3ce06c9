/**
 * Files named by options (`--input`, the TLS files): read, or one line saying which option's file
 * cannot be read and why (a usage error: the command line names a file it cannot use).
 *
 * @since 0.3.0
 */
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as CliError from "./CliError.js"

/**
 * Why a file cannot be read, in a few words (`no such file`, `permission denied`, …).
 *
 * @since 0.3.0
 * @category errors
 */
export const reasonOf = (error: PlatformError.PlatformError): string => {
  if (error._tag === "SystemError") {
    switch (error.reason) {
      case "NotFound":
        return "no such file"
      case "PermissionDenied":
        return "permission denied"
      case "BadResource":
        return "not a readable file"
    }
  }
  return error.description ?? error.message
}

const unreadable = (option: string, path: string) => (error: PlatformError.PlatformError) =>
  CliError.usage(`${option} ${path}: cannot be read (${reasonOf(error)})`)

/**
 * Checks that the file of an option is a file that can be read (not a directory), before any work
 * starts.
 *
 * @since 0.3.0
 * @category files
 */
export const checkReadable = (
  option: string,
  path: string
): Effect.Effect<void, CliError.CliError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.mapError(fs.stat(path), unreadable(option, path))
    if (info.type === "Directory")
      return yield* CliError.usage(`${option} ${path}: cannot be read (a directory)`)
    yield* Effect.mapError(fs.access(path, { readable: true }), unreadable(option, path))
  })

/**
 * The text of an option's file (a PEM certificate or key).
 *
 * @since 0.3.0
 * @category files
 */
export const readText = (
  option: string,
  path: string
): Effect.Effect<string, CliError.CliError, FileSystem.FileSystem> =>
  Effect.zipRight(
    checkReadable(option, path),
    Effect.flatMap(FileSystem.FileSystem, (fs) =>
      Effect.mapError(fs.readFileString(path), unreadable(option, path))
    )
  )
