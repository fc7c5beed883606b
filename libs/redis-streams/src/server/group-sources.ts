import type { LoggerService } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { claimAbandoned, type ClaimedEntry, claimOwn, pendingIds, readOwnPending } from '../redis/claim-commands.js';
import { compareIds, groupLastDeliveredId } from '../redis/stream-commands.js';
import type { EntryLedger } from './entry-ledger.js';
import type { RedisStreamsObserver } from './redis-streams.observer.js';
import type { QueuedEntry } from './subscription.js';
import type { WorkQueue } from './work-queue.js';

export interface SourceOptions {
  commands: Redis;
  keys: readonly string[];
  group: string;
  consumer: string;
  count: number;
  minIdleTime: number;
  ledger: EntryLedger;
  queue: WorkQueue<QueuedEntry>;
  logger: LoggerService;
  observer?: RedisStreamsObserver;
  isClosing: () => boolean;
  /** Told the newest id taken from a stream: the group has delivered at least that far (see `recreateGroups`). */
  delivered: (key: string, id: string) => void;
}

/**
 * The sources that feed a group reader's one bounded queue besides new entries: this consumer's own pending entries
 * (left by an earlier run under its name, or delivered into a read that was lost), entries abandoned by other
 * consumers, and retries that are due. Each takes no more than the queue has room for, holds what it takes in the
 * ledger before anything else can look, and takes nothing once closing. They run one at a time, so a lost read's
 * recovery never mistakes an entry another source is taking for a lost one.
 */
