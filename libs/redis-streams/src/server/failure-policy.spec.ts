import { DEAD_LETTER_FIELDS } from '../constants.js';
import { OUTAGE_ENTRIES, afterFailure, deadLetterFields } from './failure-policy.js';
import type { QueuedEntry, StreamSubscription } from './subscription.js';

const backoff = (deliveries: number): number => 100 * deliveries;

function entry(deliveries: number): QueuedEntry {
  return { key: 'Jobs', id: '1-1', fields: ['data', '{"n":1}'], deliveries, since: 0, slot: -1 };
}

function sub(failingSinceSuccess: number, deadLetterKey: string | false = 'Jobs:dead'): StreamSubscription {
  const handler = Object.assign(() => Promise.resolve(), { isEventHandler: true }) as never;
  return {
    stream: 'Jobs',
    key: 'Jobs',
    handler,
    ack: 'after-success',
    maxDeliveries: 3,
    deadLetterKey,
    failingSinceSuccess,
  };
}

describe('afterFailure', () => {
  it('retries below the cap after retryBackoff(deliveries)', () => {
    expect(afterFailure(entry(2), sub(1), backoff)).toEqual({ kind: 'retry', delay: 200 });
  });

  it('dead-letters at the cap while the handler does not look down', () => {
    expect(afterFailure(entry(3), sub(OUTAGE_ENTRIES - 1), backoff)).toEqual({ kind: 'dead-letter' });
  });

  it('keeps retrying a capped entry during an outage, one delivery below the cap in Redis', () => {
    expect(afterFailure(entry(3), sub(OUTAGE_ENTRIES), backoff)).toEqual({ kind: 'retry', delay: 300, resetCount: 2 });
  });

  it('leaves a capped entry pending as it is when dead-lettering is off', () => {
    expect(afterFailure(entry(3), sub(0, false), backoff)).toEqual({ kind: 'leave-pending' });
  });

  it("retries a capped entry of a partition when dead-lettering is off: the partition's next entries wait for it", () => {
    expect(afterFailure(entry(3), sub(0, false), backoff, true)).toEqual({ kind: 'retry', delay: 300 });
  });
});

describe('deadLetterFields', () => {
  it('keeps the entry fields after where it came from and why', () => {
    const fields = deadLetterFields(entry(3), { group: 'G', consumer: 'c1', reason: 'boom' });
    expect(fields.slice(-2)).toEqual(['data', '{"n":1}']);
    expect(fields).toContain(DEAD_LETTER_FIELDS.reason);
  });

  it('refers to an entry refused for its size instead of copying it', () => {
    const fields = deadLetterFields(entry(1), {
      group: 'G',
      consumer: 'c1',
      reason: 'too large',
      tooLarge: { bytes: 9 },
    });
    expect(fields).not.toContain('data');
    expect(fields.slice(-2)).toEqual([DEAD_LETTER_FIELDS.size, '9']);
  });
});
