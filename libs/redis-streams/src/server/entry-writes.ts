import type { LoggerService } from '@nestjs/common';
import type { EntryLedger } from './entry-ledger.js';
import { type DeadLetterSource, deadLetterFields } from './failure-policy.js';
import type { GroupEntryInfo } from './group-entry-info.js';
import type { RedisStreamsObserver } from './redis-streams.observer.js';
import type { QueuedEntry, StreamSubscription } from './subscription.js';
import type { WriteTracker } from './write-tracker.js';

export interface DeadLetterEvent {
  stream: string;
  id: string;
  group: string;
  deadLetterKey: string;
  deadLetterId: string;
  reason: string;
}

export interface EntryWritesOptions {
  group: string;
  consumer: string;
  ledger: EntryLedger;
  writes: WriteTracker;
  logger: LoggerService;
  observer?: RedisStreamsObserver;
  /** Told about entries moved to a dead-letter stream. */
  onDeadLetter?: (event: DeadLetterEvent) => void;
}

/**
 * The writes that end an entry in a group beyond a plain ack (its effects with its ack, its move to the dead-letter
 * stream), each tracked so `close()` can wait for it, and each outcome that is not the expected one logged with the
 * entry it concerns.
 */
export class EntryWrites {
  constructor(private readonly options: EntryWritesOptions) {}

  /** Acks with the declared effects (after success, or from `ctx.ack()`); reports effects that could not be applied. */
  applyEffects(entry: QueuedEntry, info: GroupEntryInfo): Promise<void> {
    const { ledger, writes } = this.options;
    const effects = info.effects?.seal() ?? [];
    if (entry.acked) return Promise.resolve(); // acked already (ctx.ack() before), with the effects declared by then
    if (effects.length === 0) return ledger.ackNow(entry);
    const write = ledger.ackWithEffects(entry, effects).then((outcome) => {
      if (outcome === 'applied') return;
      const why =
        outcome === 'out-of-order'
          ? 'an earlier entry of its partition is not acknowledged yet; both run again, in order'
          : outcome === 'not-owned'
            ? 'another consumer owns it now, or took it again for another run (this one was paused or slow past ' +
              'minIdleTime); that run applies them when it succeeds'
            : entry.deleted
              ? 'it was deleted from the stream (trimmed) while held here, and a claim has dropped its pending record since'
              : 'its pending record is gone: another consumer acknowledged it after a claim (and applied them), or the ' +
                'group was destroyed and recreated under it (then they are lost: see the README, "Faults")';
      this.log('warn', entry, `effects not applied here: ${why}`);
    });
    writes.track(write, `ack with effects of id=${entry.id}`);
    return write;
  }

  /**
   * Moves the entry to its dead-letter stream (if it has one) and acks it, atomically, if still this consumer's.
   * Resolves once the move was written or failed (it never rejects: a failure is logged).
   */
  deadLetter(entry: QueuedEntry, sub: StreamSubscription, source: DeadLetterSource): Promise<void> {
    if (sub.deadLetterKey === false) {
      this.log('error', entry, `${source.reason}; dead-lettering is off, so it stays pending`);
      return Promise.resolve();
    }
    const deadKey = sub.deadLetterKey;
    const { group, consumer, ledger, writes } = this.options;
    const move = ledger.deadLetter(entry, deadKey, deadLetterFields(entry, source)).then((deadId) => {
      if (deadId === null) return this.log('warn', entry, 'not dead-lettered: another consumer owns it now');
      this.log('warn', entry, `moved to dead-letter stream ${deadKey} as ${deadId}: ${source.reason}`);
      const reason = source.reason;
      const event = { stream: entry.key, id: entry.id, group, deadLetterKey: deadKey, deadLetterId: deadId, reason };
      this.options.onDeadLetter?.(event);
      this.options.observer?.deadLettered?.({ stream: entry.key, group, consumer, id: entry.id }, deadKey, reason);
    });
    writes.track(move, `dead-letter move of id=${entry.id}`);
    return move.catch(() => undefined);
  }

  log(level: 'log' | 'warn' | 'error', entry: QueuedEntry, message: string): void {
    const line = `[stream=${entry.key} group=${this.options.group} consumer=${this.options.consumer} id=${entry.id}] ${message}`;
    if (level === 'error') this.options.logger.error(line);
    else this.options.logger[level]?.(line);
  }
}
