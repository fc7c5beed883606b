import type { StreamHeaders } from '../interfaces/serialization.interface.js';

/** Options of one record. */
export interface RedisStreamsRecordOptions {
  /**
   * The entry's key on a partitioned stream (client option `partitions`): entries with the same key always go to the
   * same partition, so they keep their order. Entries without a key are spread evenly.
   */
  key?: string;
}

/**
 * A payload with headers, and on a partitioned stream a key:
 * `client.emit('Orders', new RedisStreamsRecord(order, { 'trace-id': id }, { key: order.customerId }))`.
 */
export class RedisStreamsRecord<TData = unknown> {
  constructor(
    readonly data: TData,
    readonly headers: StreamHeaders = {},
    readonly options: RedisStreamsRecordOptions = {},
  ) {}
}
