import type { Redis } from 'ioredis';
import type { GroupReset } from '../history/group-reset.js';
import { StreamHistory } from '../history/stream-history.js';
import type { StreamPosition } from '../history/stream-position.js';
import { formatTable } from './format-table.js';

export interface GroupResetCommandOptions {
  prefix: string;
  stream: string;
  group: string;
  to: StreamPosition;
  force: boolean;
  json: boolean;
}

/**
 * `group reset <stream> <group> --to …`: moves a consumer group (on every partition of a partitioned stream), and says
 * how many entries it will now read.
 */
export async function groupResetCommand(redis: Redis, options: GroupResetCommandOptions): Promise<string> {
  const history = new StreamHistory(redis, { keyPrefix: options.prefix });
  const reset = await history.resetGroup(options.stream, options.group, options.to, { force: options.force });
  if (options.json) return JSON.stringify(reset, null, 2);
  const pending =
    reset.pending > 0
      ? `\n${reset.pending} entries stay pending with their consumers: they are acked, retried or claimed as usual.`
      : '';
  return reset.partitions ? partitionedReport(reset, pending) : plainReport(reset, pending);
}

function plainReport(reset: GroupReset, pending: string): string {
  const table = formatTable(
    ['STREAM', 'GROUP', 'FROM', 'TO', 'TO READ', 'PENDING'],
    [[reset.stream, reset.group, reset.previousId, reset.id, reset.toRead, reset.pending]],
  );
  return `${table}\n\nGroup "${reset.group}" now reads the entries after ${reset.id}: ${reset.toRead} in the stream now.${pending}`;
}

function partitionedReport(reset: GroupReset, pending: string): string {
  const partitions = reset.partitions ?? [];
  const table = formatTable(
    ['STREAM', 'PARTITION', 'GROUP', 'FROM', 'TO', 'TO READ', 'PENDING'],
    partitions.map((p) => [reset.stream, p.partition, reset.group, p.previousId ?? '-', p.id, p.toRead, p.pending]),
  );
  const created = partitions.filter((p) => p.previousId === null).map((p) => p.partition);
  const note =
    created.length > 0
      ? `\nThe group was not on partition${created.length > 1 ? 's' : ''} ${created.join(', ')} yet: created there at the same position.`
      : '';
  return (
    `${table}\n\nGroup "${reset.group}" now reads each of the ${partitions.length} partitions after its TO id: ` +
    `${reset.toRead} entries in them now.${note}${pending}`
  );
}
