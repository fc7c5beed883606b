// Turns `startId` / `broadcastStartId` given as a time into the ids the readers take, before they are built.
import type { LoggerService } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { groupPosition } from '../history/group-position.js';
import { idBefore, timeOf, type StreamPosition } from '../history/stream-position.js';
import { createGroupAt, lastDeliveredId, streamEnd } from '../redis/history-commands.js';

export interface StartIds {
  startId: string;
  broadcastStartId: string;
}

/**
 * A time means "from the first entry at or after it". For a broadcast that is XREAD after the last id of the
 * millisecond before. A new group is created here, on each of its streams, just before the first entry at or after
 * the time, with ENTRIESREAD so its lag is right at once (counting entries needs XRANGE); the readers then find it
 * existing and leave it. A time still in the future starts at the end (`$`), as if given now: waiting for it would
 * skip entries added before it. An id, `$` or `0` is passed on as it is.
 */
export async function resolveStartIds(
  redis: Redis,
  options: { startId: StreamPosition; broadcastStartId: StreamPosition },
  groupKeys: ReadonlyMap<string, readonly string[]>,
  logger: LoggerService,
): Promise<StartIds> {
  const groupTime = timeOf(options.startId);
  const broadcastTime = timeOf(options.broadcastStartId);
  if (!groupTime && !broadcastTime) {
    return { startId: options.startId as string, broadcastStartId: options.broadcastStartId as string };
  }
  // This process's clock, not Redis's (TIME would need one more ACL permission): they differ by little.
  const now = Date.now();
  const resolve = (name: string, time: Date): string => {
    if (time.getTime() <= now) return idBefore(time);
    logger.warn(
      `${name} ${time.toISOString()} is ${time.getTime() - now} ms in the future; starting at the end ('$') instead.`,
    );
    return '$';
  };
  const startId = groupTime ? resolve('startId', groupTime) : (options.startId as string);
  if (groupTime) {
    for (const [group, keys] of groupKeys) {
      for (const key of keys) {
        // An existing group keeps its place; checked first, as counting the entries after a position takes a while.
        const end = await streamEnd(redis, key);
        if (end && (await lastDeliveredId(redis, key, group)) !== null) continue;
        const position = await groupPosition(redis, key, end, startId === '$' ? '$' : groupTime);
        if (await createGroupAt(redis, key, group, position.id, position.entriesRead)) {
          logger.log(
            `Created group ${group} on ${key} at ${groupTime.toISOString()} (after ${position.id}): ${position.toRead} entries to read.`,
          );
        }
      }
    }
  }
  const broadcastStartId = broadcastTime
    ? resolve('broadcastStartId', broadcastTime)
    : (options.broadcastStartId as string);
  return { startId, broadcastStartId };
}
