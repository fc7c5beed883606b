import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sendCorked } from './corked-send.js';

/**
 * A Lua script sent with EVALSHA, falling back to EVAL once when Redis doesn't know it yet, corked like acks (see
 * `sendCorked`): scripts run once per entry or request on the hot paths.
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly numKeys: number,
    readonly lua: string,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run<T>(redis: Redis, keys: string[], args: (string | number)[]): Promise<T> {
    try {
      return await sendCorked<T>(redis, 'evalsha', [this.sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await sendCorked<T>(redis, 'eval', [this.lua, keys.length, ...keys, ...args]);
    }
  }
}
