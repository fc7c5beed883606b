import { RedisStreamsContext, type RedisStreamsEntryInfo } from '../ctx-host/redis-streams.context.js';
import { lastGeneratedId, readStreams } from '../redis/stream-commands.js';
import { describeError, invokeHandler } from './handler-invoker.js';
import { StreamReader, type StreamReaderOptions } from './stream-reader.js';
import type { QueuedEntry } from './subscription.js';

export interface BroadcastReaderOptions extends StreamReaderOptions {
  /** `'$'` (from the end at start-up), `'0'`, or an entry id. */
  startId: string;
}

const acked = (): Promise<void> => Promise.resolve();

/**
 * Reads streams with plain XREAD, so every running instance sees every entry. It remembers the last id it read per
 * stream and always reads after it: `$` is resolved once at start-up, never re-read in a loop (that would skip entries
 * added between two reads). Nothing is acknowledged; a failing handler is logged and the reader moves on.
 */
export class BroadcastReader extends StreamReader {
  private readonly lastIds = new Map<string, string>();

  constructor(private readonly broadcast: BroadcastReaderOptions) {
    super(broadcast);
  }

  protected override get describe(): string {
    return `broadcast ${super.describe}`;
  }

  protected override async prepare(): Promise<void> {
    for (const key of this.keys) {
      const start =
        this.broadcast.startId === '$' ? await lastGeneratedId(this.options.commands, key) : this.broadcast.startId;
      this.lastIds.set(key, start);
    }
  }

  protected override async readOnce(): Promise<void> {
    const ids = this.keys.map((key) => this.lastIds.get(key)!);
    const reply = await readStreams(this.redis, this.options.count, this.options.block, this.keys, ids);
    if (!reply) return;
    for (const [key, entries] of reply) {
      if (entries.length > 0) this.lastIds.set(key, entries[entries.length - 1][0]);
    }
    this.accept(reply, 1);
  }

  protected override handle(entry: QueuedEntry, done: () => void): void {
    const sub = this.subscriptions.get(entry.key)!;
    const decoded = this.decode(entry);
    if (typeof decoded === 'string') {
      this.logEntry(entry, `skipped an undecodable entry: ${decoded}`);
      return done();
    }
    const info: RedisStreamsEntryInfo = {
      stream: sub.stream,
      key: entry.key,
      id: entry.id,
      group: undefined,
      consumer: this.options.consumer,
      deliveryCount: 1,
      headers: decoded.headers,
      ack: acked,
    };
    const observer = this.options.observer;
    const started = observer ? performance.now() : 0;
    invokeHandler(sub.handler, decoded.data, new RedisStreamsContext([info]), (err) => {
      if (observer) {
        const ref = { stream: entry.key, group: undefined, consumer: this.options.consumer, id: entry.id };
        if (err === undefined) observer.processed?.(ref, performance.now() - started);
        else observer.failed?.(ref, performance.now() - started, err);
      }
      if (err !== undefined) this.logEntry(entry, `broadcast handler failed: ${describeError(err)}`);
      done();
    });
  }

  /** Stops reading and waits up to `timeout` ms for running handlers. */
  async close(timeout: number): Promise<void> {
    await this.stopReading();
    this.queue.takeQueued();
    await this.queue.drain(timeout);
  }

  private logEntry(entry: QueuedEntry, message: string): void {
    this.options.logger.error(
      `[stream=${entry.key} group=(broadcast) consumer=${this.options.consumer} id=${entry.id}] ${message}`,
    );
  }
}
