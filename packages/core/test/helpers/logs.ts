/** The lines logged (`LEVEL message`) while the layer it gives is provided: what tests of logging read. */
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"

/**
 * With `annotations: true`, each line ends with the line's annotations as JSON
 * (`LEVEL message {"stream":"s"}`).
 */
export const captureLogs = (options: { readonly annotations?: boolean } = {}) => {
  const lines: Array<string> = []
  const logger = Logger.make(({ annotations, logLevel, message }) => {
    const text = `${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`
    lines.push(
      options.annotations
        ? `${text} ${JSON.stringify(Object.fromEntries(HashMap.toEntries(annotations)))}`
        : text
    )
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}
