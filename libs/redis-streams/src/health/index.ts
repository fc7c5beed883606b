export {
  type ExpectedGroup,
  type GroupHealth,
  type HealthRedisSource,
  RedisStreamsHealthIndicator,
  type RedisStreamsHealthOptions,
} from './redis-streams.health-indicator.js';
