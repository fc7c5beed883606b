// Lua scripts by which a consumer takes entries and keeps them: each checks ownership and reads delivery counts in the
// same step as the claim, so no other consumer can slip in between and no count is guessed.
import { LuaScript } from './lua-script.js';
import { OWNED_LUA } from './scripts.js';

// `counted(id)`: the entry's delivery count in the group (XPENDING of that one id), or 0 when it is not pending.
// `exists(id)`: whether the stream still has the entry (XDEL and trimming remove entries but not their pending records).
const HELPERS = `
local function counted(id)
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if #p == 0 then return 0 end
  return p[1][4]
end
local function exists(id)
  return #redis.call('XRANGE', KEYS[1], id, id) == 1
end
`;

/**
 * refresh-owned-1: resets the idle time of the entries this consumer still owns (XCLAIM … JUSTID, which does not
 * raise the delivery count), so no other consumer claims them while they are held here. An owned entry that no longer
 * exists in the stream is left alone: XCLAIM would drop its pending record, and its acknowledgement (and effects) with
 * it.
 * Input: KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3..] ids.
 * Output: { ids another consumer owns now, owned ids whose entries were deleted, ids pending with nobody (acked, or
 *          the group lost its pending list: recreated) }.
 */
export const REFRESH_OWNED = new LuaScript(
  'refresh-owned',
  1,
  `${OWNED_LUA}${HELPERS}
local args = { 'XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0 }
local mine, deleted = {}, {}
for _, id in ipairs(owned(3)) do
  mine[id] = true
  if exists(id) then args[#args + 1] = id else deleted[#deleted + 1] = id end
end
if #args > 5 then
  args[#args + 1] = 'JUSTID'
  redis.call(unpack(args))
end
local lost, orphaned = {}, {}
for i = 3, #ARGV do
  if not mine[ARGV[i]] then
    if counted(ARGV[i]) == 0 then orphaned[#orphaned + 1] = ARGV[i] else lost[#lost + 1] = ARGV[i] end
  end
end
return { lost, deleted, orphaned }
`,
);

/**
 * claim-own-1: takes this consumer's own pending entries for another run (a retry, or entries Redis delivered into a
 * read that was lost), raising their delivery count; an id another consumer owns now is left to it.
 * Input: KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] delivery count to set ('' to add one, 'keep' to
 *        keep it),
 *        ARGV[4..] ids.
 * Output: one row per id still owned: { id, fields or false (the entry was deleted; its record is dropped), count }.
 */
export const CLAIM_OWN = new LuaScript(
  'claim-own',
  1,
  `${OWNED_LUA}${HELPERS}
local rows = {}
for _, id in ipairs(owned(4)) do
  local args = { 'XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id }
  if ARGV[3] == 'keep' then
    args[#args + 1] = 'RETRYCOUNT'
    args[#args + 1] = counted(id)
  elseif ARGV[3] ~= '' then
    args[#args + 1] = 'RETRYCOUNT'
    args[#args + 1] = ARGV[3]
  end
  local claimed = redis.call(unpack(args))
  if #claimed == 1 and claimed[1] then
    rows[#rows + 1] = { id, claimed[1][2], counted(id) }
  else
    rows[#rows + 1] = { id, false, 0 }
  end
end
return rows
`,
);

/**
 * claim-abandoned-1: one XAUTOCLAIM step (entries idle at least min-idle-time, whoever holds them), with the delivery
 * count of each claimed entry. Claims nothing while Redis has been up for less than min-idle-time: a restart counts
 * the time it was down as idle, and may have lost the last refreshes (AOF writes once a second), so entries that live
 * consumers hold look abandoned until their holders reconnect and refresh them.
 * Input: KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] min-idle-time, ARGV[4] cursor, ARGV[5] count.
 * Output: { next cursor, { { id, fields, count }... }, ids whose entries were deleted (Redis dropped their records) }.
 */
export const CLAIM_ABANDONED = new LuaScript(
  'claim-abandoned',
  1,
  `${HELPERS}
local up = tonumber(string.match(redis.call('INFO', 'server'), 'uptime_in_seconds:(%d+)') or '')
if up and up * 1000 < tonumber(ARGV[3]) then return { '0-0', {}, {} } end
local reply = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local rows = {}
for _, entry in ipairs(reply[2]) do
  if entry and entry[2] then rows[#rows + 1] = { entry[1], entry[2], counted(entry[1]) } end
end
return { reply[1], rows, reply[3] or {} }
`,
);

/**
 * read-own-pending-1: re-reads this consumer's own pending entries after `after` (XREADGROUP with an id, which raises
 * their delivery counts), with each one's count.
 * Input: KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] after id, ARGV[4] count.
 * Output: { { id, fields or false (deleted entry), count }... }.
 */
export const READ_OWN_PENDING = new LuaScript(
  'read-own-pending',
  1,
  `${HELPERS}
local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[4], 'STREAMS', KEYS[1], ARGV[3])
local rows = {}
if not reply then return rows end
for _, entry in ipairs(reply[1][2]) do
  rows[#rows + 1] = { entry[1], entry[2] or false, counted(entry[1]) }
end
return rows
`,
);

/**
 * reassert-held-1: after the group was recreated (an operator's XGROUP DESTROY), gives this consumer back the pending
 * records of the entries it still holds, so that their acknowledgement (and effects) count once. An id already pending
 * with anyone is left as it is.
 * Input: KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3..] ids.
 * Output: how many records were created.
 */
export const REASSERT_HELD = new LuaScript(
  'reassert-held',
  1,
  `${HELPERS}
local n = 0
for i = 3, #ARGV do
  if counted(ARGV[i]) == 0 and exists(ARGV[i]) then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'FORCE', 'JUSTID')
    n = n + 1
  end
end
return n
`,
);
