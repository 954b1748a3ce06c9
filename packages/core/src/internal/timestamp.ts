/**
 * Timestamps in the wire's format: UTC ISO-8601 as Python's `datetime.isoformat()` writes it,
 * with six fractional digits and `+00:00`.
 *
 * @internal
 */

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`)

/**
 * Formats microseconds since the epoch as `2026-05-14T11:22:33.123456+00:00`.
 *
 * @internal
 */
export const formatMicros = (epochMicros: bigint): string => {
  let seconds = epochMicros / 1_000_000n
  let micros = epochMicros % 1_000_000n
  if (micros < 0n) {
    micros += 1_000_000n
    seconds -= 1n
  }
  const d = new Date(Number(seconds) * 1000)
  const year = d.getUTCFullYear()
  const yyyy = year >= 0 && year < 10000 ? String(year).padStart(4, "0") : String(year)
  return (
    `${yyyy}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}` +
    `T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}` +
    `.${String(micros).padStart(6, "0")}+00:00`
  )
}

/**
 * ISO-8601 date-times as any writer produces them: `T` or space between date and time, optional
 * seconds and fraction (any number of digits), and `Z`, `±hh:mm`, `±hhmm`, `±hh` or no offset (naive,
 * read as UTC).
 */
const isoPattern =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/

/**
 * Parses an ISO-8601 timestamp to epoch microseconds, or `undefined` when it is not one.
 *
 * @internal
 */
export const parseMicros = (text: string): bigint | undefined => {
  const m = isoPattern.exec(text)
  if (m === null) return undefined
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m
  const month = Number(mo)
  const day = Number(d)
  const hour = Number(h)
  const minute = Number(mi)
  const second = s === undefined ? 0 : Number(s)
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return undefined
  }
  // Not Date.UTC: it reads the years 0 to 99 as 1900 to 1999.
  const date = new Date(0)
  date.setUTCFullYear(Number(y), month - 1, day)
  // A day past the month's end (2026-02-31) rolls over to the next month: such a date is not valid.
  if (date.getUTCDate() !== day) return undefined
  const utcMillis = date.getTime() + ((hour * 60 + minute) * 60 + second) * 1000
  let offsetMinutes = 0
  if (sign !== undefined) {
    const offH = Number(oh)
    const offM = om === undefined ? 0 : Number(om)
    if (offH > 23 || offM > 59) return undefined
    offsetMinutes = (sign === "-" ? -1 : 1) * (offH * 60 + offM)
  }
  const micros = frac === undefined ? 0 : Number(frac.padEnd(6, "0").slice(0, 6))
  return BigInt(utcMillis - offsetMinutes * 60_000) * 1000n + BigInt(micros)
}
