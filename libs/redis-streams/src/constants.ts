/** Identifies this transport to Nest (`@EventPattern(pattern, REDIS_STREAMS_TRANSPORT)` scopes a handler to it). */
export const REDIS_STREAMS_TRANSPORT = Symbol('REDIS_STREAMS_TRANSPORT');

/** The entry field that holds a JSON payload written by `RedisStreamsClient`. */
export const DATA_FIELD = 'data';
/** The entry field that holds JSON headers written by `RedisStreamsClient`. */
export const HEADERS_FIELD = 'headers';

/** Fields that a dead-letter entry adds to the original fields; `replay` strips them again. */
export const DEAD_LETTER_FIELDS = {
  stream: 'dl:stream',
  id: 'dl:id',
  group: 'dl:group',
  consumer: 'dl:consumer',
  deliveries: 'dl:deliveries',
  reason: 'dl:reason',
  at: 'dl:at',
  /** Set instead of the entry's own fields when it was refused for its size: its byte count (the body stays put). */
  size: 'dl:size',
} as const;
export const DEAD_LETTER_FIELD_PREFIX = 'dl:';

/** Request header naming the stream key that replies go to (the sending client's own reply stream). */
export const REPLY_TO_HEADER = 'x-reply-to';
/** Request and reply header that pairs a reply with its request. */
export const CORRELATION_ID_HEADER = 'x-correlation-id';
/** Reply header saying what the reply is: a value (`next`), the last value (`last`), the end (`end`) or an `error`. */
export const REPLY_KIND_HEADER = 'x-reply';
/**
 * Reply header numbering the replies of one run of a request handler from 0, so that a client can drop the replies a
 * re-run (the request delivered again after its server died) sends a second time. Older servers don't send it.
 */
export const REPLY_SEQUENCE_HEADER = 'x-reply-seq';
/** The reply stream of a client is `<keyPrefix>replies:<clientId>`. */
export const REPLY_STREAM_SEGMENT = 'replies:';
/** The consumer group of `@MessagePattern` handlers when neither the handler nor the server names one. */
export const DEFAULT_REQUEST_GROUP = 'requests';
