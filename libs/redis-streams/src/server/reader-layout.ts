// How a server's subscriptions are laid out over readers beyond "one per group and concurrency": split by hash slot
// on a cluster, partitioned streams taken out for their owners, and handlers that check their effects' slots.
import type { MessageHandler } from '@nestjs/microservices';
import { keySlot } from '../cluster/key-slot.js';
import type { RedisStreamsContext } from '../ctx-host/redis-streams.context.js';
import { RedisEffects } from '../effects/redis-effects.js';
import { partitionKey } from '../partitions/partition-keys.js';
import type { StreamSubscription } from './subscription.js';

/**
 * On Redis Cluster one read can only name keys of one hash slot (CROSSSLOT otherwise), so the streams of one reader
 * are split into one reader per slot; streams sharing a hash tag are still read together. One reader elsewhere.
 */
export function bySlot(
  byConcurrency: Map<number, StreamSubscription[]>,
  cluster: boolean,
): [number, StreamSubscription[]][] {
  if (!cluster) return [...byConcurrency];
  return [...byConcurrency].flatMap(([concurrency, subscriptions]) => {
    const slots = new Map<number, StreamSubscription[]>();
    for (const subscription of subscriptions) push(slots, keySlot(subscription.key), subscription);
    return [...slots.values()].map((inSlot): [number, StreamSubscription[]] => [concurrency, inSlot]);
  });
}

/** The stream keys of a handler's stream: its partitions' keys when it is partitioned (`partitions`). */
export function streamKeys(keyPrefix: string, stream: string, partitions: Record<string, number>): string[] {
  const key = keyPrefix + stream;
  const count = partitions[stream];
  if (count === undefined) return [key];
  return Array.from({ length: count }, (_, partition) => partitionKey(key, partition));
}

/**
 * Takes the partitions of partitioned streams out of the group readers' subscriptions: they are read one reader per
 * owned partition, under a lease (`PartitionOwner`). Returns them by group and stream key, in partition order.
 */
export function takePartitioned(
  groups: Map<string, Map<number, StreamSubscription[]>>,
  partitions: Record<string, number>,
  keyPrefix: string,
): Map<string, Map<string, StreamSubscription[]>> {
  const taken = new Map<string, Map<string, StreamSubscription[]>>();
  for (const [group, byConcurrency] of groups) {
    for (const [concurrency, subscriptions] of byConcurrency) {
      const rest = subscriptions.filter((s) => partitions[s.stream] === undefined);
      for (const subscription of subscriptions) {
        if (rest.includes(subscription)) continue;
        let byStream = taken.get(group);
        if (!byStream) taken.set(group, (byStream = new Map<string, StreamSubscription[]>()));
        push(byStream, keyPrefix + subscription.stream, subscription);
      }
      if (rest.length > 0) byConcurrency.set(concurrency, rest);
      else byConcurrency.delete(concurrency);
    }
  }
  return taken;
}

/**
 * On Redis Cluster, effects are applied by one script with the stream, so their keys must share its slot: the
 * handler's `ctx.effects` refuses other keys when declared, with an error saying how to tag them.
 */
export function checkingEffectSlots(handler: MessageHandler): MessageHandler {
  const checked = (data: unknown, ctx?: unknown): ReturnType<MessageHandler> => {
    const info = (ctx as RedisStreamsContext | undefined)?.getArgs()[0];
    if (info && info.group !== undefined) info.effects ??= new RedisEffects(info.key);
    return handler(data, ctx);
  };
  return Object.assign(checked, { isEventHandler: handler.isEventHandler, extras: handler.extras, next: handler.next });
}

export function push<K>(map: Map<K, StreamSubscription[]>, key: K, subscription: StreamSubscription): void {
  const list = map.get(key);
  if (list) list.push(subscription);
  else map.set(key, [subscription]);
}
