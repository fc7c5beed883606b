import type { MessageHandler } from '@nestjs/microservices';
import type { StreamHeaders } from '../interfaces/serialization.interface.js';

/** Where an entry's handling happened. `group` is undefined for broadcast readers. */
export interface EntryRef {
  /** The stream's Redis key, with `keyPrefix` (as XINFO reports it), unlike `ctx.getStream()`. */
  stream: string;
  group: string | undefined;
  consumer: string;
  id: string;
}

/** A handler as the server routes it: what `wrapHandler` is told about the handler it wraps. */
export interface HandlerRoute {
  /** The stream name as the pattern names it (without `keyPrefix`). */
  stream: string;
  /** The Redis key of the stream (with `keyPrefix`). */
  key: string;
  /** `event` for `@EventPattern`, `request` for `@MessagePattern`, `broadcast` for `@Broadcast`. */
  kind: 'event' | 'request' | 'broadcast';
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
  /** A failed entry will be taken back and delivered again in `delayMs`. */
  retryScheduled?(entry: EntryRef, delayMs: number): void;
  /** Abandoned entries were claimed from other consumers. */
  claimed?(stream: string, group: string, consumer: string, count: number): void;
  /** An entry was moved to a dead-letter stream. */
  deadLettered?(entry: EntryRef, deadLetterKey: string, reason: string): void;
  /**
   * Replaces a Nest handler once, when the server starts (tracing runs each call inside a span). The replacement takes
   * the same arguments (payload, `RedisStreamsContext`) and must return what the original returns: a value, a promise
   * or an observable, settling when the original's does.
   */
  wrapHandler?(handler: MessageHandler, route: HandlerRoute): MessageHandler;
  /** Headers to add to the replies of the request being handled under `context` (trace context). */
  replyHeaders?(context: unknown): StreamHeaders | undefined;
}
