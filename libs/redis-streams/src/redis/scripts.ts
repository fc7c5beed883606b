// Lua scripts for the steps that must be atomic. Each is named `<name>-<numKeys>` with an Input/Output header, and is
// sent with EVALSHA (falling back to EVAL once per connection when Redis doesn't know it yet), corked like acks (see
// `sendCorked`): scripts run once per entry or request on the hot paths.
import { LuaScript } from './lua-script.js';

export { LuaScript };

// The ids of ARGV[from..] that are pending in the group and owned by `consumer` (ARGV[2]). One XPENDING scan over the
// ids' range answers for most of them; an id it didn't return (the scan's COUNT cut it off, or it is not owned) is
// checked on its own, so the answer is exact. Stream ids are always `ms-seq`.
export const OWNED_LUA = `
local function before(a, b)
  local ad, bd = string.find(a, '-', 1, true), string.find(b, '-', 1, true)
  local am, bm = tonumber(string.sub(a, 1, ad - 1)), tonumber(string.sub(b, 1, bd - 1))
  if am ~= bm then return am < bm end
  return tonumber(string.sub(a, ad + 1)) < tonumber(string.sub(b, bd + 1))
end
local function owned(from)
  local ids = {}
  local n = #ARGV - from + 1
  if n <= 0 then return ids end
  local lo, hi = ARGV[from], ARGV[from]
  for i = from + 1, #ARGV do
    if before(ARGV[i], lo) then lo = ARGV[i] end
    if before(hi, ARGV[i]) then hi = ARGV[i] end
  end
  local pending = {}
  for _, row in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], lo, hi, 4 * n + 100, ARGV[2])) do
    pending[row[1]] = true
  end
  for i = from, #ARGV do
    local id = ARGV[i]
    if pending[id] or #redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1, ARGV[2]) == 1 then ids[#ids + 1] = id end
  end
  return ids
end
`;

// Whether `id` is the oldest entry pending in the group (ARGV[1]): on a partition an entry counts as done only once
// every earlier one is, so an ack, effects or a dead-letter move that would overtake an earlier unacknowledged entry
// is refused and both run again, in order (the partition's reader reads its own pending entries again).
export const FIRST_PENDING_LUA = `
local function first_pending(id)
  local first = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1)
  return #first == 1 and first[1][1] == id
end
`;

/**
 * ack-owned-1: acknowledges the entries that are still this consumer's. An entry another consumer claimed meanwhile
 * (after a long pause of this one) is left for that consumer to acknowledge after its own run.
 * Input: KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3..] ids.
 * Output: the number of entries acknowledged.
 */
export const ACK_OWNED = new LuaScript(
  'ack-owned',
  1,
  `${OWNED_LUA}
local ids = owned(3)
if #ids == 0 then return 0 end
return redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
`,
);

/**
 * ack-in-order-1: acknowledges, oldest first, the entries of a partition that are still this consumer's, each only
 * while it is the oldest entry pending in the group; the first one refused stops the rest.
 * Input: KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3..] ids.
 * Output: the number of entries acknowledged.
 */
export const ACK_IN_ORDER = new LuaScript(
  'ack-in-order',
  1,
  `${OWNED_LUA}${FIRST_PENDING_LUA}
-- The usual case in one scan: the oldest pending entries of the group, up to the newest id given, are exactly the
-- ids given, all this consumer's.
local given = {}
for i = 3, #ARGV do given[#given + 1] = ARGV[i] end
table.sort(given, before)
local head = redis.call('XPENDING', KEYS[1], ARGV[1], '-', given[#given], #given + 1)
local exact = #head == #given
for i = 1, #head do
  if not exact then break end
  exact = head[i][1] == given[i] and head[i][2] == ARGV[2]
end
if exact then return redis.call('XACK', KEYS[1], ARGV[1], unpack(given)) end
local ids = owned(3)
table.sort(ids, before)
local n = 0
for _, id in ipairs(ids) do
  if not first_pending(id) then break end
  n = n + redis.call('XACK', KEYS[1], ARGV[1], id)
end
return n
`,
);

/**
 * dead-letter-2: moves an entry this consumer owns to the dead-letter stream and acknowledges it, in one step.
 * Input: KEYS[1] stream, KEYS[2] dead-letter stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] id, ARGV[4] '1' on a
 *        partition (refused unless it is the oldest entry pending in the group), ARGV[5..] the dead-letter entry's
 *        fields and values.
 * Output: the dead-letter entry's id, or false when the entry is no longer this consumer's (or not the oldest).
 */
export const DEAD_LETTER = new LuaScript(
  'dead-letter',
  2,
  `${FIRST_PENDING_LUA}
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #p == 0 then return false end
if ARGV[4] == '1' and not first_pending(ARGV[3]) then return false end
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
local id = redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return id
`,
);

