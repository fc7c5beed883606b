// The Redis command sequences of request/response: appending a request, answering it, and keeping a client's reply
// stream alive. Like stream-commands.ts, nothing else in the library sends these commands directly.
import type { Redis } from 'ioredis';
import type { RawStreamBatch } from './stream-commands.js';
import { LuaScript } from './scripts.js';

/**
 * send-request-1: appends a request only if some consumer group reads the stream. Without a group no server can ever
 * see the entry (groups start at `$`), so the caller is told at once instead of waiting for its timeout.
 * Input: KEYS[1] request stream; ARGV[1] MAXLEN (`0`: no trimming), ARGV[2..] the entry's fields and values.
 * Output: the new entry id, or false when no group reads the stream.
 */
export const SEND_REQUEST = new LuaScript(
  'send-request',
  1,
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if #redis.call('XINFO', 'GROUPS', KEYS[1]) == 0 then return false end
local maxlen = tonumber(ARGV[1])
if maxlen > 0 then
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', unpack(ARGV, 2))
end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
`,
);

/**
 * reply-if-waiting-1: appends a reply to a client's reply stream only while that stream exists. A closed client
 * deleted it and a crashed one let it expire; recreating it here would leave a stream that nobody reads or expires.
 * Input: KEYS[1] reply stream; ARGV[1..] the reply entry's fields and values.
 * Output: the reply's entry id, or false when the caller is gone.
 */
export const REPLY_IF_WAITING = new LuaScript(
  'reply-if-waiting',
  1,
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV))
`,
);

/**
 * open-reply-stream-1: creates an empty reply stream (XADD then trim to nothing: Redis keeps empty streams) that
 * expires unless refreshed, so the stream of a client that crashed goes away on its own.
 * Input: KEYS[1] reply stream; ARGV[1] time to live in ms.
 * Output: the id after which replies are read.
 */
export const OPEN_REPLY_STREAM = new LuaScript(
  'open-reply-stream',
  1,
  `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '0', '*', 'opened', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return id
`,
);

/** Appends a request entry; returns its id, or null when no consumer group reads `stream`. */
export async function sendRequest(
  redis: Redis,
  stream: string,
  maxLen: number,
  fields: string[],
): Promise<string | null> {
  return (await SEND_REQUEST.run<string | null>(redis, [stream], [maxLen, ...fields])) ?? null;
}

/** Appends a reply; returns false when the reply stream is gone (its client closed or crashed). */
export async function replyIfWaiting(redis: Redis, replyStream: string, fields: string[]): Promise<boolean> {
  return ((await REPLY_IF_WAITING.run<string | null>(redis, [replyStream], fields)) ?? null) !== null;
}

/** Creates (or re-creates) a client's reply stream with a time to live; returns the id to read replies after. */
export function openReplyStream(redis: Redis, replyStream: string, ttl: number): Promise<string> {
  return OPEN_REPLY_STREAM.run<string>(redis, [replyStream], [ttl]);
}

/** Pushes the reply stream's expiry back; false when the stream no longer exists (expired while the client stalled). */
export async function refreshReplyStream(redis: Redis, replyStream: string, ttl: number): Promise<boolean> {
  return (await redis.pexpire(replyStream, ttl)) === 1;
}

/** Blocking XREAD of one stream after `id`. */
export async function readReplies(
  redis: Redis,
  replyStream: string,
  id: string,
  count: number,
  block: number,
): Promise<RawStreamBatch[] | null> {
  return (await redis.call('XREAD', 'COUNT', count, 'BLOCK', block, 'STREAMS', replyStream, id)) as
    RawStreamBatch[] | null;
}

/**
 * Deletes a closed client's reply stream. PEXPIRE with a time in the past deletes the key at once (documented Redis
 * behaviour), so a least-privilege ACL user needs no DEL, which could delete any key under its prefix.
 */
export async function deleteReplyStream(redis: Redis, replyStream: string): Promise<void> {
  await redis.pexpire(replyStream, 0);
}

/** Removes entries that are no longer needed (replies read, requests answered or given up). */
export function deleteEntries(redis: Redis, stream: string, ids: string[]): Promise<number> {
  return redis.xdel(stream, ...ids);
}
