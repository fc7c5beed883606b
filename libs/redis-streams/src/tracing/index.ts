export { RedisStreamsTracing, type RedisStreamsTracingOptions } from './redis-streams.tracing.js';
