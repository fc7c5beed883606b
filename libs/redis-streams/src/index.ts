export { RedisStreamsClient } from './client/redis-streams.client.js';
export { RedisStreamsRecord, type RedisStreamsRecordOptions } from './client/redis-streams.record.js';
export { sameSlotKey } from './cluster/key-slot.js';
export { REDIS_STREAMS_TRANSPORT, DATA_FIELD, HEADERS_FIELD, DEAD_LETTER_FIELDS } from './constants.js';
export { RedisStreamsContext, type RedisStreamsEntryInfo } from './ctx-host/redis-streams.context.js';
export { DeadLetters, type DeadLetter, type DeadLettersOptions } from './dead-letter/dead-letters.js';
export { Broadcast } from './decorators/broadcast.decorator.js';
export { EventPattern, MessagePattern, type RedisStreamsPatternOptions } from './decorators/pattern.decorators.js';
export { RedisEffects } from './effects/redis-effects.js';
export * from './errors/index.js';
export * from './inspect/index.js';
export * from './history/index.js';
export { RedisStreamsExceptionFilter } from './filters/redis-streams-exception.filter.js';
export { RedisStreamsStatus, type RedisStreamsEvents } from './events/redis-streams.events.js';
export {
  type AckMode,
  type RedisClusterConnection,
  type RedisConnection,
  type RedisStreamsClientOptions,
  type RedisStreamsCommonOptions,
  type RedisStreamsHandlerOptions,
  type RedisStreamsServerOptions,
  type RetryBackoff,
  CLIENT_DEFAULTS,
  SERVER_DEFAULTS,
} from './interfaces/redis-streams-options.interface.js';
export type {
  DecodedEntry,
  StreamDeserializer,
  StreamHeaders,
  StreamSerializer,
} from './interfaces/serialization.interface.js';
export { JsonEntryDeserializer } from './serialization/json-entry.deserializer.js';
export { JsonEntrySerializer } from './serialization/json-entry.serializer.js';
export type { DeadLetterEvent } from './server/group-reader.js';
export type { EntryRef, HandlerRoute, RedisStreamsObserver } from './server/redis-streams.observer.js';
export type { ProducedOutcome, RedisStreamsClientObserver } from './client/redis-streams-client.observer.js';
export { RedisStreamsServer } from './server/redis-streams.server.js';
