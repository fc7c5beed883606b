import { Command, type Redis } from 'ioredis';

type Cork = { cork(): void; uncork(): void };

/** Sockets corked until the next tick. */
const corked = new WeakSet<Cork>();

function uncork(stream: Cork): void {
  corked.delete(stream);
  stream.uncork();
}

/**
 * Sends one command so that every command sent on `redis` in the same tick (microtasks included) leaves in one socket
 * write: the first corks the socket and a `process.nextTick` uncorks it. ioredis still owns everything else (the
 * offline queue while connecting or reconnecting, reply matching, retries). For many small commands this costs about
 * half the CPU of ioredis auto-pipelining, which allocates a promise, a callback and a `nextTick` per command and
 * keeps only one pipeline in flight (BENCHMARKS.md, "Emit"). It also keeps memory flat: auto-pipelining adds and
 * deletes a `Map` entry per tick, and the dead hash tables that churn leaves in old space point at young commands and
 * their arguments, so the scavenger promoted every acked id and the entries around it (BENCHMARKS.md, "Memory").
 */
export function sendCorked<T>(redis: Redis, name: string, args: (string | number)[]): Promise<T> {
  const stream = redis.stream as unknown as Cork | undefined;
  if (stream && redis.status === 'ready' && !corked.has(stream)) {
    corked.add(stream);
    stream.cork();
    process.nextTick(uncork, stream);
  }
  const command = new Command(name, args, { keyPrefix: redis.options.keyPrefix, replyEncoding: 'utf8' });
  return redis.sendCommand(command) as Promise<T>;
}
