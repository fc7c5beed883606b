import type { LoggerService } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { partitionsOf } from '../partitions/partition-assignment.js';
import {
  acquireLease,
  heartbeat,
  leaseKey,
  membersKey,
  releaseLease,
  removeMember,
  renewLease,
  takeOverPending,
} from '../partitions/partition-leases.js';
import type { GroupReader, PartitionReading } from './group-reader.js';
import type { StreamSubscription } from './subscription.js';
import { withTimeout } from './with-timeout.js';

/** How long closing waits for one round trip of its own (a lease's release, leaving the members). */
const CLOSE_STEP_MS = 1000;
/** How often a partition given back logs that it still waits for its running handler. */
const WAITING_LOG_MS = 30_000;

export interface PartitionOwnerOptions {
  commands: Redis;
  group: string;
  consumer: string;
  /** The partitioned stream's key (with prefix); `subscriptions[p]` reads its partition `p`. */
  streamKey: string;
  subscriptions: StreamSubscription[];
  /** ms a lease lasts unless renewed; renewed every third of it. */
  leaseTime: number;
  shutdownTimeout: number;
  logger: LoggerService;
  /**
   * A reader of one partition (concurrency 1, so its entries are handled one at a time in stream order), its reads
   * fenced by the lease's `token`.
   */
  createReader: (subscription: StreamSubscription, partition: PartitionReading) => GroupReader;
}

/** One acquisition of a partition's lease, and the reader it feeds. */
interface Holding {
  partition: number;
  token: string;
  reader: GroupReader;
  /** `performance.now()` before which the lease is surely still held: the last renewal that succeeded, plus its time. */
  heldUntil: number;
  lost: boolean;
  /** The renewal under way: each lease is renewed on its own, so one node's stall delays only the leases it holds. */
  renewing?: Promise<void>;
  /** Set once its reader is closing: resolves when it has closed and its handler ended (or closing gave up on it). */
  closed?: Promise<void>;
}

/**
 * Owns this member's partitions of one partitioned stream for one consumer group. Ownership, in four rules:
 * - Members announce themselves in a heartbeat set; from the live members every member computes the same assignment
 *   (`partitionsOf`: rendezvous hashing with even shares), so each partition has one intended owner.
 * - A member takes a partition assigned to it once its lease is free, and gives back one that is no longer assigned to
 *   it only after its running entry ended and was acked, renewing the lease meanwhile: the next owner never starts
 *   an entry that still runs here. Hand-backs wait until the members seen were the same twice in a row, so a passing
 *   difference of views (a member's heartbeat late for a moment) moves nothing.
 * - Every lease is renewed on its own, apart from the heartbeat and from the others, so a stalled or failed-over node
 *   touches only the leases whose keys live there; a lease not renewed in time is lost, and its reader starts nothing.
 * - Each acquisition has a token (a generation number) that fences the reader's reads in Redis; the new owner takes
 *   over the partition's pending entries, so a paused old owner's acks and effects are refused.
 */
export class PartitionOwner {
  private readonly owned = new Map<number, Holding>();
  /** Partitions given back or lost, whose readers are still closing; a lease given back is renewed until then. */
  private readonly leaving = new Set<Holding>();
  /** The step under way for a partition (taking it, giving it back, leaving it): one at a time per partition. */
  private readonly steps = new Map<number, Promise<void>>();
  private readonly members: string;
  private live: string[] = [];
  private view = '';
  /** How many heartbeats in a row saw the same members as the one before. */
  private sameViews = 0;
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;
  private closing = false;
  private stopWaiting?: () => void;
  private readonly closingSignal = new Promise<void>((resolve) => (this.stopWaiting = resolve));

  constructor(private readonly options: PartitionOwnerOptions) {
    this.members = membersKey(options.streamKey, options.group);
  }

