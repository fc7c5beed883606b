import type { Redis } from 'ioredis';

/** How often a connection's socket became ready and closed, counted from the first time it was asked about. */
export interface ConnectionHistory {
  readonly readies: number;
  readonly closes: number;
}

const histories = new WeakMap<Redis, ConnectionHistory>();

/**
 * The live counts of `redis`'s socket events. WAIT counts the replicas that reached the writes sent on the connection
 * it runs on: a WAIT that ioredis sends on a new socket (after a reconnect, or resent from its offline queue) knows
 * nothing of the writes of the old one and confirms them at once. An XADD answered at `closes` = n and its WAIT
 * answered at the same n ran on one socket. Ask before sending, so that every event after the send is counted.
 */
export function connectionHistory(redis: Redis): ConnectionHistory {
  let history = histories.get(redis);
  if (!history) {
    const counts = { readies: 0, closes: 0 };
    redis.on('ready', () => counts.readies++);
    redis.on('close', () => counts.closes++);
    histories.set(redis, counts);
    history = counts;
  }
  return history;
}
