import type { Redis } from 'ioredis';
import { GroupNotFoundError, StreamInspector, type StreamStatus } from '../inspect/index.js';
import { type RetentionWarning, retentionWarnings, trimmedUnread } from '../inspect/retention-check.js';
import { formatDuration, formatTable } from './format-table.js';

export interface StatusOptions {
  prefix: string;
  deadLetterSuffix: string;
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
    deadLetterStream: (key) => key + options.deadLetterSuffix,
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
  if (options.json) {
    return JSON.stringify({ prefix: options.prefix, streams, retentionWarnings: warnings, missed }, null, 2);
  }
  return renderStatus(streams, options) + renderRetention(warnings, missed, options.maxAge);
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

function renderStatus(streams: StreamStatus[], options: StatusOptions): string {
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
  const header = options.prefix ? `Key prefix: "${options.prefix}"\n\n` : '';
  const footnote = groups.some(({ group }) => group.lag === null)
    ? '\n\nLAG "?": Redis cannot tell (entries were deleted after the group\'s position, or Redis is older than 7).'
    : '';
  return header + sections.join('\n\n') + footnote;
}