export class GroupSources {
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SourceOptions) {}

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.turn.then(task, task);
    this.turn = run.catch(() => undefined);
    return run;
  }

  /**
   * Re-reads this consumer's own pending entries (left by an earlier run under its name), oldest first, a queue's room
   * at a time (waiting for room outside its turn, so that due retries can go on meanwhile).
   */
  async recoverOwnPending(): Promise<void> {
    const { commands, group, consumer, queue } = this.options;
    for (const key of this.options.keys) {
      let after: string | undefined = '0';
      while (after !== undefined && !this.options.isClosing()) {
        await queue.waitForRoom();
        const from: string = after;
        after = await this.serial(async () => {
          const room = Math.min(queue.room, this.options.count);
          if (room === 0 || this.options.isClosing()) return from;
          const since = performance.now();
          const rows = await readOwnPending(commands, key, group, consumer, from, room);
          this.accept(key, rows, since);
          return rows.length === 0 ? undefined : rows[rows.length - 1].id;
        });
      }
    }
  }

  /** XAUTOCLAIMs entries idle longer than `minIdleTime` (their consumer died or hangs) while there is room. */
  claimAbandoned(): Promise<void> {
    return this.serial(async () => {
      const { commands, group, consumer, minIdleTime, queue, logger } = this.options;
      for (const key of this.options.keys) {
        let cursor = '0-0';
        do {
          const room = queue.room;
          if (room === 0 || this.options.isClosing()) return;
          const since = performance.now();
          const result = await claimAbandoned(
            commands,
            key,
            group,
            consumer,
            minIdleTime,
            cursor,
            Math.min(room, this.options.count),
          );
          cursor = result.cursor;
          if (result.deleted.length > 0) {
            logger.warn?.(
              `${result.deleted.length} pending entries had been trimmed away; Redis dropped them from the pending list ` +
                `(stream=${key} group=${group} consumer=${consumer} ids=${result.deleted.slice(0, 10).join(',')}).`,
            );
          }
          const taken = this.accept(key, result.entries, since, (n) => `Claimed ${n} abandoned entries`);
          if (taken > 0) this.options.observer?.claimed?.(key, group, consumer, taken);
        } while (cursor !== '0-0');
      }
    });
  }

  /**
   * Takes back what Redis delivered into a read lost with its connection: this consumer's pending entries that the
   * ledger doesn't hold. Runs between reads, so no read is under way that could still deliver into this consumer.
   */
  takeBackLostRead(): Promise<void> {
    return this.serial(async () => {
      const { commands, group, consumer, queue } = this.options;
      for (const key of this.options.keys) {
        if (this.options.isClosing()) return;
        const held = this.options.ledger.heldIds(key);
        const pending = await pendingIds(commands, key, group, consumer, held.size + this.options.count);
        const lost = pending.filter((id) => !held.has(id)).slice(0, queue.room);
        if (lost.length === 0 || this.options.isClosing()) continue;
        const since = performance.now();
        // Their delivery never reached this consumer: it doesn't count against maxDeliveries.
        const rows = await claimOwn(commands, key, group, consumer, lost, 'keep');
        this.accept(key, rows, since, (n) => `Took back ${n} entries delivered into a lost read`);
      }
    });
  }

  /**
   * A partition's replay, after its order may have been broken (a failed or refused ack, a lost read, a reconnect): the
   * next queue's room of this consumer's own pending entries from `from` (`-`, or `(id` after the last one taken),
   * oldest first, their delivery counts kept (most were queued here but never started). Only those the group has
   * delivered up to now: after a forced reset backwards, entries pending from before it lie past the group's position,
   * and `>` delivers them again in their place. Returns the id to go on from, or undefined once none are left.
   */
  replayOwn(key: string, from: string): Promise<string | undefined> {
    return this.serial(async () => {
      const { commands, group, consumer, queue } = this.options;
      const room = Math.min(queue.room, this.options.count);
      if (room === 0 || this.options.isClosing()) return from;
      const delivered = await groupLastDeliveredId(commands, key, group);
      const pending = await pendingIds(commands, key, group, consumer, room, from);
      const ids = delivered === undefined ? [] : pending.filter((id) => compareIds(id, delivered) <= 0);
      if (ids.length === 0) return undefined;
      const since = performance.now();
      const rows = await claimOwn(commands, key, group, consumer, ids, 'keep');
      this.accept(key, rows, since, (n) => `Read ${n} own pending entries again, in order`);
      return ids.length < pending.length ? undefined : `(${ids[ids.length - 1]}`;
    });
  }

  /**
   * Takes a held entry back for its retry (raising its count). Returns false when it is
   * no longer this consumer's or no longer exists: then it is not run again here.
   */
  retry(entry: QueuedEntry): Promise<boolean> {
    return this.serial(async () => {
      const { commands, group, consumer } = this.options;
      const since = performance.now();
      const [row] = await claimOwn(commands, entry.key, group, consumer, [entry.id]);
      if (!row || row.fields === null) return false;
      entry.fields = row.fields;
      entry.deliveries = row.deliveries;
      entry.since = since;
      return true;
    });
  }

  /** Holds and queues claimed entries; acks and reports those whose bodies are gone. Returns how many it queued. */
  /** `what` names the take for its log line; the start-up recovery of own pending entries logs none, as before. */
  private accept(key: string, rows: ClaimedEntry[], since: number, what?: (n: number) => string): number {
    const { ledger, queue, logger, group, consumer } = this.options;
    if (rows.length > 0) this.options.delivered(key, rows[rows.length - 1].id);
    const trimmed = rows.filter((row) => row.fields === null).map((row) => row.id);
    if (trimmed.length > 0) {
      logger.warn?.(
        `Acked ${trimmed.length} pending entries whose bodies were trimmed or deleted, without running a handler ` +
          `(stream=${key} group=${group} consumer=${consumer} ids=${trimmed.slice(0, 10).join(',')}).`,
      );
      ledger.ackUnheld(key, trimmed);
    }
    // Taken while closing: left pending, for this consumer's next run or another consumer.
    if (this.options.isClosing()) return 0;
    const entries = ledger.holdClaimed(key, rows, since);
    for (const entry of entries) queue.push(entry);
    if (entries.length > 0 && what) {
      logger.log?.(`${what(entries.length)} (group=${group} stream=${key} consumer=${consumer}).`);
    }
    return entries.length;
  }
}
