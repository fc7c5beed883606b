import type { RedisStreamsEntryInfo } from '../ctx-host/redis-streams.context.js';
import type { RedisEffects } from '../effects/redis-effects.js';
import type { StreamHeaders } from '../interfaces/serialization.interface.js';
import type { QueuedEntry, StreamSubscription } from './subscription.js';

/** What `ctx.ack()` asks of the reader that holds the entry. */
export interface EntryOutcomes {
  ackNow(entry: QueuedEntry, info: GroupEntryInfo): Promise<void>;
}

/** The `@Ctx()` data of a group entry; a class, so `ack()` needs no closure per entry. */
export class GroupEntryInfo implements RedisStreamsEntryInfo {
  readonly key: string;
  readonly id: string;
  readonly stream: string;
  readonly deliveryCount: number;
  readonly effectsUnavailable: string | undefined;
  effects?: RedisEffects;

  constructor(
    private readonly outcomes: EntryOutcomes,
    private readonly entry: QueuedEntry,
    sub: StreamSubscription,
    readonly group: string,
    readonly consumer: string,
    readonly headers: StreamHeaders,
  ) {
    this.key = entry.key;
    this.id = entry.id;
    this.stream = sub.stream;
    this.deliveryCount = entry.deliveries;
    this.effectsUnavailable =
      sub.ack === 'on-receipt'
        ? `Exactly-once effects can't be used with ack: 'on-receipt' (stream "${sub.stream}", group "${group}"): the ` +
          "entry is acknowledged before the handler runs, so there is no acknowledgement to apply them with. Use ack: 'after-success' or 'manual'."
        : undefined;
  }

  ack(): Promise<void> {
    return this.outcomes.ackNow(this.entry, this);
  }
}
