/** The lines logged (`LEVEL message`) while the layer it gives is provided: what tests of logging read. */
import * as Logger from "effect/Logger"

export const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}
