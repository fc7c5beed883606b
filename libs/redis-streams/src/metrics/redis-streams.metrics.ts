// Prometheus metrics for the transport. Imports prom-client, an optional peer dependency: reach it through the
// `nestjs-redis-streams/metrics` entry point only, so apps without prom-client never load it.
import { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { Counter, Gauge, Histogram, type Registry, register as globalRegistry } from 'prom-client';
import { StreamInspector, type StreamStatus } from '../inspect/index.js';
import { allNames, knownNames } from '../server/option-checks.js';
import type { EntryRef, RedisStreamsObserver } from '../server/redis-streams.observer.js';

/** Something that hands out an ioredis connection: an ioredis instance, or a started server or client (`unwrap()`). */
export type RedisSource = Redis | Cluster | { unwrap(): Redis | Cluster };

export interface RedisStreamsMetricsOptions {
  /** Where the metrics are registered. @defaultValue prom-client's global registry */
  registry?: Registry;
  /** Prepended to every metric name. @defaultValue `'redis_streams_'` */
  prefix?: string;
  /** Histogram buckets of handler durations, in seconds. @defaultValue prom-client's defaults (5 ms … 10 s) */
  durationBuckets?: number[];
  /**
   * Where to read lag, pending and length gauges from on each scrape (XINFO): usually the `RedisStreamsServer` itself.
   * Without it, only the counters and the histogram are registered.
   */
  redis?: RedisSource;
  /** The key prefix of the streams to gauge, as given to the server. @defaultValue `''` */
  keyPrefix?: string;
  /** The streams (without prefix) to gauge. @defaultValue every stream under `keyPrefix`, found with SCAN on each scrape */
  streams?: string[];
  /** The dead-letter key of a stream key, as given to the server. @defaultValue `` `${key}:dead` `` */
  deadLetterStream?: (key: string) => string;
}

type Labels = 'stream' | 'group';

const METRICS_OPTION_NAMES = allNames<RedisStreamsMetricsOptions>()([
  'registry',
  'prefix',
  'durationBuckets',
  'redis',
  'keyPrefix',
  'streams',
  'deadLetterStream',
]);

/**
 * Counts what the server does with entries and gauges lag and pending per stream and group. Register it with
 * `server.observe(metrics)` before the microservice listens. Labels: `stream` is the Redis key (with prefix), `group`
 * is the consumer group (`""` for `@Broadcast` readers). Consumer names are left out of labels on purpose: they change
 * with every restart and would grow the series without bound.
 */
export class RedisStreamsMetrics implements RedisStreamsObserver {
  readonly processedTotal: Counter<Labels>;
  readonly failedTotal: Counter<Labels>;
  readonly claimedTotal: Counter<Labels>;
  readonly deadLetteredTotal: Counter<Labels>;
  readonly handlerDuration: Histogram<Labels | 'outcome'>;
  /** Present when `redis` was given. */
  readonly gauges?: {
    lag: Gauge<Labels>;
    pending: Gauge<Labels>;
    consumers: Gauge<Labels>;
    length: Gauge<'stream'>;
    deadLetters: Gauge<'stream'>;
    inspectErrors: Counter;
  };

  private readonly logger = new Logger(RedisStreamsMetrics.name);
  private snapshot?: Promise<StreamStatus[] | undefined>;

  constructor(private readonly options: RedisStreamsMetricsOptions = {}) {
    knownNames(options, METRICS_OPTION_NAMES, 'RedisStreamsMetrics');
    const registers = [options.registry ?? globalRegistry];
    const prefix = options.prefix ?? 'redis_streams_';
    const labelNames: Labels[] = ['stream', 'group'];
    this.processedTotal = new Counter({
      name: `${prefix}entries_processed_total`,
      help: 'Entries whose handler finished successfully.',
      labelNames,
      registers,
    });
    this.failedTotal = new Counter({
      name: `${prefix}entries_failed_total`,
      help: 'Handler runs that failed (each retry counts again).',
      labelNames,
      registers,
    });
    this.claimedTotal = new Counter({
      name: `${prefix}entries_claimed_total`,
      help: 'Entries claimed from consumers that stopped or hung (XAUTOCLAIM).',
      labelNames,
      registers,
    });
    this.deadLetteredTotal = new Counter({
      name: `${prefix}entries_dead_lettered_total`,
      help: 'Entries moved to their dead-letter stream.',
      labelNames,
      registers,
    });
    this.handlerDuration = new Histogram({
      name: `${prefix}handler_duration_seconds`,
      help: 'How long handlers took, by outcome (processed or failed).',
      labelNames: [...labelNames, 'outcome'],
      registers,
      ...(options.durationBuckets ? { buckets: options.durationBuckets } : {}),
    });
    if (options.redis) this.gauges = this.createGauges(prefix, registers);
  }

  processed(entry: EntryRef, durationMs: number): void {
    const labels = { stream: entry.stream, group: entry.group ?? '' };
    this.processedTotal.inc(labels);
    this.handlerDuration.observe({ ...labels, outcome: 'processed' }, durationMs / 1000);
  }

  failed(entry: EntryRef, durationMs: number): void {
    const labels = { stream: entry.stream, group: entry.group ?? '' };
    this.failedTotal.inc(labels);
    this.handlerDuration.observe({ ...labels, outcome: 'failed' }, durationMs / 1000);
  }

  claimed(stream: string, group: string, _consumer: string, count: number): void {
    this.claimedTotal.inc({ stream, group }, count);
  }

  deadLettered(entry: EntryRef): void {
    this.deadLetteredTotal.inc({ stream: entry.stream, group: entry.group ?? '' });
  }

  private createGauges(prefix: string, registers: Registry[]): NonNullable<RedisStreamsMetrics['gauges']> {
    // Every gauge's collect() runs on each scrape, concurrently: they share one XINFO snapshot per scrape.
    const collectWith = (fill: (streams: StreamStatus[]) => void) =>
      async function (this: Gauge<Labels> | Gauge<'stream'>): Promise<void> {
        this.reset(); // groups and streams that went away must not linger with their last value
        const streams = await snapshot();
        if (streams) fill(streams);
      };
    const snapshot = (): Promise<StreamStatus[] | undefined> => {
      this.snapshot ??= this.inspect().finally(() => setImmediate(() => (this.snapshot = undefined)));
      return this.snapshot;
    };
    const eachGroup = (
      streams: StreamStatus[],
      set: (labels: Record<Labels, string>, group: StreamStatus['groups'][number]) => void,
    ) => {
      for (const stream of streams)
        for (const group of stream.groups) set({ stream: stream.key, group: group.name }, group);
    };
    const labelNames: Labels[] = ['stream', 'group'];
    const lag: Gauge<Labels> = new Gauge({
      name: `${prefix}group_lag`,
      help: 'Entries in the stream that the consumer group has not read yet (absent when Redis cannot tell).',
      labelNames,
      registers,
      collect: collectWith((streams) =>
        eachGroup(streams, (labels, group) => group.lag !== null && lag.set(labels, group.lag)),
      ),
    });
    const pending: Gauge<Labels> = new Gauge({
      name: `${prefix}group_pending`,
      help: 'Entries delivered to the group and not acknowledged yet.',
      labelNames,
      registers,
      collect: collectWith((streams) => eachGroup(streams, (labels, group) => pending.set(labels, group.pending))),
    });
    const consumers: Gauge<Labels> = new Gauge({
      name: `${prefix}group_consumers`,
      help: 'Consumers registered in the group.',
      labelNames,
      registers,
      collect: collectWith((streams) =>
        eachGroup(streams, (labels, group) => consumers.set(labels, group.consumerCount)),
      ),
    });
    const length: Gauge<'stream'> = new Gauge({
      name: `${prefix}stream_length`,
      help: 'Entries in the stream (XLEN).',
      labelNames: ['stream'],
      registers,
      collect: collectWith((streams) => streams.forEach((s) => length.set({ stream: s.key }, s.length))),
    });
    const deadLetters: Gauge<'stream'> = new Gauge({
      name: `${prefix}dead_letters`,
      help: "Entries in the stream's dead-letter stream.",
      labelNames: ['stream'],
      registers,
      collect: collectWith((streams) => streams.forEach((s) => deadLetters.set({ stream: s.key }, s.deadLetters))),
    });
    const inspectErrors = new Counter({
      name: `${prefix}inspect_errors_total`,
      help: 'Scrapes whose XINFO read of streams and groups failed (gauges are absent from those scrapes).',
      registers,
    });
    return { lag, pending, consumers, length, deadLetters, inspectErrors };
  }

  /** Reads the gauged streams; a failure is counted and logged, and the scrape goes on without gauges. */
  private async inspect(): Promise<StreamStatus[] | undefined> {
    const { redis: source, keyPrefix, deadLetterStream } = this.options;
    try {
      const redis =
        source && 'unwrap' in source && typeof source.unwrap === 'function'
          ? source.unwrap()
          : (source as Redis | Cluster);
      const inspector = new StreamInspector(redis, { keyPrefix, deadLetterStream });
      const names = this.options.streams ?? (await inspector.discover());
      const streams: StreamStatus[] = [];
      for (const name of names) {
        try {
          streams.push(await inspector.stream(name));
        } catch (err) {
          // A named stream that doesn't exist yet simply has nothing to gauge.
          if (!(err instanceof Error && err.name === 'StreamNotFoundError')) throw err;
        }
      }
      return streams;
    } catch (err) {
      this.gauges?.inspectErrors.inc();
      this.logger.warn(
        `Could not read stream and group state for the gauges: ${err instanceof Error ? err.message : String(err)}`,
      );
      return undefined;
    }
  }
}
