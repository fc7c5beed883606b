// Attribute names of the OpenTelemetry messaging semantic conventions, and the few of this transport's own. Redis has
// no official `messaging.system` value; `redis` is what the conventions' pattern suggests.
export const MESSAGING_SYSTEM = 'messaging.system';
export const OPERATION_TYPE = 'messaging.operation.type';
export const OPERATION_NAME = 'messaging.operation.name';
export const DESTINATION_NAME = 'messaging.destination.name';
export const CONSUMER_GROUP = 'messaging.consumer.group.name';
export const MESSAGE_ID = 'messaging.message.id';
export const CLIENT_ID = 'messaging.client.id';
export const BATCH_COUNT = 'messaging.batch.message_count';
/** How many times the group delivered the entry, this delivery included (like `messaging.servicebus.…`). */
export const DELIVERY_COUNT = 'messaging.redis.message.delivery_count';
export const RETRY_DELAY = 'messaging.redis.retry_delay_ms';
export const DEAD_LETTER_KEY = 'messaging.redis.dead_letter_stream';
export const DEAD_LETTER_REASON = 'messaging.redis.dead_letter_reason';

export const SYSTEM = 'redis';
