import type { LoggerService } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { StreamDeserializer } from '../interfaces/serialization.interface.js';
import type { RedisConnection } from '../interfaces/redis-streams-options.interface.js';
import type { ClusterSettling } from '../redis/cluster-settling.js';
import { connectOrExplain, createRedis } from '../redis/connection.js';
import type { RedisStreamsObserver } from './redis-streams.observer.js';
import type { QueuedEntry, StreamSubscription } from './subscription.js';
import { WorkQueue } from './work-queue.js';
import { withTimeout } from './with-timeout.js';

export interface StreamReaderOptions {
  connection: RedisConnection;
  connectionName: string;
  /** The shared, non-blocking connection for acks, claims and scripts. */
  commands: Redis;
  subscriptions: StreamSubscription[];
  consumer: string;
  block: number;
  count: number;
  concurrency: number;
  maxPayloadBytes: number;
  deserializer: StreamDeserializer;
  logger: LoggerService;
  /** Told about processed, failed, claimed and dead-lettered entries (metrics); none by default. */
  observer?: RedisStreamsObserver;
  /** Retries start-up steps while a Redis Cluster settles (`listen()`'s bound); none: each step runs once. */
  settling?: ClusterSettling;
}

/**
 * A loop of blocking reads on a connection of its own, feeding a bounded work queue. A read that doesn't come back in
 * time (a connection lost without notice) is abandoned and the connection replaced; errors back off and retry.
 * Subclasses say what to read and how to handle an entry.
 */
export abstract class StreamReader {
  protected redis: Redis;
  protected closing = false;
  protected readonly keys: string[];
  protected readonly subscriptions = new Map<string, StreamSubscription>();
  protected readonly queue: WorkQueue<QueuedEntry>;
  private loopDone: Promise<void> = Promise.resolve();
  private failures = 0;
  private readAborted?: () => void;

  constructor(protected readonly options: StreamReaderOptions) {
    for (const sub of options.subscriptions) this.subscriptions.set(sub.key, sub);
    this.keys = [...this.subscriptions.keys()];
    this.queue = new WorkQueue(options.concurrency, options.count, (entry, done) => this.handle(entry, done));
    this.redis = this.connect();
  }

  /** Prepares Redis (groups, start ids) and starts the read loop in the background. */
  async start(): Promise<void> {
    // Not connect() alone: on a cluster failing over, its promise may never settle although the connection gets ready.
    await connectOrExplain(this.redis);
    await this.prepare();
    this.loopDone = this.loop();
  }

  /**
   * Stops reading at once: nothing new starts, the blocked read is cut, and waiters for room are woken. Returns the
   * entries that were queued but had not started. Waits at most `LOOP_EXIT_MS` for the loop (a command it sent while
   * Redis is unreachable may never answer).
   */
  async stopReading(): Promise<QueuedEntry[]> {
    this.closing = true;
    const queued = this.queue.close();
    this.redis.disconnect();
    await withTimeout(this.loopDone, LOOP_EXIT_MS);
    return queued;
  }

  protected abstract prepare(): Promise<void>;

  /** Runs a start-up step of `prepare`, retried while a cluster settles (see `ClusterSettling`). */
  protected settle<T>(what: string, step: () => Promise<T>): Promise<T> {
    return this.options.settling ? this.options.settling.run(`${what} (${this.describe})`, step) : step();
  }
  protected abstract readOnce(): Promise<void>;
  protected abstract handle(entry: QueuedEntry, done: () => void): void;

  /** What this reader reads, for log lines. */
  get summary(): string {
    return this.describe;
  }

  protected get describe(): string {
    return `streams=${this.keys.join(',')} consumer=${this.options.consumer}`;
  }

  private connect(): Redis {
    const redis = createRedis(this.options.connection, 'blocking', this.options.connectionName);
    redis.on('error', (err: Error) => {
      if (!this.closing) this.options.logger.warn?.(`Reader connection error (${this.describe}): ${err.message}`);
    });
    // ioredis drops (never settles) a command in flight when its connection closes and resending is off.
    redis.on('close', () => this.readAborted?.());
    return redis;
  }

