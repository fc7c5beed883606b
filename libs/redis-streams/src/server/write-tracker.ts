import { isNoGroup } from '../redis/stream-commands.js';
import { describeError } from './handler-invoker.js';
import { withTimeout } from './with-timeout.js';

/**
 * Keeps a reader's Redis writes (acks, dead-letter moves, effects) in view until they settle, so `close()` can wait
 * for them with a bound, and logs each failure with what it was. A NOGROUP failure is handed to `onNoGroup`.
 */
export class WriteTracker {
  private readonly writes = new Set<Promise<unknown>>();

  constructor(
    private readonly onError: (message: string) => void,
    private readonly onNoGroup: () => Promise<void>,
  ) {}

  track(write: Promise<unknown>, what: string): void {
    const tracked = write.catch((err: unknown) => {
      if (isNoGroup(err)) return this.onNoGroup();
      this.onError(`Redis ${what} failed: ${describeError(err)}`);
    });
    this.writes.add(tracked);
    void tracked.finally(() => this.writes.delete(tracked));
  }

  /** Waits up to `ms` for the writes under way; returns whether they all settled. */
  settle(ms: number): Promise<boolean> {
    return withTimeout(Promise.allSettled([...this.writes]), ms);
  }
}
