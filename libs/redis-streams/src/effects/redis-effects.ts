import { keySlot } from '../cluster/key-slot.js';
import { CrossSlotEffectError } from '../errors/cross-slot-effect.error.js';
import type { RedisEffect } from '../redis/stream-commands.js';

/** Commands a handler may declare as effects: writes whose replay after a crash would double-count. */
const ALLOWED = new Set([
  'INCRBY',
  'INCRBYFLOAT',
  'DECRBY',
  'HINCRBY',
  'HINCRBYFLOAT',
  'HSET',
  'HDEL',
  'SET',
  'DEL',
  'EXPIRE',
  'PEXPIRE',
  'SADD',
  'SREM',
  'ZADD',
  'ZINCRBY',
  'ZREM',
  'PFADD',
  'LPUSH',
  'RPUSH',
  'XADD',
]);

/**
 * Redis writes a handler declares instead of performing: they are applied atomically with the entry's acknowledgement
 * and only by its first acknowledgement in the group, so a second run of the same entry (after a crash, a claim race
 * or a retry) applies nothing. Effects outside Redis stay at-least-once: give them an idempotency key.
 *
 * Keys are used as given (no `keyPrefix`). On Redis Cluster they must share the stream's hash slot: the server then
 * passes the stream key as `sameSlotAs`, and a key of another slot is refused when declared.
 */
export class RedisEffects {
  private readonly list: RedisEffect[] = [];
  private sealed = false;

  constructor(private readonly sameSlotAs?: string) {}

  /** Declares any allowed write: `effects.add('HINCRBY', key, field, 1)`. */
  add(command: string, key: string, ...args: (string | number)[]): this {
    if (this.sealed) {
      throw new Error(
        `Effect ${command} ${key} declared after the entry was acknowledged (ctx.ack()); it could not be applied. ` +
          'Declare every effect before calling ctx.ack().',
      );
    }
    const upper = command.toUpperCase();
    if (!ALLOWED.has(upper)) {
      throw new TypeError(
        `"${command}" can't be declared as an effect. Use one of: ${[...ALLOWED].join(', ')}; ` +
          'or perform it in the handler (at-least-once).',
      );
    }
    if (this.sameSlotAs !== undefined && keySlot(key) !== keySlot(this.sameSlotAs)) {
      throw new CrossSlotEffectError(key, this.sameSlotAs);
    }
    this.list.push({ command: upper, key, args });
    return this;
  }

  incrBy(key: string, increment = 1): this {
    return this.add('INCRBY', key, increment);
  }

  hIncrBy(key: string, field: string, increment = 1): this {
    return this.add('HINCRBY', key, field, increment);
  }

  hSet(key: string, field: string, value: string | number): this {
    return this.add('HSET', key, field, value);
  }

  sAdd(key: string, ...members: (string | number)[]): this {
    return this.add('SADD', key, ...members);
  }

  zIncrBy(key: string, increment: number, member: string): this {
    return this.add('ZINCRBY', key, increment, member);
  }

  set(key: string, value: string | number): this {
    return this.add('SET', key, value);
  }

  expire(key: string, seconds: number): this {
    return this.add('EXPIRE', key, seconds);
  }

  /** The declared writes, in order. */
  get pending(): readonly RedisEffect[] {
    return this.list;
  }

  /** Returns the declared writes and refuses any more (they are being applied with the acknowledgement). */
  seal(): readonly RedisEffect[] {
    this.sealed = true;
    return this.list;
  }
}
