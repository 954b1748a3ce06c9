/**
 * Input files of `publish --input`, in a temporary directory of the test file's own, and lines of
 * events to fill them with.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A function writing each text given to a new file of the directory, answering its path. */
export const files = (prefix: string): ((text: string) => string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  let counter = 0
  return (text) => {
    const path = join(dir, `input-${++counter}.jsonl`)
    writeFileSync(path, text)
    return path
  }
}

/** `n` event lines, payload `{ i }` from `from`, over `arenas` arenas (`arena-<i mod arenas>`). */
export const eventLines = (n: number, options: { readonly from?: number; readonly arenas?: number } = {}) =>
  Array.from({ length: n }, (_, k) => {
    const i = (options.from ?? 0) + k
    return JSON.stringify({
      kind: "agent.signal",
      arena: `arena-${i % (options.arenas ?? 1)}`,
      payload: { i }
    })
  })
