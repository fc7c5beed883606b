/** Where an entry's handling happened. `group` is undefined for broadcast readers. */
export interface EntryRef {
  /** The stream's Redis key, with `keyPrefix` (as XINFO reports it), unlike `ctx.getStream()`. */
  stream: string;
  group: string | undefined;
  consumer: string;
  id: string;
}

/**
 * Told what the server does with entries, for metrics and tracing. Every method is optional and called synchronously
 * on the hot path: keep it cheap and never throw.
 */
export interface RedisStreamsObserver {
  /** A handler finished an entry successfully, after `durationMs`. */
  processed?(entry: EntryRef, durationMs: number): void;
  /** A handler failed on an entry, after `durationMs`. */
  failed?(entry: EntryRef, durationMs: number, error: unknown): void;
  /** Abandoned entries were claimed from other consumers. */
  claimed?(stream: string, group: string, consumer: string, count: number): void;
  /** An entry was moved to a dead-letter stream. */
  deadLettered?(entry: EntryRef, deadLetterKey: string, reason: string): void;
}
