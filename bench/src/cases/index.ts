/**
 * Every case of the bench, in the order it runs them.
 */
import type { Case } from "../case.js"
import { e2e } from "./e2e.js"
import { groupProcess } from "./groupProcess.js"
import { memoryPublish } from "./memoryPublish.js"
import { nullPublish } from "./nullPublish.js"
import { publishAwaited } from "./publishAwaited.js"
import { publishConcurrent } from "./publishConcurrent.js"
import { publishNowait } from "./publishNowait.js"
import { readDecoded } from "./readDecoded.js"
import { readRss } from "./readRss.js"

export const cases: ReadonlyArray<Case> = [
  publishNowait,
  publishAwaited,
  publishConcurrent,
  readDecoded,
  groupProcess,
  e2e,
  nullPublish,
  memoryPublish,
  readRss
]
