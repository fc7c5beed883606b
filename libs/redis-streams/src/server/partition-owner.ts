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
import type { GroupReader } from './group-reader.js';
import type { StreamSubscription } from './subscription.js';

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
  createReader: (subscription: StreamSubscription, partition: { lease: string; token: string }) => GroupReader;
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
 */
export class PartitionOwner {
  private readonly owned = new Map<number, { reader: GroupReader; token: string }>();
  private readonly members: string;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private closing = false;

  constructor(private readonly options: PartitionOwnerOptions) {
    this.members = membersKey(options.streamKey, options.group);
  }

  /** The partitions this member owns now. */
  get partitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => this.run(), Math.max(50, Math.floor(this.options.leaseTime / 3)));
    this.timer.unref();
  }

  async close(timeout: number): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    await this.ticking;
    await Promise.allSettled(this.partitions.map((partition) => this.give(partition, timeout)));
    await removeMember(this.options.commands, this.members, this.options.consumer).catch(() => undefined);
  }

  private run(): void {
    if (this.ticking || this.closing) return;
    this.ticking = this.tick()
      .catch((err: unknown) => {
        this.options.logger.warn?.(`Partition leases of ${this.describe()}: ${(err as Error).message}; retrying.`);
      })
      .finally(() => (this.ticking = undefined));
  }

  private async tick(): Promise<void> {
    const { commands, consumer, leaseTime, subscriptions } = this.options;
    const live = await heartbeat(commands, this.members, consumer, leaseTime);
    const share = fairShare(subscriptions.length, live, consumer);
    for (const [partition, { token }] of [...this.owned]) {
      if (await renewLease(commands, this.lease(partition), token, leaseTime)) continue;
      this.options.logger.warn?.(`Lost the lease of partition ${partition} (${this.describe()}); stopping its reader.`);
      await this.stop(partition, this.options.shutdownTimeout);
    }
    while (this.owned.size > share && !this.closing) {
      await this.give(Math.max(...this.owned.keys()), this.options.shutdownTimeout);
    }
    for (let partition = 0; partition < subscriptions.length && this.owned.size < share; partition++) {
      if (this.closing) return;
      if (this.owned.has(partition)) continue;
      const token = await acquireLease(commands, subscriptions[partition].key, this.options.group, consumer, leaseTime);
      if (token !== null) await this.own(partition, token);
    }
  }

  private async own(partition: number, token: string): Promise<void> {
    const { commands, group, consumer, subscriptions, logger } = this.options;
    const { key } = subscriptions[partition];
    const reader = this.options.createReader(subscriptions[partition], { lease: this.lease(partition), token });
    this.owned.set(partition, { reader, token });
    try {
      const taken = await takeOverPending(commands, key, group, consumer);
      if (taken > 0) logger.log?.(`Took over ${taken} pending entries of partition ${partition} (${this.describe()}).`);
      await reader.start();
    } catch (err) {
      // Given back at once rather than left to expire: the next tick (here or elsewhere) takes it again.
      await this.give(partition, this.options.shutdownTimeout).catch(() => undefined);
      throw err;
    }
  }

  /** Stops reading a partition and gives its lease back. */
  private async give(partition: number, timeout: number): Promise<void> {
    const token = this.owned.get(partition)?.token;
    await this.stop(partition, timeout);
    if (token !== undefined) await releaseLease(this.options.commands, this.lease(partition), token);
  }

  private async stop(partition: number, timeout: number): Promise<void> {
    const owned = this.owned.get(partition);
    this.owned.delete(partition);
    await owned?.reader.close(timeout);
  }

  private lease(partition: number): string {
    return leaseKey(this.options.subscriptions[partition].key, this.options.group);
  }

  private describe(): string {
    return `stream=${this.options.streamKey} group=${this.options.group} consumer=${this.options.consumer}`;
  }
}
