import type { StreamHeaders } from '../interfaces/serialization.interface.js';

/** How an append ended: the entry id of an emit, or the error; for `send`, when its replies are over. */
export interface ProducedOutcome {
  id?: string;
  error?: unknown;
}

/**
 * Told about what a client appends, for tracing (`RedisStreamsTracing`). Called synchronously before each append:
 * keep it cheap and never throw.
 */
export interface RedisStreamsClientObserver {
  /**
   * An entry is about to be appended to `stream` by `emit`/`dispatch` or, as a request, by `send`. May add headers
   * (trace context) to `headers`, which go into the entry; returns what to call once, when the append (for `send`:
   * the request, replies included) is over.
   */
  producing?(
    stream: string,
    operation: 'emit' | 'send',
    headers: StreamHeaders,
  ): ((outcome: ProducedOutcome) => void) | undefined;
}
