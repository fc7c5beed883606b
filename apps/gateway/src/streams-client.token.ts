/** The RedisStreamsClient the gateway emits with. */
export const STREAMS_CLIENT = 'STREAMS_CLIENT';
