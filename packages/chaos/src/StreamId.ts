/**
 * Stream ids (`<ms>-<seq>`) compared as Redis orders them, and their time part.
 */

const parse = (id: string): readonly [number, number] => {
  const dash = id.indexOf("-")
  return dash < 0 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))]
}

/** Negative, zero or positive as `a` is before, equal to or after `b` in a stream. */
export const compare = (a: string, b: string): number => {
  const [am, as] = parse(a)
  const [bm, bs] = parse(b)
  return am !== bm ? am - bm : as - bs
}

/** The millisecond time an id was made at. */
export const millisOf = (id: string): number => parse(id)[0]

/** The later of two ids. */
export const max = (a: string, b: string): string => (compare(a, b) >= 0 ? a : b)
