import { Injectable } from '@nestjs/common';
import type { EntryRef, RedisStreamsObserver } from 'nestjs-redis-streams';

/** Counts of one stream as read by one group (or by broadcast) in this process. */
export interface StreamCounts {
  processed: number;
  failed: number;
  claimed: number;
  deadLettered: number;
}

/**
 * What this instance did, as the transport's observer reports it. In-memory and per process (at-least-once: an entry
 * retried or taken over after a crash counts again); the exactly-once totals live in Redis (see redis-keys.ts).
 */
@Injectable()
export class ProcessedStats {
  consumer = '';
  private readonly startedAt = new Date();
  private readonly counts = new Map<string, StreamCounts>();

  readonly observer: RedisStreamsObserver = {
    processed: (entry) => this.bump(entry, 'processed'),
    failed: (entry) => this.bump(entry, 'failed'),
    deadLettered: (entry) => this.bump(entry, 'deadLettered'),
    claimed: (stream, group, _consumer, count) => {
      this.of(stream, group).claimed += count;
    },
  };

  /** Keyed by `stream/group` (`stream/broadcast` for broadcast readers). */
  snapshot(): { consumer: string; pid: number; startedAt: string; streams: Record<string, StreamCounts> } {
    return {
      consumer: this.consumer,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      streams: Object.fromEntries([...this.counts].map(([key, counts]) => [key, { ...counts }])),
    };
  }

  private bump(entry: EntryRef, field: keyof StreamCounts): void {
    this.of(entry.stream, entry.group)[field]++;
  }

  private of(stream: string, group: string | undefined): StreamCounts {
    const key = `${stream}/${group ?? 'broadcast'}`;
    let counts = this.counts.get(key);
    if (!counts) this.counts.set(key, (counts = { processed: 0, failed: 0, claimed: 0, deadLettered: 0 }));
    return counts;
  }
}
