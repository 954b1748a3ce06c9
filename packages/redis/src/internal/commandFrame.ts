/**
 * A command's RESP frame written straight into a `Buffer`, for the append script, whose frame holds
 * a whole batch of bodies.
 *
 * ioredis writes a command as one string (`$<bytes>\r\n<arg>\r\n` an argument): it measures each
 * argument (`Buffer.byteLength`), joins them all (a rope of four pieces an argument), and the socket
 * flattens the whole and encodes it again. Here each body is encoded once, in place, and its length
 * is what the encoding returns. `publish_nowait` on the bench machine, process CPU an event, two
 * alternating pairs of runs: 4.80 and 4.47 µs with ioredis' framing, 4.37 and 4.00 µs with this.
 *
 * Frames are cut one after the other from a slab of 1 MB (a fresh one when the rest is too small),
 * never written twice: a frame's bytes may still be waiting in the socket's queue. The slab is
 * collected once its frames are.
 *
 * @internal
 */
import { Command } from "ioredis"

const digitsOf = (n: number): number => {
  let digits = 1
  while (n >= 10) {
    n = Math.floor(n / 10)
    digits++
  }
  return digits
}

/** Bytes allocated at a time for frames (or the room one frame needs, when that is more). */
const slabBytes = 1 << 20
let slab = Buffer.allocUnsafe(0)
let slabUsed = 0

/**
 * Writes `$<bytes>\r\n<text>\r\n` at `at` and says where it ends. `buffer` has room for the text
 * at three bytes a UTF-16 unit (the most UTF-8 takes) plus 16. The text is written after a header
 * sized for one byte a unit, and moved along when its length in bytes has more digits.
 */
const writeBulk = (buffer: Buffer, at: number, text: string): number => {
  const guess = 3 + digitsOf(text.length)
  const bytes = buffer.write(text, at + guess)
  const header = 3 + digitsOf(bytes)
  if (header !== guess) buffer.copyWithin(at + header, at + guess, at + guess + bytes)
  buffer[at] = 0x24 // $
  let digit = at + header - 3
  for (let n = bytes; digit > at; n = Math.floor(n / 10)) buffer[digit--] = 0x30 + (n % 10)
  buffer[at + header - 2] = 0x0d
  buffer[at + header - 1] = 0x0a
  const end = at + header + bytes
  buffer[end] = 0x0d
  buffer[end + 1] = 0x0a
  return end + 2
}

/**
 * The RESP frame of the command `name` with the arguments `args` (strings), as ioredis writes it.
 */
export const encodeCommand = (name: string, args: ReadonlyArray<string>): Buffer => {
  // Room for every argument at one byte a UTF-16 unit, and for any one of them at three: only
  // arguments of more than a byte a unit, together, can need more (the frame then moves to a larger
  // buffer, a copy).
  let room = 16 + 16 + 3 * name.length
  let longest = 0
  for (const arg of args) {
    room += arg.length + 16
    if (arg.length > longest) longest = arg.length
  }
  room += 2 * longest
  if (room > slab.length - slabUsed) {
    slab = Buffer.allocUnsafe(Math.max(slabBytes, room))
    slabUsed = 0
  }
  let buffer = slab
  let start = slabUsed
  let at = start + buffer.write(`*${1 + args.length}\r\n`, start, "latin1")
  at = writeBulk(buffer, at, name)
  for (const arg of args) {
    const need = 3 * arg.length + 16
    if (at + need > buffer.length) {
      const larger = Buffer.allocUnsafe(2 * (at - start) + need)
      buffer.copy(larger, 0, start, at)
      at -= start
      start = 0
      buffer = larger
    }
    at = writeBulk(buffer, at, arg)
  }
  if (buffer === slab) slabUsed = at
  return buffer.subarray(start, at)
}

/**
 * A command that writes itself with {@link encodeCommand} when its arguments are all strings (the
 * append script's are), and as ioredis does otherwise.
 *
 * @internal
 */
export class FramedCommand extends Command {
  override toWritable(socket: object): string | Buffer {
    const args = this.args
    for (const arg of args) if (typeof arg !== "string") return super.toWritable(socket)
    return encodeCommand(this.name, args as Array<string>)
  }
}
