import { connectionOf, loadConfig, serverOptions } from './app-config.js';

describe('the apps’ configuration', () => {
  it('connects to a Redis Cluster through the nodes of REDIS_CLUSTER', () => {
    const config = loadConfig('email', { REDIS_CLUSTER: '10.0.0.1:7000, redis-2:7001' });
    const nodes = [
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-2', port: 7001 },
    ];
    expect(config.redisCluster).toEqual(nodes);
    expect(serverOptions(config, 'G').connection).toEqual({ cluster: nodes });
    expect(connectionOf(loadConfig('email', { REDIS_URL: 'redis://r:6380' }))).toBe('redis://r:6380');
  });

  it.each(['10.0.0.1', '10.0.0.1:7000,', 'host:70000', ':7000'])('refuses REDIS_CLUSTER=%s, naming it', (value) => {
    expect(() => loadConfig('push', { REDIS_CLUSTER: value })).toThrow(/REDIS_CLUSTER must list cluster nodes/);
  });

  it('refuses REDIS_URL and REDIS_CLUSTER together', () => {
    expect(() => loadConfig('bi', { REDIS_URL: 'redis://r:6379', REDIS_CLUSTER: 'r:7000' })).toThrow(
      'Set REDIS_URL (one Redis) or REDIS_CLUSTER (a Redis Cluster), not both.',
    );
  });

  it('reads EMIT_REPLICAS as a whole number, 0 by default', () => {
    expect(loadConfig('gateway', {}).emitReplicas).toBe(0);
    expect(loadConfig('gateway', { EMIT_REPLICAS: '1' }).emitReplicas).toBe(1);
    expect(() => loadConfig('gateway', { EMIT_REPLICAS: '-1' })).toThrow(/EMIT_REPLICAS must be an integer/);
  });
});
