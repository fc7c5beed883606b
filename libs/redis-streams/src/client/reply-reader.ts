import type { LoggerService } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CORRELATION_ID_HEADER, REPLY_KIND_HEADER, REPLY_SEQUENCE_HEADER } from '../constants.js';
import type { RedisConnection } from '../interfaces/redis-streams-options.interface.js';
import type { StreamDeserializer } from '../interfaces/serialization.interface.js';
import { createRedis } from '../redis/connection.js';
import {
  deleteEntries,
  deleteReplyStream,
  openReplyStream,
  readReplies,
  refreshReplyStream,
} from '../redis/request-commands.js';
import type { ReplyKind } from '../server/request-responder.js';
import { withTimeout } from '../server/with-timeout.js';

/** How long one blocking read of the reply stream waits, in ms. */
const BLOCK = 5000;
/** A read that hasn't returned this long after its BLOCK time is taken for a dead connection. */
const READ_GRACE = 5000;
const COUNT = 100;
/**
 * How long each step of `close()` may take, in ms. With Redis unreachable the loop's stream refresh and the delete of
 * the reply stream wait in ioredis's offline queue with no end: close() gives up on them instead (the stream expires).
 */
export const CLOSE_STEP_MS = 1000;

export interface ReplyReaderOptions {
  connection: RedisConnection;
  /** The client's shared, non-blocking connection (expiry refresh, deleting read replies). */
  commands: Redis;
  /** This client's reply stream key. */
  key: string;
  /** Time to live of the reply stream in ms, pushed back every third of it. */
  ttl: number;
  deserializer: StreamDeserializer;
  logger: LoggerService;
  /** Told about every reply read, in stream order; `sequence` is undefined for replies of older servers. */
  onReply: (correlationId: string, kind: ReplyKind, data: unknown, sequence: number | undefined) => void;
}

/**
 * Reads one client's reply stream with a blocking XREAD loop on a connection of its own. The stream expires unless
 * refreshed, so the stream of a client that crashed goes away on its own; `close()` deletes it at once. Replies are
 * deleted once read, so the stream stays short.
 */
export class ReplyReader {
  private readonly redis: Redis;
  private lastId = '0-0';
  private closing = false;
  private loopDone: Promise<void> = Promise.resolve();
  private refreshTimer?: NodeJS.Timeout;
  private failures = 0;
  /** Set while a read sent on a live connection is in flight: fails it when that connection closes. */
  private readAborted?: () => void;

  constructor(private readonly options: ReplyReaderOptions) {
    this.redis = createRedis(options.connection, 'blocking', 'nestjs-redis-streams:client-replies');
    this.redis.on('error', (err: Error) => {
      if (!this.closing) options.logger.warn?.(`Reply reader connection error (${options.key}): ${err.message}`);
    });
    // ioredis drops (never settles) a command in flight when its connection closes and resending is off.
    this.redis.on('close', () => this.readAborted?.());
  }

  /** Creates the reply stream and starts reading it. */
  async start(): Promise<void> {
    this.lastId = await openReplyStream(this.options.commands, this.options.key, this.options.ttl);
    // close() does not wait for a start that Redis is slow to answer: a reader closed meanwhile must not connect.
    if (this.closing) return;
    await this.redis.connect();
    this.scheduleRefresh();
    this.loopDone = this.loop();
  }

  /**
   * Stops reading (the blocked read is cut) and deletes the reply stream. Bounded: when Redis doesn't answer, the
   * stream is left to expire (`replyTtl`) rather than holding the caller's close(). Resolves false when Redis gave
   * no answer, so that the caller doesn't wait on the shared connection once more.
   */
  async close(): Promise<boolean> {
    this.closing = true;
    clearTimeout(this.refreshTimer);
    this.redis.disconnect();
    // disconnect() only half-closes the socket (FIN): a frozen Redis never closes it, so the read is failed here.
    this.readAborted?.();
    await withTimeout(this.loopDone, CLOSE_STEP_MS);
    const { commands, key, ttl, logger } = this.options;
    const deleted = deleteReplyStream(commands, key);
    let failure: unknown;
    deleted.catch((err: unknown) => (failure = err));
    const answered = await withTimeout(deleted, CLOSE_STEP_MS);
    if (!answered || failure !== undefined) {
      const why = failure instanceof Error ? failure.message : `no answer within ${CLOSE_STEP_MS} ms`;
      logger.warn?.(`Deleting reply stream ${key} on close failed (${why}); it expires within ${ttl} ms.`);
    }
    return answered && failure === undefined;
  }