  private async loop(): Promise<void> {
    while (!this.closing) {
      await this.queue.waitForRoom();
      if (this.closing) break;
      // Outside the watchdog: a read given up on must not go on in the background with more than its own command.
      await this.beforeRead().catch((err: unknown) => this.recover(err));
      if (this.closing || !this.queue.hasRoom) continue;
      try {
        // A read queued while disconnected is sent on reconnect: only one sent on a live connection can be lost.
        const live = this.redis.status === 'ready';
        if (await this.watchdog(this.readOnce(), live)) {
          this.failures = 0;
          continue;
        }
      } catch (err) {
        if (this.closing) break;
        await this.recover(err);
      }
      if (this.closing) break;
      // The read was lost with its connection: what Redis sent into it must be taken back.
      await this.afterLostRead().catch((err: unknown) => {
        this.options.logger.warn?.(
          `Could not take back entries of a lost read (${this.describe}): ${(err as Error).message}`,
        );
      });
    }
  }

  /** Runs before each read (and outside its watchdog): claims that came due while the queue was full. */
  protected async beforeRead(): Promise<void> {}

  /** Called after a read was lost with its connection; Redis may have delivered entries into it. */
  protected async afterLostRead(): Promise<void> {}

  /**
   * Runs one read; gives up on it when its connection closes, or when it hasn't answered well after its BLOCK time
   * (a connection dead without being closed), replacing the connection. Returns false when the read was lost.
   */
  private async watchdog(read: Promise<void>, live: boolean): Promise<boolean> {
    const limit = this.options.block + Math.max(5000, this.options.block);
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), limit)));
    const aborted = new Promise<'aborted'>((resolve) => {
      if (live) this.readAborted = () => resolve('aborted');
    });
    let outcome: void | 'stuck' | 'aborted';
    try {
      outcome = await Promise.race([read, stuck, aborted]);
    } finally {
      clearTimeout(timer);
      this.readAborted = undefined;
    }
    if (outcome === undefined) return true;
    read.catch(() => undefined);
    if (outcome === 'aborted' || this.closing) {
      if (!this.closing) await sleep(50);
      return false;
    }
    this.options.logger.warn?.(`A read did not return within ${limit} ms (${this.describe}); reconnecting.`);
    const old = this.redis;
    this.redis = this.connect();
    old.disconnect();
    await connectOrExplain(this.redis);
    return false;
  }

  protected async recover(err: unknown): Promise<void> {
    this.failures++;
    const message = err instanceof Error ? err.message : String(err);
    if (this.failures === 1 || this.failures % 20 === 0) {
      this.options.logger.warn?.(`Read failed (${this.describe}, attempt ${this.failures}): ${message}; retrying.`);
    }
    await sleep(Math.min(50 * 2 ** this.failures, 2000));
  }

  /** Decodes an entry; says why instead when it can't be decoded or is too large. */
  protected decode(entry: QueuedEntry): { data: unknown; headers: Record<string, string> } | DecodeFailure {
    let bytes = 0;
    for (const field of entry.fields) bytes += field.length;
    if (bytes > this.options.maxPayloadBytes) {
      const reason = `Entry too large: about ${bytes} bytes, over maxPayloadBytes (${this.options.maxPayloadBytes}); raise the option or send smaller entries.`;
      return { failed: true, reason, tooLarge: { bytes } };
    }
    try {
      return this.options.deserializer.deserialize(entry.fields);
    } catch (err) {
      return { failed: true, reason: `Undecodable entry: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}

/** Why an entry could not be handed to a handler. */
export interface DecodeFailure {
  failed: true;
  reason: string;
  tooLarge?: { bytes: number };
}

export function isDecodeFailure(value: object): value is DecodeFailure {
  return (value as Partial<DecodeFailure>).failed === true;
}

/** How long `stopReading` waits for the read loop to notice. */
const LOOP_EXIT_MS = 1000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { withTimeout };