  /** The partitions this member owns now. */
  get partitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  /** Joins the members and takes the partitions assigned to it that are free, their readers started. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => this.onTimer(), Math.max(50, Math.floor(this.options.leaseTime / 3)));
    this.timer.unref();
    try {
      await this.rebalance();
    } catch (err) {
      clearInterval(this.timer);
      throw err;
    }
  }

  /**
   * Leaves the members at once (the others count without this one while its readers close), closes every reader
   * within `timeout`, and gives back each lease whose handler ended; a lease whose handler still runs is left to expire,
   * so the next owner starts that entry only once this one can no longer ack it (see the README on what no fence undoes).
   */
  async close(timeout: number): Promise<void> {
    this.closing = true;
    this.stopWaiting?.();
    const { commands, consumer } = this.options;
    const left = withTimeout(removeMember(commands, this.members, consumer), CLOSE_STEP_MS);
    const owned = [...this.owned.values()].map((holding) => this.leave(holding));
    const leaving = [...this.leaving].map((holding) => withTimeout(holding.closed!, timeout + CLOSE_STEP_MS));
    await Promise.allSettled([...owned, ...leaving]);
    clearInterval(this.timer);
    await left;
  }

  private onTimer(): void {
    this.renewAll();
    this.beating ??= this.beat()
      .catch((err: unknown) => {
        this.options.logger.warn?.(`Heartbeat of ${this.describe()}: ${(err as Error).message}; retrying.`);
      })
      .finally(() => (this.beating = undefined));
    if (this.closing) return;
    this.rebalance().catch((err: unknown) => {
      this.options.logger.warn?.(`Partition leases of ${this.describe()}: ${(err as Error).message}; retrying.`);
    });
  }

  /** Announces this member and reads who else is live. */
  private async beat(): Promise<void> {
    const { commands, consumer, leaseTime } = this.options;
    if (this.closing) return;
    const live = await heartbeat(commands, this.members, consumer, leaseTime);
    if (this.closing) return;
    const view = [...live].sort().join('\n');
    this.sameViews = view === this.view ? this.sameViews + 1 : 0;
    this.view = view;
    this.live = live;
  }

  private renewAll(): void {
    const { commands, leaseTime, logger } = this.options;
    for (const holding of [...this.owned.values(), ...this.leaving]) {
      if (holding.lost || holding.renewing) continue;
      const sent = performance.now();
      holding.renewing = renewLease(commands, this.lease(holding.partition), holding.token, leaseTime)
        .then(
          (renewed) => {
            if (renewed) holding.heldUntil = sent + leaseTime;
            else holding.lost = true; // its reader starts nothing more from now on; the next step closes it
          },
          (err: unknown) => {
            logger.warn?.(
              `Lease renewal of partition ${holding.partition} (${this.describe()}): ${(err as Error).message}; retrying.`,
            );
          },
        )
        .finally(() => (holding.renewing = undefined));
    }
  }

