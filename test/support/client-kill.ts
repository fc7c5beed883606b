import type { Redis } from 'ioredis';

/** Kills (CLIENT KILL ID) the connections whose name contains every one of `parts`; returns how many. */
export async function killConnections(admin: Redis, ...parts: string[]): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  const ids = list
    .split('\n')
    .map((line) => ({ id: /\bid=(\d+)/.exec(line)?.[1], name: /\bname=(\S*)/.exec(line)?.[1] ?? '' }))
    .filter((c) => c.id && c.name && parts.every((part) => c.name.includes(part)))
    .map((c) => c.id!);
  for (const id of ids) await admin.client('KILL', 'ID', id).catch(() => undefined);
  return ids.length;
}

/** The group reader connections of `consumer` (named `<consumer>:group:<group>`). */
export function killGroupReader(admin: Redis, consumer: string): Promise<number> {
  return killConnections(admin, consumer, ':group:');
}
