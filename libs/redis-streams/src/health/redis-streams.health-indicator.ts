// Health indicator for @nestjs/terminus, an optional peer dependency: reach it through the
// `nestjs-redis-streams/health` entry point only, so apps without terminus never load it.
import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { Cluster, Redis } from 'ioredis';
import { GroupNotFoundError, StreamInspector, StreamNotFoundError } from '../inspect/index.js';
import { allNames, knownNames } from '../server/option-checks.js';

/**
 * Something that hands out an ioredis connection: an ioredis `Redis` or `Cluster`, or a started server or client
 * (`unwrap()`).
 */
export type HealthRedisSource = Redis | Cluster | { unwrap(): Redis | Cluster };

/** A consumer group that must exist on its stream. */
export interface ExpectedGroup {
  /** The stream name, without the key prefix. */
  stream: string;
  group: string;
}

export interface RedisStreamsHealthOptions {
  /** The connection to check: usually the `RedisStreamsServer` (its `unwrap()`), or any ioredis instance. */
  redis: HealthRedisSource;
  /** The key prefix, as given to the server. @defaultValue `''` */
  keyPrefix?: string;
  /** Groups that must be present on their streams; each is checked against the thresholds below. */
  groups?: ExpectedGroup[];
  /** Down when a group has more unread entries than this. @defaultValue no limit */
  maxLag?: number;
  /** Down when a group has more delivered-but-unacknowledged entries than this. @defaultValue no limit */
  maxPending?: number;
  /** Down when Redis has not answered within this many ms. @defaultValue 2000 */
  timeout?: number;
}

/** What the indicator reports per group, under `groups` keyed `stream/group`. */
export interface GroupHealth {
  lag: number | null;
  pending: number;
  consumers: number;
}

/**
 * Reports the transport as down when Redis doesn't answer PING, when an expected consumer group is missing from its
 * stream, or when a group's lag or pending count is over its threshold; the `problems` detail names each of them.
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() {
 *   return this.health.check([() => this.streams.isHealthy('redis-streams', { redis: this.server, groups: [{ stream: 'Email', group: 'mailer' }], maxLag: 1000 })]);
 * }
 * ```
 */
const HEALTH_OPTION_NAMES = allNames<RedisStreamsHealthOptions>()([
  'redis',
  'keyPrefix',
  'groups',
  'maxLag',
  'maxPending',
  'timeout',
]);

@Injectable()
export class RedisStreamsHealthIndicator {
  constructor(@Inject(HealthIndicatorService) private readonly health: HealthIndicatorService) {}

  async isHealthy<const Key extends string>(
    key: Key,
    options: RedisStreamsHealthOptions,
  ): Promise<HealthIndicatorResult<Key>> {
    knownNames(options, HEALTH_OPTION_NAMES, 'RedisStreamsHealthIndicator.isHealthy');
    const indicator = this.health.check(key);
    const timeout = options.timeout ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeout)));
    try {
      const check = inspect(options);
      check.catch(() => undefined); // after a timeout its late failure has no one to tell
      const outcome = await Promise.race([check, timedOut]);
      if (outcome === 'timeout') {
        return indicator.down({ problems: [`Redis did not answer within ${timeout} ms.`] });
      }
      const { problems, groups } = outcome;
      return problems.length === 0 ? indicator.up({ groups }) : indicator.down({ problems, groups });
    } catch (err) {
      return indicator.down({
        problems: [`Redis is not reachable: ${err instanceof Error ? err.message : String(err)}`],
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

async function inspect(
  options: RedisStreamsHealthOptions,
): Promise<{ problems: string[]; groups: Record<string, GroupHealth> }> {
  const redis = resolve(options.redis);
  await redis.ping();
  const inspector = new StreamInspector(redis, { keyPrefix: options.keyPrefix });
  const problems: string[] = [];
  const groups: Record<string, GroupHealth> = {};
  for (const { stream, group } of options.groups ?? []) {
    const name = `${stream}/${group}`;
    let status;
    try {
      status = (await inspector.stream(stream)).groups.find((g) => g.name === group);
      if (!status) throw new GroupNotFoundError(stream, inspector.keyPrefix + stream, group);
    } catch (err) {
      if (err instanceof StreamNotFoundError || err instanceof GroupNotFoundError) {
        problems.push(err.message);
        continue;
      }
      throw err;
    }
    groups[name] = { lag: status.lag, pending: status.pending, consumers: status.consumerCount };
    if (options.maxLag !== undefined && status.lag !== null && status.lag > options.maxLag) {
      problems.push(
        `Group "${group}" on stream "${stream}" is ${status.lag} entries behind (maxLag ${options.maxLag}).`,
      );
    }
    if (options.maxPending !== undefined && status.pending > options.maxPending) {
      problems.push(
        `Group "${group}" on stream "${stream}" has ${status.pending} unacknowledged entries (maxPending ${options.maxPending}).`,
      );
    }
  }
  return { problems, groups };
}

function resolve(source: HealthRedisSource): Redis | Cluster {
  return 'unwrap' in source && typeof source.unwrap === 'function' ? source.unwrap() : (source as Redis | Cluster);
}
