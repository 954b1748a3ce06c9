/**
 * What the kit's lifecycle tests look at after a scope closed: whether a port still takes
 * connections, and what is left of the temporary directories made meanwhile (made in a directory of
 * the test's own by pointing `TMPDIR` there).
 */
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Effect from "effect/Effect"

/** Whether a TCP connection to the port is refused (resolves on the first connect outcome). */
export const connectionRefused = (port: number): Effect.Effect<boolean> =>
  Effect.async((resume) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(false))
    })
    socket.once("error", (error: NodeJS.ErrnoException) => {
      socket.destroy()
      resume(Effect.succeed(error.code === "ECONNREFUSED"))
    })
    return Effect.sync(() => socket.destroy())
  })

/**
 * Runs `use` with `TMPDIR` pointing to a fresh directory (so the kit's temporary directories are
 * made there) and succeeds with what `use` gives and what is left in that directory afterwards.
 */
export const inPrivateTmpdir = <A, E, R>(
  use: Effect.Effect<A, E, R>
): Effect.Effect<{ readonly result: A; readonly left: ReadonlyArray<string> }, E, R> =>
  Effect.acquireUseRelease(
    Effect.promise(async () => {
      const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "maf-kit-lifecycle-"))
      const previous = process.env.TMPDIR
      process.env.TMPDIR = dir
      return { dir, previous }
    }),
    ({ dir }) =>
      Effect.flatMap(use, (result) =>
        Effect.map(
          Effect.promise(() => Fs.readdir(dir)),
          (left) => ({ result, left })
        )
      ),
    ({ dir, previous }) =>
      Effect.promise(async () => {
        if (previous === undefined) delete process.env.TMPDIR
        else process.env.TMPDIR = previous
        await Fs.rm(dir, { recursive: true, force: true })
      })
  )
