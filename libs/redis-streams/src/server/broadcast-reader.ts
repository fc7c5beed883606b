import { RedisStreamsContext, type RedisStreamsEntryInfo } from '../ctx-host/redis-streams.context.js';
import { compareIds, lastGeneratedId, readStreams } from '../redis/stream-commands.js';
import { describeError, invokeHandler } from './handler-invoker.js';
import { StreamReader, type StreamReaderOptions, isDecodeFailure } from './stream-reader.js';
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
        this.broadcast.startId === '$'
          ? await this.settle('finding where its streams end', () => lastGeneratedId(this.options.commands, key))
          : this.broadcast.startId;
      this.lastIds.set(key, start);
    }
  }

  protected override async readOnce(): Promise<void> {
    const ids = this.keys.map((key) => this.lastIds.get(key)!);
    const reply = await readStreams(this.redis, this.options.count, this.options.block, this.keys, ids);
    if (!reply) {
      // A read that timed out empty is when ids that went back would show: nothing after the last id is ever coming.
      await this.checkIdsWentBack();
      return;
    }
    for (const [key, entries] of reply) {
      if (entries.length === 0) continue;
      this.lastIds.set(key, entries[entries.length - 1][0]);
      for (const [id, fields] of entries) {
        this.queue.push({ key, id, fields: fields ?? [], deliveries: 1, since: 0, slot: -1 });
      }
    }
  }

  protected override async afterLostRead(): Promise<void> {
    await this.checkIdsWentBack();
  }

  /**
   * A stream whose newest id is below the last id read here was replaced (a Redis restart without persistence and a
   * clock behind, a new node, or DEL and new entries with lower ids): its entries would all be skipped, so reading
   * resumes from its start.
   */
  private async checkIdsWentBack(): Promise<void> {
    for (const key of this.keys) {
      const last = this.lastIds.get(key)!;
      if (last === '0' || last === '0-0' || last === '$') continue;
      const newest = await lastGeneratedId(this.options.commands, key);
      if (compareIds(newest, last) >= 0) continue;
      this.options.logger.warn?.(
        `Stream ${key}'s newest id ${newest} is below the last id read (${last}): the stream was replaced; reading it ` +
          `again from its start (${this.describe}).`,
      );
      this.lastIds.set(key, '0-0');
    }
  }

  protected override handle(entry: QueuedEntry, done: () => void): void {
    const sub = this.subscriptions.get(entry.key)!;
    const decoded = this.decode(entry);
    if (isDecodeFailure(decoded)) {
      this.logEntry(entry, `skipped: ${decoded.reason}`);
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

  /** Stops reading and starts nothing more; waits up to `timeout` ms for running handlers. */
  async close(timeout: number): Promise<void> {
    await this.stopReading();
    await this.queue.drain(timeout);
  }

  private logEntry(entry: QueuedEntry, message: string): void {
    this.options.logger.error(
      `[stream=${entry.key} group=(broadcast) consumer=${this.options.consumer} id=${entry.id}] ${message}`,
    );
  }
}
