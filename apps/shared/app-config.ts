// Configuration of the sample apps, read from the environment once at start-up. The same names are used by the demo,
// the e2e tests and docker-compose.yml (test/compose.e2e-spec.ts checks that they agree).
import type { RedisConnection, RedisStreamsServerOptions } from 'nestjs-redis-streams';

export type AppName = 'gateway' | 'email' | 'push' | 'bi';

/** The port each app listens on when `PORT` is unset. */
export const DEFAULT_PORTS: Readonly<Record<AppName, number>> = Object.freeze({
  gateway: 3000,
  email: 3001,
  push: 3002,
  bi: 3003,
});

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Every environment variable an app reads, with what it does. */
export const ENV_VARS = Object.freeze({
  REDIS_URL: `Where Redis is (default ${DEFAULT_REDIS_URL}).`,
  REDIS_CLUSTER:
    'Some nodes of a Redis Cluster, host:port,host:port, to use instead of REDIS_URL (the others are discovered).',
  PORT: 'The HTTP port (defaults: gateway 3000, email 3001, push 3002, bi 3003).',
  HOST: 'The HTTP interface to bind (default 0.0.0.0).',
  CONSUMER_NAME: "This instance's consumer name in its groups (default: host name, pid and a random part).",
  KEY_PREFIX: 'Prepended to every Redis key the apps use (default none).',
  CLAIM_MIN_IDLE_MS: 'Entries pending this long with a dead consumer are taken over (library default 30000).',
  CLAIM_INTERVAL_MS: 'How often abandoned entries are looked for (library default 5000).',
  CONCURRENCY: 'Entries one reader handles at once (library default 50).',
  MAIL_SEND_DELAY_MS: 'email only: simulated latency of sending one mail (default 0).',
  EMIT_REPLICAS:
    'gateway only: a request is accepted (202) once this many replicas have its entry (WAIT, 1 s at most; default 0).',
  LOG_LEVEL: 'Lowest Nest log level printed: error, warn, log, debug or verbose (default log).',
  BI_BACKFILL_FROM:
    'bi only: where a new BIGroup starts counting, as an ISO time or a duration ago (7d, 12h); default the whole stream.',
  OTEL_TRACES_EXPORTER:
    'Where trace spans go: console, otlp or none (default none; otlp when an OTLP endpoint is set).',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'Base URL of the OTLP/HTTP collector for otlp (http://collector:4318).',
});

export type EnvName = keyof typeof ENV_VARS;

export interface AppConfig {
  app: AppName;
  redisUrl: string;
  /** The startup nodes of a Redis Cluster (REDIS_CLUSTER); when set, REDIS_URL is not used. */
  redisCluster?: { host: string; port: number }[];
  host: string;
  port: number;
  consumer?: string;
  keyPrefix: string;
  minIdleTime?: number;
  claimInterval?: number;
  concurrency?: number;
  mailSendDelayMs: number;
  /** Replicas that must have an entry before the gateway answers 202; 0: don't wait. */
  emitReplicas: number;
  logLevel: LogLevelName;
  /** Where the app's new consumer groups start (BI_BACKFILL_FROM); the stream's start when unset. */
  backfillFrom?: Date;
  /** Where trace spans go; undefined: nowhere (no tracer provider). */
  tracesExporter?: 'console' | 'otlp';
  otlpEndpoint?: string;
}

const TRACES_EXPORTERS = ['console', 'otlp', 'none'] as const;

