/**
 * JSON as Python's `json.dumps` writes it by default: standard JSON plus the bare tokens `NaN`,
 * `Infinity` and `-Infinity` (its `allow_nan=True`). `JSON.parse` refuses those tokens, so a body
 * that `JSON.parse` rejects is parsed again here; the tokens become the JavaScript numbers they name.
 *
 * @internal
 */

class ParseError extends Error {}

/** Parses Python-flavoured JSON; throws a `SyntaxError` on anything else. */
export const parsePythonJson = (text: string): unknown => {
  let pos = 0

  const fail = (what: string): never => {
    throw new ParseError(`${what} at position ${pos}`)
  }
  const skipWhitespace = () => {
    for (;;) {
      const c = text.charCodeAt(pos)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++
      else return
    }
  }
  const literal = (word: string, value: unknown): unknown => {
    if (text.startsWith(word, pos)) {
      pos += word.length
      return value
    }
    return fail("Unexpected token")
  }
  const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
  // JSON strings may not hold raw control characters (U+0000 to U+001F): matching them is the point.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: see above
  const stringPattern = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y

  const parseValue = (): unknown => {
    skipWhitespace()
    const c = text[pos]
    switch (c) {
      case "{": {
        pos++
        const out: Record<string, unknown> = {}
        skipWhitespace()
        if (text[pos] === "}") {
          pos++
          return out
        }
        for (;;) {
          skipWhitespace()
          if (text[pos] !== '"') fail("Expected a string key")
          const key = parseString()
          skipWhitespace()
          if (text[pos] !== ":") fail("Expected ':'")
          pos++
          const value = parseValue()
          Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
          skipWhitespace()
          if (text[pos] === ",") pos++
          else if (text[pos] === "}") {
            pos++
            return out
          } else fail("Expected ',' or '}'")
        }
      }
      case "[": {
        pos++
        const out: Array<unknown> = []
        skipWhitespace()
        if (text[pos] === "]") {
          pos++
          return out
        }
        for (;;) {
          out.push(parseValue())
          skipWhitespace()
          if (text[pos] === ",") pos++
          else if (text[pos] === "]") {
            pos++
            return out
          } else fail("Expected ',' or ']'")
        }
      }
      case '"':
        return parseString()
      case "t":
        return literal("true", true)
      case "f":
        return literal("false", false)
      case "n":
        return literal("null", null)
      case "N":
        return literal("NaN", Number.NaN)
      case "I":
        return literal("Infinity", Number.POSITIVE_INFINITY)
      case "-":
        if (text.startsWith("-Infinity", pos)) return literal("-Infinity", Number.NEGATIVE_INFINITY)
        return parseNumber()
      default:
        return parseNumber()
    }
  }
  const parseNumber = (): number => {
    numberPattern.lastIndex = pos
    const m = numberPattern.exec(text)
    if (m === null) return fail("Unexpected token")
    pos += m[0].length
    return Number(m[0])
  }
  const parseString = (): string => {
    stringPattern.lastIndex = pos
    const m = stringPattern.exec(text)
    if (m === null) return fail("Bad string")
    pos += m[0].length
    return JSON.parse(m[0]) as string
  }

  try {
    const value = parseValue()
    skipWhitespace()
    if (pos !== text.length) fail("Unexpected data after JSON")
    return value
  } catch (error) {
    if (error instanceof ParseError) throw new SyntaxError(error.message)
    throw new SyntaxError(`Unparseable JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/**
 * Parses a body: `JSON.parse` first (fast), Python's extensions only when that fails.
 *
 * @internal
 */
export const parseBody = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw error
    return parsePythonJson(text)
  }
}
