import type { LoggerService } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  compareIds,
  deleteIdleConsumer,
  ensureGroup,
  groupConsumers,
  groupLastDeliveredId,
  isNoGroup,
  lastGeneratedId,
  raiseGroup,
} from '../redis/stream-commands.js';
import type { EntryLedger } from './entry-ledger.js';
import type { GroupSources } from './group-sources.js';
import { describeError } from './handler-invoker.js';
import type { QueuedEntry } from './subscription.js';
import type { WorkQueue } from './work-queue.js';

export interface MaintenanceOptions {
  commands: Redis;
  keys: readonly string[];
  group: string;
  consumer: string;
  startId: string;
  minIdleTime: number;
  claimInterval: number;
  consumerIdleTimeout: number;
  ledger: EntryLedger;
  sources: GroupSources;
  queue: WorkQueue<QueuedEntry>;
  logger: LoggerService;
  isClosing: () => boolean;
}

/**
 * A group reader's upkeep: the group's existence (created at start, recreated after it vanished), the timers that keep
 * held entries fresh, claim abandoned entries, and remove idle consumers.
 */
export class GroupMaintenance {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** The newest id this reader knows was delivered to the group, per stream. */
  private readonly lastDelivered = new Map<string, string>();
  private claimDue = false;
  /** `performance.now()` before which no abandoned entries are claimed (see `holdOffClaims`). */
  private claimsFrom = 0;
  private recreating?: Promise<void>;
  private stopped = false;

  constructor(private readonly options: MaintenanceOptions) {}

  /** Creates missing groups, and learns where each group is, so a recreation after a restart doesn't replay it. */
  async ensureGroups(): Promise<void> {
    const { commands, group, startId } = this.options;
    for (const key of this.options.keys) {
      await ensureGroup(commands, key, group, startId);
      const last = await groupLastDeliveredId(commands, key, group);
      if (last !== undefined && last !== '0-0') this.delivered(key, last);
    }
  }

  delivered(key: string, id: string): void {
    const last = this.lastDelivered.get(key);
    if (last === undefined || compareIds(id, last) > 0) this.lastDelivered.set(key, id);
  }

  /** Whether `id` is at or before the newest id this reader knows the group delivered on `key`. */
  deliveredUpTo(key: string, id: string): boolean {
    const last = this.lastDelivered.get(key);
    return last !== undefined && compareIds(id, last) <= 0;
  }

  start(): void {
    const { claimInterval, minIdleTime, consumerIdleTimeout, queue, ledger } = this.options;
    // An idle reader claims at once; a busy one claims at its next free slot, before reading new entries, so a
    // dead consumer's entries don't wait behind a backlog.
    this.every(claimInterval, async () => {
      if (queue.hasRoom) await this.claim();
      else this.claimDue = true;
    });
    // A quarter of minIdleTime, start to start: three refreshes may be lost or late before anyone can claim.
    this.every(Math.max(50, Math.floor(minIdleTime / 4)), () => ledger.refresh());
    if (consumerIdleTimeout > 0) this.every(Math.min(consumerIdleTimeout, 60_000), () => this.removeIdleConsumers());
  }

  /** Stops every timer (the refresh too: call it once no handler runs any more). */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Claims abandoned entries if a claim came due while the queue was full. */
  async claimIfDue(): Promise<void> {
    if (!this.claimDue) return;
    this.claimDue = false;
    await this.claim();
  }

  /**
   * After a reconnect, claims wait `minIdleTime`. Redis may have restarted (or failed over) and lost the last refreshes
   * of entries live consumers hold: until each holder has refreshed them again (every quarter of `minIdleTime`), they
   * look idle, and claiming them would run them twice at once.
   */
  holdOffClaims(): void {
    this.claimsFrom = performance.now() + this.options.minIdleTime;
  }

  private async claim(): Promise<void> {
    // Not while disconnected either: a claim queued offline would reach Redis before the holders' refreshes.
    const offline = this.options.commands.status !== 'ready';
    if (this.options.isClosing() || offline || performance.now() < this.claimsFrom) return;
    try {
      await this.options.sources.claimAbandoned();
    } catch (err) {
      if (isNoGroup(err)) return await this.recreateGroups();
      this.holdOffClaims(); // Redis in trouble (a failover, a reconnect): the holders' refreshes may not have landed
      throw err;
    }
  }

  /**
   * The group or its stream vanished (XGROUP DESTROY, DEL, eviction, a restart without persistence). It is recreated
   * after the newest id this reader knows was delivered, so acknowledged history is not replayed (entries after it
   * are still delivered: at-least-once holds), and from `0` where nothing is known or the stream's ids went back
   * (it was recreated). One that another instance recreated first, below that id, is moved up to it (entries after its
   * position that were delivered before are then not delivered again: held ones run where they are held). Held
   * entries get their pending records back so that their acks still count.
   */
  recreateGroups(): Promise<void> {
    this.recreating ??= this.recreate().finally(() => (this.recreating = undefined));
    return this.recreating;
  }

  private async recreate(): Promise<void> {
    const { commands, group, logger } = this.options;
    for (const key of this.options.keys) {
      const known = this.lastDelivered.get(key);
      const start = known !== undefined && compareIds(await lastGeneratedId(commands, key), known) >= 0 ? known : '0';
      if (await ensureGroup(commands, key, group, start)) {
        logger.warn?.(
          `Consumer group was missing and has been recreated at ${start === '0' ? '0 (the whole stream)' : `${start}, the last id known delivered`} (group=${group} stream=${key}).`,
        );
      } else if (start === known && (await raiseGroup(commands, key, group, known))) {
        // Another instance recreated it first, at the last id it knew delivered: below entries held here, which `>`
        // would deliver again to whichever consumer reads next, running them twice at once.
        logger.warn?.(
          `Consumer group had been recreated below ${known}, the last id known delivered here; moved it up to there (group=${group} stream=${key}).`,
        );
      }
    }
    await this.options.ledger.reassert();
  }

  /** Removes consumers of the group that have nothing pending and were idle longer than `consumerIdleTimeout`. */
  private async removeIdleConsumers(): Promise<void> {
    const { commands, group, consumer, consumerIdleTimeout, logger } = this.options;
    for (const key of this.options.keys) {
      for (const other of await groupConsumers(commands, key, group)) {
        if (other.name === consumer || other.pending > 0 || other.idle < consumerIdleTimeout) continue;
        if (await deleteIdleConsumer(commands, key, group, other.name, consumerIdleTimeout)) {
          logger.log?.(`Removed idle consumer ${other.name} with nothing pending (group=${group} stream=${key}).`);
        }
      }
    }
  }

  /** Runs `task` every `interval` ms, start to start (a slow round trip doesn't stretch the period), one at a time. */
  private every(interval: number, task: () => Promise<void>): void {
    if (interval <= 0) return;
    const run = (delay: number): void => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        const started = performance.now();
        task()
          .catch((err: unknown) => {
            this.options.logger.warn?.(
              `Background task failed (group=${this.options.group} consumer=${this.options.consumer}): ${describeError(err)}`,
            );
          })
          .finally(() => {
            if (!this.stopped) run(Math.max(0, interval - (performance.now() - started)));
          });
      }, delay);
      timer.unref();
      this.timers.add(timer);
    };
    run(interval);
  }
}
