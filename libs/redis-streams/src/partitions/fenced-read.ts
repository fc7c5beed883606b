// A partition owner's read, fenced by its lease: Redis delivers new entries of the partition to this consumer only
// while its lease still holds the token of this acquisition. An owner paused past its lease (GC, SIGSTOP) that wakes up
// after another instance took the partition reads nothing more there, even before its own renewal notices the loss.
// A blocking XREADGROUP can't check anything when it returns, and a script can't block; so the read is a script that
// checks and reads without blocking, and when it finds nothing, a plain XREAD (which changes nothing in the group)
// blocks until an entry after the group's last delivered one arrives.
import type { Redis } from 'ioredis';
import { LuaScript } from '../redis/lua-script.js';
import type { RawEntry, RawStreamBatch } from '../redis/stream-commands.js';

/**
 * read-fenced-2: reads new entries of a partition for `consumer` while the lease holds `token`.
 * Input: KEYS[1] partition stream, KEYS[2] its lease; ARGV[1] token, ARGV[2] group, ARGV[3] consumer, ARGV[4] count.
 * Output: false when the lease is not (or no longer) this holder's; {1, entries} when entries were read; {0, id} when
 * there were none, with the group's last delivered id (every entry after it is new to the group).
 */
const READ_FENCED = new LuaScript(
  'read-fenced',
  2,
  `if redis.call('GET', KEYS[2]) ~= ARGV[1] then return false end
local read = redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[3], 'COUNT', ARGV[4], 'STREAMS', KEYS[1], '>')
if read then return {1, read[1][2]} end
for _, info in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local fields = {}
  for i = 1, #info, 2 do fields[info[i]] = info[i + 1] end
  if fields['name'] == ARGV[2] then return {0, fields['last-delivered-id']} end
end
return {0, '0-0'}
`,
);

export interface FencedReadOptions {
  group: string;
  consumer: string;
  count: number;
  block: number;
  /** The partition's lease key and this acquisition's token (`acquireLease`). */
  lease: string;
  token: string;
}

/**
 * Reads new entries of one partition: null when there were none within `block` ms, 'fenced' when the lease is no longer
 * this holder's (the partition owner stops the reader then). `redis` is the reader's own (blocking) connection.
 */
export async function readFenced(
  redis: Redis,
  key: string,
  options: FencedReadOptions,
): Promise<RawStreamBatch[] | null | 'fenced'> {
  const { group, consumer, count, block, lease, token } = options;
  const reply = await READ_FENCED.run<[1, RawEntry[]] | [0, string] | null>(
    redis,
    [key, lease],
    [token, group, consumer, count],
  );
  if (reply === null) return 'fenced';
  if (reply[0] === 1) return [[key, reply[1]]];
  await redis.call('XREAD', 'COUNT', 1, 'BLOCK', block, 'STREAMS', key, reply[1]);
  return null;
}