  private async loop(): Promise<void> {
    while (!this.closing) {
      try {
        const reply = await this.withWatchdog(readReplies(this.redis, this.options.key, this.lastId, COUNT, BLOCK));
        this.failures = 0;
        if (reply) this.dispatch(reply[0][1]);
      } catch (err) {
        if (this.closing) break;
        this.failures++;
        if (this.failures === 1 || this.failures % 20 === 0) {
          this.options.logger.warn?.(
            `Reading replies from ${this.options.key} failed (attempt ${this.failures}): ${(err as Error).message}; retrying.`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** this.failures, 2000)));
        // A Redis restart without persistence loses the reply stream: re-create it now, not at the next refresh.
        if (!this.closing) await this.ensureStream();
      }
    }
  }

  private dispatch(entries: [string, string[] | null][]): void {
    const ids: string[] = [];
    for (const [id, fields] of entries) {
      this.lastId = id;
      ids.push(id);
      if (!fields) continue;
      let decoded;
      try {
        decoded = this.options.deserializer.deserialize(fields);
      } catch (err) {
        this.options.logger.error(
          `Reply ${id} on ${this.options.key} could not be decoded and was dropped: ${(err as Error).message}`,
        );
        continue;
      }
      const correlationId = decoded.headers[CORRELATION_ID_HEADER];
      const kind = decoded.headers[REPLY_KIND_HEADER] as ReplyKind | undefined;
      if (!correlationId || !kind) continue; // the entry that created the stream, or a stranger's
      const sequence = Number(decoded.headers[REPLY_SEQUENCE_HEADER] ?? Number.NaN);
      this.options.onReply(correlationId, kind, decoded.data, Number.isInteger(sequence) ? sequence : undefined);
    }
    deleteEntries(this.options.commands, this.options.key, ids).catch((err: unknown) => {
      this.options.logger.warn?.(`Deleting read replies from ${this.options.key} failed: ${(err as Error).message}`);
    });
  }

  /** A read that doesn't return well after its BLOCK time (a connection lost without notice) is cut and retried. */
  private async withWatchdog<T>(read: Promise<T>): Promise<T> {
    // A read queued while disconnected is sent on reconnect: only one sent on a live connection can be lost.
    const live = this.redis.status === 'ready';
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.redis.disconnect(true);
        reject(new Error(`no answer within ${BLOCK + READ_GRACE} ms; reconnected`));
      }, BLOCK + READ_GRACE);
    });
    const aborted = new Promise<never>((_, reject) => {
      if (live) this.readAborted = () => reject(new Error('the connection closed during the read'));
    });
    try {
      return await Promise.race([read, stuck, aborted]);
    } finally {
      clearTimeout(timer);
      this.readAborted = undefined;
      read.catch(() => undefined);
    }
  }

  /** Pushes the expiry back while the client lives (every third of it). */
  private scheduleRefresh(): void {
    this.refreshTimer = setTimeout(
      () => {
        void this.ensureStream().finally(() => {
          if (!this.closing) this.scheduleRefresh();
        });
      },
      Math.max(1, Math.floor(this.options.ttl / 3)),
    );
    this.refreshTimer.unref();
  }

  /** Pushes the expiry back; re-creates the stream if it vanished (expired during a stall, lost in a Redis restart). */
  private async ensureStream(): Promise<void> {
    const { commands, key, ttl, logger } = this.options;
    try {
      if ((await refreshReplyStream(commands, key, ttl)) || this.closing) return;
      await openReplyStream(commands, key, ttl);
      logger.warn?.(`Reply stream ${key} had vanished (expired, deleted or lost by Redis); re-created it.`);
    } catch (err) {
      logger.warn?.(`Refreshing the expiry of ${key} failed: ${(err as Error).message}`);
    }
  }
}