/**
 * ack-effects-n: acknowledges an entry and applies the handler's declared Redis writes, atomically, only if this is
 * the first acknowledgement of the entry in the group (XACK answers 1). A second run of the same entry applies nothing.
 * Without a pending record nothing is applied, even for an entry that was deleted from the stream while held (any
 * XAUTOCLAIM drops a deleted entry's record): a resent script (its first reply lost with the connection) must find
 * nothing to do the second time. A run is also refused when the entry was delivered again since it got it (its count
 * went up: this consumer's own claim took it back while this run's script was delayed), so the overtaken run's
 * effects are never the ones applied.
 * Input: KEYS[1] stream, KEYS[2..] the effects' keys; ARGV[1] group, ARGV[2] consumer, ARGV[3] id, ARGV[4] the
 *        delivery count this run got it with, ARGV[5] '1' on a partition (refused unless it is the oldest entry pending
 *        in the group), ARGV[6] number of effects, then per effect: command, key index (into KEYS), argument count,
 *        arguments.
 * Output: 1 when applied; 0 when the entry is not pending (already acknowledged, or its pending record was dropped);
 *         -1 when another consumer owns it now, or another run of it has started since; -2 when an earlier entry of
 *         the partition is still pending.
 */
export const ACK_WITH_EFFECTS = new LuaScript(
  'ack-effects',
  -1,
  `${FIRST_PENDING_LUA}
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 then return 0 end
if p[1][2] ~= ARGV[2] or p[1][4] > tonumber(ARGV[4]) then return -1 end
if ARGV[5] == '1' and not first_pending(ARGV[3]) then return -2 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
local n = tonumber(ARGV[6])
local i = 7
for _ = 1, n do
  local cmd = ARGV[i]
  local key = KEYS[tonumber(ARGV[i + 1])]
  local argc = tonumber(ARGV[i + 2])
  local args = {}
  for j = 1, argc do args[j] = ARGV[i + 2 + j] end
  redis.call(cmd, key, unpack(args))
  i = i + 3 + argc
end
return 1
`,
);

/**
 * delete-idle-consumer-1: removes a consumer from a group only if it has nothing pending and has been idle long enough,
 * checked in the same step (XGROUP DELCONSUMER would drop its pending entries).
 * Input: KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] minimum idle time in ms.
 * Output: 1 when deleted, 0 otherwise.
 */
export const DELETE_IDLE_CONSUMER = new LuaScript(
  'delete-idle-consumer',
  1,
  `local consumers = redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
for _, c in ipairs(consumers) do
  local info = {}
  for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
  if info['name'] == ARGV[2] then
    if tonumber(info['pending']) == 0 and tonumber(info['idle']) >= tonumber(ARGV[3]) then
      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
      return 1
    end
    return 0
  end
end
return 0
`,
);

/**
 * raise-group-1: moves a group's last-delivered id up to an id (XGROUP SETID), never down: after another instance
 * recreated a destroyed group at the last id it knew delivered, below entries this one holds, so that `>` does not
 * deliver those to another consumer while they run here.
 * Input: KEYS[1] stream; ARGV[1] group, ARGV[2] id.
 * Output: 1 when moved, 0 otherwise (already there or past it, or no such group).
 */
export const RAISE_GROUP = new LuaScript(
  'raise-group',
  1,
  `${OWNED_LUA}
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  if info['name'] == ARGV[1] then
    if not before(info['last-delivered-id'], ARGV[2]) then return 0 end
    redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], ARGV[2])
    return 1
  end
end
return 0
`,
);

/**
 * replay-dead-letter-2: puts a dead letter back on its stream (its original fields, without the `dl:` ones) and
 * removes it from the dead-letter stream, in one step.
 * Input: KEYS[1] dead-letter stream, KEYS[2] target stream; ARGV[1] dead-letter entry id, ARGV[2] field prefix to strip.
 * Output: the new entry's id, or false when there is no such dead letter.
 */
export const REPLAY_DEAD_LETTER = new LuaScript(
  'replay-dead-letter',
  2,
  `local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return false end
local fields = {}
local entry = found[1][2]
for i = 1, #entry, 2 do
  if string.sub(entry[i], 1, #ARGV[2]) ~= ARGV[2] then
    fields[#fields + 1] = entry[i]
    fields[#fields + 1] = entry[i + 1]
  end
end
if #fields == 0 then return redis.error_reply('dead letter ' .. ARGV[1] .. ' has no original fields to replay') end
local id = redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('XDEL', KEYS[1], ARGV[1])
return id
`,
);
