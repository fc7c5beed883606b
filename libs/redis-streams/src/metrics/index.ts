export { RedisStreamsMetrics, type RedisStreamsMetricsOptions, type RedisSource } from './redis-streams.metrics.js';
