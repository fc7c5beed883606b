import { DEAD_LETTER_FIELDS } from '../constants.js';
import type { RetryBackoff } from '../interfaces/redis-streams-options.interface.js';
import type { QueuedEntry, StreamSubscription } from './subscription.js';

/** What to do with an entry whose handler failed. */
export type AfterFailure =
  /** Run it again after `delay` ms, held here meanwhile; `resetCount`: first set its delivery count in Redis to it. */
  | { kind: 'retry'; delay: number; resetCount?: number }
  /** Move it to the dead-letter stream. */
  | { kind: 'dead-letter' }
  /** Dead-lettering is off: let go of it, pending, for a claim after `minIdleTime`. */
  | { kind: 'leave-pending' };

/** Different entries failing in a row, with no success between, from which a handler is taken to be down. */
export const OUTAGE_ENTRIES = 20;

/**
 * The retry and dead-letter policy. Below `maxDeliveries` a failed entry is retried after `retryBackoff(deliveries)`.
 * At the cap it is dead-lettered, unless the handler looks down: `OUTAGE_ENTRIES` different entries have failed since
 * its last success here (counting entries that arrived already delivered before: they failed or were abandoned). That
 * is a downstream outage, not poison: the entry stays held and is retried every `retryBackoff(maxDeliveries)` ms, so
 * the stream is not emptied into the dead-letter stream, and held entries keep the reader within its bound. Its count
 * in Redis is set one below the cap, so a consumer that takes it over after a crash or restart runs it again rather
 * than dead-lettering it unrun. A handful of failing entries with no success between them are dead-lettered as usual.
 * `ordered` (a partition's reader): with dead-lettering off, an entry at the cap is retried rather than left pending.
 */
export function afterFailure(
  entry: QueuedEntry,
  sub: StreamSubscription,
  backoff: RetryBackoff,
  ordered = false,
): AfterFailure {
  const max = sub.maxDeliveries;
  if (entry.deliveries < max) return { kind: 'retry', delay: backoff(entry.deliveries) };
  // In order (a partition), an entry left pending would be overtaken by the next ones: it is retried until it succeeds.
  if (sub.deadLetterKey === false) return ordered ? { kind: 'retry', delay: backoff(max) } : { kind: 'leave-pending' };
  if (sub.failingSinceSuccess < OUTAGE_ENTRIES) return { kind: 'dead-letter' };
  return { kind: 'retry', delay: backoff(max), resetCount: Math.max(0, max - 1) };
}

export interface DeadLetterSource {
  group: string;
  consumer: string;
  reason: string;
  /** The entry was refused for its size: the dead letter refers to it instead of copying its body. */
  tooLarge?: { bytes: number };
}

/** The fields of an entry's dead letter: where it came from and why, then its own fields (unless it was too large). */
export function deadLetterFields(entry: QueuedEntry, source: DeadLetterSource): string[] {
  const fields = [
    DEAD_LETTER_FIELDS.stream,
    entry.key,
    DEAD_LETTER_FIELDS.id,
    entry.id,
    DEAD_LETTER_FIELDS.group,
    source.group,
    DEAD_LETTER_FIELDS.consumer,
    source.consumer,
    DEAD_LETTER_FIELDS.deliveries,
    String(entry.deliveries),
    DEAD_LETTER_FIELDS.reason,
    source.reason,
    DEAD_LETTER_FIELDS.at,
    new Date().toISOString(),
  ];
  if (source.tooLarge) {
    // A reference, not a copy: the body stays in its stream at its id, and each group's dead letter stays small.
    fields.push(DEAD_LETTER_FIELDS.size, String(source.tooLarge.bytes));
    return fields;
  }
  for (const field of entry.fields) fields.push(field);
  return fields;
}
