import type { LoggerService } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  acquireLease,
  fairShare,
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
  /** Set once its reader is closing: resolves when it has closed (and the lease was given back, unless lost). */
  closed?: Promise<void>;
}

/**
 * Owns a fair share of one partitioned stream's partitions for one consumer group: each partition is read by at most
 * one live member of the group at a time, under a lease renewed every third of `leaseTime`. Members announce
 * themselves in a heartbeat set; each takes `fairShare` of the partitions, gives back what is over its share (closing
 * that reader first) and takes free ones. A new owner first takes over the previous owner's pending entries of the
 * partition, which its reader then handles first, in order. Each acquisition has a token of its own (a generation
 * number); the reader's reads check it in Redis, so a member paused past its lease reads nothing more there once
 * another took the partition, and its acks and effects are refused for the entries taken over (they are no longer
 * its own in the group). A member that lost a lease stops that reader.
 *
 * The heartbeat and the renewals run apart from the rest (`keepAlive`), so waiting for a reader to start (a takeover's
 * backlog) or to close (a running entry of a partition given back) never lets the other leases lapse; and a reader
 * starts an entry only while its lease is surely still held (`holds`): one cut off from Redis past its lease starts
 * nothing more of what it had queued, since another member may be running it by then.
 */
export class PartitionOwner {
  private readonly owned = new Map<number, Holding>();
  /** Partitions given back or lost, whose readers are still closing; a lease given back is renewed until then. */
  private readonly leaving = new Set<Holding>();
  private readonly members: string;
  private live: string[] = [];
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private renewing?: Promise<void>;
  private closing = false;

  constructor(private readonly options: PartitionOwnerOptions) {
    this.members = membersKey(options.streamKey, options.group);
  }

  /** The partitions this member owns now. */
  get partitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    await this.keepAlive();
    // Renewals first: the first tick waits for the readers it starts (a takeover's backlog), and they for the leases.
    this.timer = setInterval(
      () => {
        this.renew();
        if (!this.closing) this.run();
      },
      Math.max(50, Math.floor(this.options.leaseTime / 3)),
    );
    this.timer.unref();
    const first = this.tick();
    this.ticking = first.then(
      () => (this.ticking = undefined),
      () => (this.ticking = undefined),
    );
    try {
      await first;
    } catch (err) {
      clearInterval(this.timer);
      throw err;
    }
  }

  async close(timeout: number): Promise<void> {
    this.closing = true;
    // Leaving the members at once lets the others count without this one while its readers close.
    const { commands, consumer } = this.options;
    const left = withTimeout(removeMember(commands, this.members, consumer), CLOSE_STEP_MS);
    // A tick waiting for a reader to start goes on once it is closed; leases are renewed until their readers closed.
    const leaving = [...this.leaving].map((holding) => holding.closed);
    await Promise.allSettled([...this.partitions.map((partition) => this.give(partition, timeout)), ...leaving]);
    clearInterval(this.timer);
    await left;
  }

  private run(): void {
    if (this.ticking) return;
    this.ticking = this.tick()
      .catch((err: unknown) => {
        this.options.logger.warn?.(`Partition leases of ${this.describe()}: ${(err as Error).message}; retrying.`);
      })
      .finally(() => (this.ticking = undefined));
  }

  private renew(): void {
    if (this.renewing) return;
    this.renewing = this.keepAlive()
      .catch((err: unknown) => {
        this.options.logger.warn?.(`Lease renewals of ${this.describe()}: ${(err as Error).message}; retrying.`);
      })
      .finally(() => (this.renewing = undefined));
  }

  /** Announces this member (until closing) and renews the leases held here, given-back ones until their readers closed. */
  private async keepAlive(): Promise<void> {
    const { commands, consumer, leaseTime } = this.options;
    if (!this.closing) this.live = await heartbeat(commands, this.members, consumer, leaseTime);
    for (const holding of [...this.owned.values(), ...this.leaving]) {
      if (holding.lost) continue;
      const sent = performance.now();
      if (await renewLease(commands, this.lease(holding.partition), holding.token, leaseTime)) {
        holding.heldUntil = sent + leaseTime;
      } else if (!holding.closed) {
        holding.lost = true; // its reader starts nothing more from now on; the next tick closes it
      }
    }
  }

  private async tick(): Promise<void> {
    const { commands, consumer, leaseTime, subscriptions, shutdownTimeout } = this.options;
    for (const [partition, holding] of [...this.owned]) {
      if (!holding.lost) continue;
      this.options.logger.warn?.(`Lost the lease of partition ${partition} (${this.describe()}); stopping its reader.`);
      await this.leave(holding, shutdownTimeout);
    }
    const share = fairShare(subscriptions.length, this.live, consumer);
    while (this.owned.size > share && !this.closing) {
      await this.give(Math.max(...this.owned.keys()), shutdownTimeout);
    }
    for (let partition = 0; partition < subscriptions.length && this.owned.size < share; partition++) {
      if (this.closing) return;
      if (this.owned.has(partition)) continue;
      const sent = performance.now();
      const token = await acquireLease(commands, subscriptions[partition].key, this.options.group, consumer, leaseTime);
      if (token !== null) await this.own(partition, token, sent + leaseTime);
    }
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
    this.owned.set(partition, { partition, token, reader, heldUntil, lost: false });
    try {
      const taken = await takeOverPending(commands, key, group, consumer);
      if (taken > 0) logger.log?.(`Took over ${taken} pending entries of partition ${partition} (${this.describe()}).`);
      // Closing meanwhile gave it back (and closed the reader) without waiting for this tick: a closed reader stays so.
      if (this.owned.get(partition)?.reader !== reader) return;
      await reader.start();
    } catch (err) {
      // Given back at once rather than left to expire: the next tick (here or elsewhere) takes it again.
      await this.give(partition, this.options.shutdownTimeout).catch(() => undefined);
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

  /** Stops reading a partition and gives its lease back. */
  private async give(partition: number, timeout: number): Promise<void> {
    const holding = this.owned.get(partition);
    if (holding) await this.leave(holding, timeout);
  }

  /** Closes the reader of `holding` (its lease kept and renewed meanwhile), then gives the lease back unless lost. */
  private leave(holding: Holding, timeout: number): Promise<void> {
    if (this.owned.get(holding.partition) === holding) this.owned.delete(holding.partition);
    this.leaving.add(holding);
    holding.closed ??= holding.reader
      .close(timeout)
      .finally(() => this.leaving.delete(holding))
      .then(async () => {
        if (holding.lost) return;
        const release = releaseLease(this.options.commands, this.lease(holding.partition), holding.token);
        await withTimeout(release, CLOSE_STEP_MS); // else it expires
      });
    return holding.closed;
  }

  private lease(partition: number): string {
    return leaseKey(this.options.subscriptions[partition].key, this.options.group);
  }

  private describe(): string {
    return `stream=${this.options.streamKey} group=${this.options.group} consumer=${this.options.consumer}`;
  }
}
