/**
 * The server-side scripts of the consumer-group port (`RedisGroupBackend`): each runs as one step,
 * so that what it checks (who holds an entry, whether it is still in the stream) still holds when it
 * acts. `KEYS[1]` is the stream, `ARGV[1]` the group and `ARGV[2]` the consumer in all of them.
 *
 * Redis 7.0 semantics they rely on: `XPENDING key group id id 1` answers `{{id, owner, idle,
 * deliveries}}` or nothing; `XCLAIM` of an entry deleted from the stream drops it from the pending
 * list and answers nothing for it; `XAUTOCLAIM` answers `{next, entries, deletedIds}`. An error of a
 * command inside a script reaches the caller with its own code first (`NOGROUP …`), the command
 * named after it.
 *
 * @internal
 */

/**
 * `redis.call`, its error naming the command (`xautoclaim`, `xgroup|delconsumer`) after its own
 * code and text: an ACL refusal inside a script says only "can't run this command or subcommand".
 */
const call = `
local function call(...)
  local reply = redis.pcall(...)
  if type(reply) == "table" and reply.err then
    local name = string.lower((...))
    if name == "xinfo" or name == "xgroup" then name = name .. "|" .. string.lower(select(2, ...)) end
    error({ err = reply.err .. " (command '" .. name .. "' of the script)" })
  end
  return reply
end
`

/** The group must exist even when there is nothing to do (an empty list of ids): `NOGROUP` otherwise. */
const requireGroup = `
local function requireGroup()
  call("XPENDING", KEYS[1], ARGV[1], "-", "+", 1, ARGV[2])
end
`

/**
 * `XAUTOCLAIM` for `ARGV[2]` (`ARGV[3]` min idle, `ARGV[4]` start, `ARGV[5]` count), then each
 * claimed entry's delivery count. Reply: `{next, entries, deletedIds, counts}`.
 *
 * @internal
 */
export const claimScript = `${call}
local claimed = call("XAUTOCLAIM", KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], "COUNT", ARGV[5])
local entries = claimed[2]
local counts = {}
for i = 1, #entries do
  local id = entries[i][1]
  local pending = call("XPENDING", KEYS[1], ARGV[1], id, id, 1)
  counts[i] = pending[1] and pending[1][4] or 0
end
return { claimed[1], entries, claimed[3] or {}, counts }
`

/**
 * Renews `ARGV[2]`'s hold on those of the ids (`ARGV[3…]`) it holds: `XCLAIM … 0 id JUSTID` (idle
 * back to 0, delivery count unchanged). An id it holds that `XCLAIM` answers nothing for was deleted
 * from the stream (and is now dropped from the pending list). Reply: `{renewedIds, deletedIds}`.
 *
 * @internal
 */
export const renewScript = `${call}${requireGroup}
if #ARGV < 3 then requireGroup() end
local renewed, deleted = {}, {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local pending = call("XPENDING", KEYS[1], ARGV[1], id, id, 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    local ids = call("XCLAIM", KEYS[1], ARGV[1], ARGV[2], 0, id, "JUSTID")
    if ids[1] then renewed[#renewed + 1] = id else deleted[#deleted + 1] = id end
  end
end
return { renewed, deleted }
`

/**
 * Takes `ARGV[2]`'s own ids (`ARGV[3…]`) again: `XCLAIM … 0 id` (a new delivery). An id it holds
 * that `XCLAIM` answers nothing for was deleted from the stream (and is now dropped from the pending
 * list); one it does not hold is lost. Reply: `{entries, counts, deletedIds, lostIds}`.
 *
 * @internal
 */
export const redeliverScript = `${call}${requireGroup}
if #ARGV < 3 then requireGroup() end
local entries, counts, deleted, lost = {}, {}, {}, {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local pending = call("XPENDING", KEYS[1], ARGV[1], id, id, 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    local taken = call("XCLAIM", KEYS[1], ARGV[1], ARGV[2], 0, id)
    if taken[1] then
      entries[#entries + 1] = taken[1]
      counts[#counts + 1] = pending[1][4] + 1
    else
      deleted[#deleted + 1] = id
    end
  else
    lost[#lost + 1] = id
  end
end
return { entries, counts, deleted, lost }
`

