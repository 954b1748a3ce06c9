/**
 * The server-side append: one `EVALSHA` writes a whole batch, so a batch costs one command parse and
 * one reply instead of one per entry. Approximate trimming is asked on the last entry only: `MAXLEN ~`
 * trims whole nodes, so trimming once per batch keeps the stream as long as trimming at every entry
 * would, for less work.
 *
 * Each `XADD` runs under `pcall`; on the first error the script stops and returns what it wrote, so
 * the caller knows which prefix of the batch is in the stream.
 *
 * Arguments: `ARGV[1]` the `MAXLEN ~` (`"0"`: none), `ARGV[2]` the call's token, then the bodies.
 * Reply: `{ error-or-empty-string, "id1 id2 …", token }`. The ids come joined in one string, not as
 * one reply element each: one bulk string to parse instead of 500 (node CPU 1.2 to 1.0 µs an event,
 * and 330,000 to 350,000 events/s through the script alone, batches of 500 on the bench machine).
 * The token comes back so that the caller knows the reply is its own: on a connection left out of
 * step (a network that lost bytes), each reply goes to an earlier command, and a batch would be
 * answered with another batch's ids — written, it would say, when it never was.
 *
 * @internal
 */
export const appendScript = `
local key = KEYS[1]
local maxlen = ARGV[1]
local trim = maxlen ~= "0"
local token = ARGV[2]
local ids = {}
local last = #ARGV
for i = 3, last do
  local reply
  if trim and i == last then
    reply = redis.pcall("XADD", key, "MAXLEN", "~", maxlen, "*", "data", ARGV[i])
  else
    reply = redis.pcall("XADD", key, "*", "data", ARGV[i])
  end
  if type(reply) == "table" and reply.err then
    return { reply.err, table.concat(ids, " "), token }
  end
  ids[#ids + 1] = reply
end
return { "", table.concat(ids, " "), token }
`

/**
 * The append script for a batch in which some events carry a trace context: each body is followed
 * by its W3C `traceparent` (`""` for none), written as a second field after `data`. A script of its
 * own, so that the untraced batches' script (and its cost) stays as it is. Same reply and failure
 * rule as {@link appendScript}.
 *
 * @internal
 */
export const tracedAppendScript = `
local key = KEYS[1]
local maxlen = ARGV[1]
local trim = maxlen ~= "0"
local token = ARGV[2]
local ids = {}
local last = #ARGV - 1
for i = 3, last, 2 do
  local reply
  local traceparent = ARGV[i + 1]
  if trim and i == last then
    if traceparent == "" then
      reply = redis.pcall("XADD", key, "MAXLEN", "~", maxlen, "*", "data", ARGV[i])
    else
      reply = redis.pcall("XADD", key, "MAXLEN", "~", maxlen, "*", "data", ARGV[i], "traceparent", traceparent)
    end
  elseif traceparent == "" then
    reply = redis.pcall("XADD", key, "*", "data", ARGV[i])
  else
    reply = redis.pcall("XADD", key, "*", "data", ARGV[i], "traceparent", traceparent)
  end
  if type(reply) == "table" and reply.err then
    return { reply.err, table.concat(ids, " "), token }
  end
  ids[#ids + 1] = reply
end
return { "", table.concat(ids, " "), token }
`
