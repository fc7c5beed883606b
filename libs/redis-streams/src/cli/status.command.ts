import type { Redis } from 'ioredis';
import { defaultDeadLetterKey } from '../cluster/key-slot.js';
import { leaseHolder, leaseKey } from '../partitions/partition-leases.js';
import { GroupNotFoundError, StreamInspector, type StreamStatus } from '../inspect/index.js';
import { type RetentionWarning, retentionWarnings, trimmedUnread } from '../inspect/retention-check.js';
import { formatDuration, formatTable } from './format-table.js';

export interface StatusOptions {
  prefix: string;
  deadLetterSuffix: string;
  /** Connected to a Redis Cluster (`--cluster`): dead-letter streams are `{stream}` + suffix. */
  cluster: boolean;
  /** Stream names without prefix; discovered with SCAN when empty. */
  streams: string[];
  /** Only this group (an error where a named stream lacks it). */
  group?: string;
  /** The retention age (ms) the apps' clients trim by (`maxAge`): warn about groups close to losing entries. */
  maxAge?: number;
  json: boolean;
}

/** Entries of a stream a group never read and that are gone (trimmed or deleted). */
interface MissedEntries {
  stream: string;
  group: string;
  count: number;
}

/** `status`: streams, their groups, consumers, pending and lag, as tables or JSON. */
export async function statusCommand(redis: Redis, options: StatusOptions): Promise<string> {
  const inspector = new StreamInspector(redis, {
    keyPrefix: options.prefix,
    deadLetterStream: (key) => defaultDeadLetterKey(key, options.cluster, options.deadLetterSuffix),
  });
  const names = options.streams.length > 0 ? options.streams : await inspector.discover();
  const streams: StreamStatus[] = [];
  for (const name of names) {
    const stream = await inspector.stream(name, true);
    if (options.group !== undefined) {
      stream.groups = stream.groups.filter((group) => group.name === options.group);
      // Naming a stream and a group that isn't on it is a mistake worth an error; when streams were discovered, the
      // group only filters.
      if (stream.groups.length === 0 && options.streams.length > 0)
        throw new GroupNotFoundError(name, stream.key, options.group);
    }
    streams.push(stream);
  }
  const now = Date.now();
  const warnings: RetentionWarning[] = [];
  const missed: MissedEntries[] = [];
  for (const stream of streams) {
    if (options.maxAge) warnings.push(...(await retentionWarnings(redis, stream, options.maxAge, now)));
    for (const group of stream.groups) {
      const count = await trimmedUnread(redis, stream, group);
      if (count) missed.push({ stream: stream.name, group: group.name, count });
    }
  }
  const partitions = await partitionOwners(redis, streams);
  if (options.json) {
    return JSON.stringify(
      { prefix: options.prefix, streams, partitions, retentionWarnings: warnings, missed },
      null,
      2,
    );
  }
  return renderStatus(streams, options, partitions) + renderRetention(warnings, missed, options.maxAge);
}

function renderRetention(warnings: RetentionWarning[], missed: MissedEntries[], maxAge: number | undefined): string {
  const lines = warnings.map(
    (w) =>
      `WARNING: group ${w.group} of ${w.stream} has not finished entry ${w.oldestUnfinishedId} ` +
      `(${formatDuration(w.age)} old); trimming by age (${formatDuration(maxAge ?? 0)}) drops it ` +
      (w.trimmedIn === 0 ? 'at the next emit.' : `in ${formatDuration(w.trimmedIn)}.`),
  );
  for (const m of missed) {
    lines.push(`WARNING: group ${m.group} of ${m.stream} never read ${m.count} entries that were trimmed or deleted.`);
  }
  return lines.length === 0 ? '' : `\n\n${lines.join('\n')}`;
}

/** A partition of a partitioned stream (`Orders:p3`) in one group, with the consumer holding its lease. */
export interface PartitionStatus {
  stream: string;
  partition: number;
  group: string;
  /** The consumer holding the partition's lease, or null when nobody does. */
  owner: string | null;
  pending: number;
  lag: number | null;
}

async function partitionOwners(redis: Redis, streams: StreamStatus[]): Promise<PartitionStatus[]> {
  const rows: PartitionStatus[] = [];
  for (const stream of streams) {
    const match = /^(.+):p(\d+)$/.exec(stream.name);
    if (!match) continue;
    for (const group of stream.groups) {
      const owner = leaseHolder(await redis.get(leaseKey(stream.key, group.name)))?.consumer ?? null;
      rows.push({
        stream: match[1],
        partition: Number(match[2]),
        group: group.name,
        owner,
        pending: group.pending,
        lag: group.lag,
      });
    }
  }
  return rows;
}

function renderStatus(streams: StreamStatus[], options: StatusOptions, partitions: PartitionStatus[]): string {
  if (streams.length === 0) {
    return options.prefix
      ? `No streams under the prefix "${options.prefix}". Check --prefix (the keyPrefix your apps use).`
      : 'No streams found.';
  }
  const sections = [
    formatTable(
      ['STREAM', 'LENGTH', 'GROUPS', 'DEAD LETTERS', 'FIRST ID', 'LAST ID'],
      streams.map((s) => [
        s.name,
        s.length,
        s.groups.length,
        s.deadLetters,
        s.firstEntryId ?? '-',
        s.lastEntryId ?? '-',
      ]),
    ),
  ];
  const groups = streams.flatMap((s) => s.groups.map((g) => ({ stream: s.name, group: g })));
  if (groups.length > 0) {
    sections.push(
      formatTable(
        ['STREAM', 'GROUP', 'CONSUMERS', 'PENDING', 'LAG', 'LAST DELIVERED'],
        groups.map(({ stream, group }) => [
          stream,
          group.name,
          group.consumerCount,
          group.pending,
          group.lag ?? '?',
          group.lastDeliveredId,
        ]),
      ),
    );
  }
  const consumers = groups.flatMap(({ stream, group }) =>
    (group.consumers ?? []).map((consumer) => [
      stream,
      group.name,
      consumer.name,
      consumer.pending,
      formatDuration(consumer.idle),
    ]),
  );
  if (consumers.length > 0) sections.push(formatTable(['STREAM', 'GROUP', 'CONSUMER', 'PENDING', 'IDLE'], consumers));
  if (partitions.length > 0) {
    sections.push(
      formatTable(
        ['STREAM', 'PARTITION', 'GROUP', 'OWNER', 'PENDING', 'LAG'],
        partitions.map((p) => [p.stream, p.partition, p.group, p.owner ?? '-', p.pending, p.lag ?? '?']),
      ),
    );
  }
  const header = options.prefix ? `Key prefix: "${options.prefix}"\n\n` : '';
  const footnote = groups.some(({ group }) => group.lag === null)
    ? '\n\nLAG "?": Redis cannot tell (entries were deleted after the group\'s position, or Redis is older than 7).'
    : '';
  return header + sections.join('\n\n') + footnote;
}