  /** Starts, for each partition without a step under way, what the assignment asks of it; resolves when they ended. */
  private async rebalance(): Promise<void> {
    const { subscriptions, consumer, logger } = this.options;
    const wanted = partitionsOf(subscriptions.length, this.live, consumer);
    const started: Promise<void>[] = [];
    for (let partition = 0; partition < subscriptions.length; partition++) {
      if (this.closing) break;
      if (this.steps.has(partition)) continue;
      const holding = this.owned.get(partition);
      let step: (() => Promise<void>) | undefined;
      if (holding?.lost) {
        step = () => {
          logger.warn?.(`Lost the lease of partition ${partition} (${this.describe()}); stopping its reader.`);
          return this.leave(holding);
        };
      } else if (holding && !wanted.has(partition) && this.sameViews > 0) {
        step = () => {
          logger.log?.(`Giving partition ${partition} back (${this.describe()}): the members changed.`);
          return this.leave(holding);
        };
      } else if (!holding && wanted.has(partition)) {
        step = () => this.acquire(partition);
      }
      if (step) started.push(this.step(partition, step));
    }
    const outcomes = await Promise.allSettled(started);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private step(partition: number, run: () => Promise<void>): Promise<void> {
    const step = run().finally(() => this.steps.delete(partition));
    this.steps.set(partition, step);
    return step;
  }

  private async acquire(partition: number): Promise<void> {
    const { commands, consumer, leaseTime, subscriptions, group } = this.options;
    // Still closing a reader of this partition here (a lease lost while its handler runs): not again until it ended.
    if ([...this.leaving].some((holding) => holding.partition === partition)) return;
    const sent = performance.now();
    const token = await acquireLease(commands, subscriptions[partition].key, group, consumer, leaseTime);
    if (token !== null) await this.own(partition, token, sent + leaseTime);
  }

  private async own(partition: number, token: string, heldUntil: number): Promise<void> {
    const { commands, group, consumer, subscriptions, logger } = this.options;
    if (this.closing) return void (await releaseLease(commands, this.lease(partition), token));
    const { key } = subscriptions[partition];
    const lease = this.lease(partition);
    const reader = this.options.createReader(subscriptions[partition], {
      lease,
      token,
      isHeld: () => this.holds(partition, token),
    });
    const holding: Holding = { partition, token, reader, heldUntil, lost: false };
    this.owned.set(partition, holding);
    try {
      const taken = await takeOverPending(commands, key, lease, token, group, consumer);
      if (taken === 'fenced')
        holding.lost = true; // lost already: the next step closes it
      else if (taken > 0)
        logger.log?.(`Took over ${taken} pending entries of partition ${partition} (${this.describe()}).`);
      // Closing meanwhile gave it back (and closed the reader) without waiting for this step: a closed reader stays so.
      if (this.owned.get(partition) !== holding || holding.lost) return;
      await reader.start();
    } catch (err) {
      // Given back at once rather than left to expire: the next step (here or elsewhere) takes it again.
      await this.leave(holding).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Whether this member surely still holds `partition` under `token`: the lease was last renewed (or taken) less than a
   * lease time ago, counted from when that command was sent, so Redis has not let it expire yet.
   */
  private holds(partition: number, token: string): boolean {
    const holding = this.owned.get(partition);
    return holding?.token === token && !holding.lost && performance.now() < holding.heldUntil;
  }

  /**
   * Closes the reader of `holding`, the lease kept and renewed meanwhile. Outside `close()` it then waits for the
   * running handler to end and its ack to be written, however long that takes; closing waits `shutdownTimeout` at most.
   * The lease is given back only once nothing of the partition runs here any more; else it is left to expire.
   */
  private leave(holding: Holding): Promise<void> {
    if (this.owned.get(holding.partition) === holding) this.owned.delete(holding.partition);
    this.leaving.add(holding);
    holding.closed ??= this.closeReader(holding).finally(() => this.leaving.delete(holding));
    return holding.closed;
  }

  private async closeReader(holding: Holding): Promise<void> {
    const { reader, partition } = holding;
    const { logger, commands, shutdownTimeout } = this.options;
    await reader.close(shutdownTimeout);
    if (!reader.idle && !this.closing) {
      logger.warn?.(
        `Partition ${partition} (${this.describe()}) waits for its running handler before it is given back.`,
      );
      const reminder = setInterval(() => {
        logger.warn?.(`Partition ${partition} (${this.describe()}) still waits for its running handler.`);
      }, WAITING_LOG_MS);
      reminder.unref();
      await Promise.race([reader.quiesced(), this.closingSignal]).finally(() => clearInterval(reminder));
    }
    if (holding.lost) return;
    if (!reader.idle) {
      logger.warn?.(
        `Partition ${partition} (${this.describe()}): its handler still runs; its lease is left to expire, and its ` +
          `ack will be refused once the next owner took the entry over.`,
      );
      return;
    }
    await withTimeout(releaseLease(commands, this.lease(partition), holding.token), CLOSE_STEP_MS); // else it expires
  }

  private lease(partition: number): string {
    return leaseKey(this.options.subscriptions[partition].key, this.options.group);
  }

  private describe(): string {
    return `stream=${this.options.streamKey} group=${this.options.group} consumer=${this.options.consumer}`;
  }
}
