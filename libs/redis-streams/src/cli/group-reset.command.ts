import type { Redis } from 'ioredis';
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

/** `group reset <stream> <group> --to …`: moves a consumer group, and says how many entries it will now read. */
export async function groupResetCommand(redis: Redis, options: GroupResetCommandOptions): Promise<string> {
  const history = new StreamHistory(redis, { keyPrefix: options.prefix });
  const reset = await history.resetGroup(options.stream, options.group, options.to, { force: options.force });
  if (options.json) return JSON.stringify(reset, null, 2);
  const table = formatTable(
    ['STREAM', 'GROUP', 'FROM', 'TO', 'TO READ', 'PENDING'],
    [[reset.stream, reset.group, reset.previousId, reset.id, reset.toRead, reset.pending]],
  );
  const pending =
    reset.pending > 0
      ? `\n${reset.pending} entries stay pending with their consumers: they are acked, retried or claimed as usual.`
      : '';
  return `${table}\n\nGroup "${reset.group}" now reads the entries after ${reset.id}: ${reset.toRead} in the stream now.${pending}`;
}