const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** Reads the configuration of `app`; a malformed variable fails start-up with a message naming it. */
export function loadConfig(app: AppName, env: NodeJS.ProcessEnv = process.env): AppConfig {
  const logLevel = (env.LOG_LEVEL ?? 'log') as LogLevelName;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got "${env.LOG_LEVEL}".`);
  }
  const otlpEndpoint = nonEmpty(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const exporter = nonEmpty(env, 'OTEL_TRACES_EXPORTER') ?? (otlpEndpoint ? 'otlp' : 'none');
  if (!(TRACES_EXPORTERS as readonly string[]).includes(exporter)) {
    throw new Error(`OTEL_TRACES_EXPORTER must be one of ${TRACES_EXPORTERS.join(', ')}; got "${exporter}".`);
  }
  const redisCluster = clusterNodes(env, 'REDIS_CLUSTER');
  if (redisCluster && nonEmpty(env, 'REDIS_URL')) {
    throw new Error('Set REDIS_URL (one Redis) or REDIS_CLUSTER (a Redis Cluster), not both.');
  }
  return {
    app,
    redisUrl: nonEmpty(env, 'REDIS_URL') ?? DEFAULT_REDIS_URL,
    redisCluster,
    host: nonEmpty(env, 'HOST') ?? '0.0.0.0',
    port: integer(env, 'PORT', 1, 65_535) ?? DEFAULT_PORTS[app],
    consumer: nonEmpty(env, 'CONSUMER_NAME'),
    keyPrefix: env.KEY_PREFIX ?? '',
    minIdleTime: integer(env, 'CLAIM_MIN_IDLE_MS', 1),
    claimInterval: integer(env, 'CLAIM_INTERVAL_MS', 0),
    concurrency: integer(env, 'CONCURRENCY', 1),
    mailSendDelayMs: integer(env, 'MAIL_SEND_DELAY_MS', 0) ?? 0,
    emitReplicas: integer(env, 'EMIT_REPLICAS', 0) ?? 0,
    logLevel,
    backfillFrom: app === 'bi' ? time(env, 'BI_BACKFILL_FROM') : undefined,
    tracesExporter: exporter === 'none' ? undefined : (exporter as 'console' | 'otlp'),
    otlpEndpoint,
  };
}

/**
 * The RedisStreamsServer options of an app. New groups start at the stream's beginning (`startId: '0'`) so that a
 * service deployed after the gateway has already accepted traffic still handles every entry; BI can start from a
 * point in time instead (BI_BACKFILL_FROM), catching up on the history since then.
 */
export function serverOptions(config: AppConfig, group?: string): RedisStreamsServerOptions {
  return {
    connection: connectionOf(config),
    keyPrefix: config.keyPrefix,
    group,
    consumer: config.consumer,
    startId: config.backfillFrom ?? '0',
    minIdleTime: config.minIdleTime,
    claimInterval: config.claimInterval,
    concurrency: config.concurrency,
  };
}

/** Where the transport connects: the cluster's startup nodes (REDIS_CLUSTER), or REDIS_URL. */
export function connectionOf(config: AppConfig): RedisConnection {
  return config.redisCluster ? { cluster: config.redisCluster } : config.redisUrl;
}

/** The Nest log levels at and above `level`. */
export function logLevels(level: LogLevelName): LogLevelName[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1);
}

function nonEmpty(env: NodeJS.ProcessEnv, name: EnvName): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** `host:port,host:port`: at least one node, each with a port. */
function clusterNodes(env: NodeJS.ProcessEnv, name: EnvName): { host: string; port: number }[] | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  return raw.split(',').map((node) => {
    const match = /^(.+):(\d{1,5})$/.exec(node.trim());
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) {
      throw new Error(`${name} must list cluster nodes as host:port,host:port (e.g. 10.0.0.1:7000); got "${raw}".`);
    }
    return { host: match[1], port };
  });
}

/** An ISO time, or a duration ago such as `7d`, `12h`, `30m`. */
function time(env: NodeJS.ProcessEnv, name: EnvName, now = Date.now()): Date | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  const ago = /^(\d+)(s|m|h|d)$/.exec(raw);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const value = ago ? new Date(now - Number(ago[1]) * unit[ago[2] as keyof typeof unit]) : new Date(raw);
  if (Number.isNaN(value.getTime()) || (!ago && !/^\d{4}-\d{2}-\d{2}/.test(raw))) {
    throw new Error(`${name} must be an ISO time (2026-11-27T10:00:00Z) or a duration ago (7d, 12h); got "${raw}".`);
  }
  return value;
}

function integer(
  env: NodeJS.ProcessEnv,
  name: EnvName,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}; got "${raw}".`);
  }
  return value;
}