/**
 * `held(id)`: the fields of the entry `id` when `ARGV[2]` holds it; `"lost"` when it does not;
 * `"deleted"` (and acknowledged) when it is gone from the stream.
 */
const held = `
local function held(id)
  local pending = call("XPENDING", KEYS[1], ARGV[1], id, id, 1)
  if not (pending[1] and pending[1][2] == ARGV[2]) then return "lost" end
  local found = call("XRANGE", KEYS[1], id, id)
  if not found[1] then
    call("XACK", KEYS[1], ARGV[1], id)
    return "deleted"
  end
  return found[1][2]
end
`

/**
 * Moves the entry `ARGV[3]` that `ARGV[2]` holds to the dead-letter stream `KEYS[2]` (`MAXLEN ~
 * ARGV[4]` unless "0") and acknowledges it, in one step: the new entry has the original `data` field
 * unchanged (an entry without one: all its fields as they are), then the letter's fields
 * (`ARGV[5…]`). Reply: `"moved"`, `"deleted"` (gone from the stream: acknowledged, nothing added) or
 * `"lost"` (not held: nothing done). Both keys must share a slot on a Cluster (see
 * {@link takeHeldScript} for the other case).
 *
 * @internal
 */
export const deadLetterScript = `${call}${held}
local id = ARGV[3]
local fields = held(id)
if type(fields) ~= "table" then return fields end
local args = { "XADD", KEYS[2] }
if ARGV[4] ~= "0" then
  args[#args + 1] = "MAXLEN"
  args[#args + 1] = "~"
  args[#args + 1] = ARGV[4]
end
args[#args + 1] = "*"
local data
for i = 1, #fields, 2 do
  if fields[i] == "data" then
    data = fields[i + 1]
    break
  end
end
if data then
  args[#args + 1] = "data"
  args[#args + 1] = data
else
  for i = 1, #fields do args[#args + 1] = fields[i] end
end
for i = 5, #ARGV do args[#args + 1] = ARGV[i] end
call(unpack(args))
call("XACK", KEYS[1], ARGV[1], id)
return "moved"
`

/**
 * The first step of a dead letter whose stream is in another slot (a Cluster): the fields of the
 * entry `ARGV[3]` if `ARGV[2]` holds it, else `"lost"`, or `"deleted"` (acknowledged).
 *
 * @internal
 */
export const takeHeldScript = `${call}${held}
return held(ARGV[3])
`

/**
 * Acknowledges the entry `ARGV[3]` if `ARGV[2]` still holds it. Reply: 1 when acknowledged, else 0.
 *
 * @internal
 */
export const ackHeldScript = `${call}
local pending = call("XPENDING", KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if not (pending[1] and pending[1][2] == ARGV[2]) then return 0 end
return call("XACK", KEYS[1], ARGV[1], ARGV[3])
`

/**
 * Removes `ARGV[2]` from the group if it is a member holding nothing pending (`XGROUP
 * DELCONSUMER`). Reply: 1 when removed, else 0.
 *
 * @internal
 */
export const removeIdleConsumerScript = `${call}
local held = call("XPENDING", KEYS[1], ARGV[1], "-", "+", 1, ARGV[2])
if held[1] then return 0 end
local consumers = call("XINFO", "CONSUMERS", KEYS[1], ARGV[1])
for i = 1, #consumers do
  local consumer = consumers[i]
  for j = 1, #consumer, 2 do
    if consumer[j] == "name" and consumer[j + 1] == ARGV[2] then
      call("XGROUP", "DELCONSUMER", KEYS[1], ARGV[1], ARGV[2])
      return 1
    end
  end
end
return 0
`
