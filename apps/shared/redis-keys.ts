// Every Redis key the sample apps write besides the streams themselves. The library's exactly-once effects take keys
// as given (no keyPrefix), so the prefix is applied here.
import { sameSlotKey } from 'nestjs-redis-streams';
import type { AppConfig } from './app-config.js';

/** Stream names, as handlers and the gateway name them. */
export const STREAMS = Object.freeze({ email: 'Email', push: 'Push' });

/** Consumer groups of the services. */
export const GROUPS = Object.freeze({
  email: 'EmailServiceGroup',
  notification: 'NotificationServiceGroup',
  bi: 'BIGroup',
});

/** Where the apps' keys live: after `prefix`, and whether on a Redis Cluster. */
export interface KeySpace {
  readonly prefix: string;
  readonly cluster: boolean;
}

export function keySpaceOf(config: AppConfig): KeySpace {
  return { prefix: config.keyPrefix, cluster: config.redisCluster !== undefined };
}

/**
 * A key written as an exactly-once effect of `stream`'s entries. The effect is applied by one script with the entry's
 * ack, so on a cluster the key must be in the stream's slot: it gets the stream key as its hash tag, by the library's
 * rule (`{Email}:sent:email`, `{app:Email}:sent:email` with prefix `app:`). On one Redis it keeps the name existing
 * deployments have (`sent:email`).
 */
function ofStream(space: KeySpace, stream: string, name: string): string {
  return space.cluster ? sameSlotKey(space.prefix + stream, `:${name}`) : `${space.prefix}${name}`;
}

export const keys = {
  /** Hash consumer → entries of `stream` this group handled (one exactly-once increment per entry). */
  processed: (space: KeySpace, group: string, stream: string) =>
    ofStream(space, stream, `processed:${group}:${stream}`),
  /** Hash entry id → the consumer that sent the mail. */
  sentMail: (space: KeySpace) => ofStream(space, STREAMS.email, 'sent:email'),
  /** Counter of mails sent. */
  sentMailCount: (space: KeySpace) => ofStream(space, STREAMS.email, 'sent:email:count'),
  /**
   * Hash stream → entries counted by BI. One hash for both streams on one Redis; on a cluster one per stream (each
   * holding its own stream's field), so read a stream's count from `biTotals(space, stream)`.
   */
  biTotals: (space: KeySpace, stream: string) => ofStream(space, stream, 'bi:count'),
  /** Hash minute (`2026-11-22T20:51`) → entries of `stream` added in that minute. */
  biPerMinute: (space: KeySpace, stream: string) => ofStream(space, stream, `bi:per-minute:${stream}`),
  /** The library's default dead-letter stream of a stream (`{Email}:dead` on a cluster). */
  deadLetters: (space: KeySpace, stream: string) =>
    space.cluster ? sameSlotKey(space.prefix + stream, ':dead') : `${space.prefix}${stream}:dead`,
};
