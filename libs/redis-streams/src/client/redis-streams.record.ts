import type { StreamHeaders } from '../interfaces/serialization.interface.js';

/** A payload with headers: `client.emit('Email', new RedisStreamsRecord(mail, { 'trace-id': id }))`. */
export class RedisStreamsRecord<TData = unknown> {
  constructor(
    readonly data: TData,
    readonly headers: StreamHeaders = {},
  ) {}
}
