import { BaseRpcContext } from '@nestjs/microservices';
import { RedisEffects } from '../effects/redis-effects.js';
import { partitionNamed } from '../partitions/partition-keys.js';
import type { StreamHeaders } from '../interfaces/serialization.interface.js';
import { idTimestamp } from '../redis/stream-commands.js';

/** What the transport knows about the entry being handled. */
export interface RedisStreamsEntryInfo {
  /** The stream name as the handler's pattern names it (without `keyPrefix`). */
  readonly stream: string;
  /** The Redis key of the stream (with `keyPrefix`). */
  readonly key: string;
  readonly id: string;
  /** The consumer group; undefined for `@Broadcast` handlers. */
  readonly group: string | undefined;
  readonly consumer: string;
  readonly deliveryCount: number;
  readonly headers: StreamHeaders;
  readonly ack: () => Promise<void>;
  effects?: RedisEffects;
  /** Why this entry's handler can't declare effects, when it can't (e.g. `ack: 'on-receipt'`). */
  readonly effectsUnavailable?: string;
}

/** The `@Ctx()` of a Redis Streams handler. */
export class RedisStreamsContext extends BaseRpcContext<[RedisStreamsEntryInfo]> {
  getStream(): string {
    return this.args[0].stream;
  }

  getKey(): string {
    return this.args[0].key;
  }

  getId(): string {
    return this.args[0].id;
  }

  getGroup(): string | undefined {
    return this.args[0].group;
  }

  getConsumer(): string {
    return this.args[0].consumer;
  }

  /** How many times the entry has been delivered to a consumer of the group, this delivery included. */
  getDeliveryCount(): number {
    return this.args[0].deliveryCount;
  }

  getHeaders(): StreamHeaders {
    return this.args[0].headers;
  }

  /** The partition of a partitioned stream (`partitions`) the entry was read from; undefined otherwise. */
  getPartition(): number | undefined {
    return partitionNamed(this.args[0].key, this.args[0].stream);
  }

  /** When the entry was added, from its id. */
  getTimestamp(): Date {
    return new Date(idTimestamp(this.args[0].id));
  }

  /**
   * Acknowledges the entry now (XACK, if it is still this consumer's). Needed with `ack: 'manual'`; in the default
   * mode it only makes the acknowledgement earlier. Resolves once Redis has it. Does nothing for broadcast entries.
   */
  ack(): Promise<void> {
    return this.args[0].ack();
  }

  /**
   * Redis writes applied atomically with the entry's first acknowledgement in its group (exactly-once effects).
   * Not available to `@Broadcast` handlers, which don't acknowledge.
   */
  get effects(): RedisEffects {
    const info = this.args[0];
    if (info.group === undefined) {
      throw new Error(`Exactly-once effects need a consumer group; stream "${info.stream}" is read as a broadcast.`);
    }
    if (info.effectsUnavailable) throw new Error(info.effectsUnavailable);
    return (info.effects ??= new RedisEffects());
  }
}
