import type { MessageHandler } from '@nestjs/microservices';
import type { AckMode } from '../interfaces/redis-streams-options.interface.js';
import type { RequestResponder } from './request-responder.js';

/** One stream read by a reader, with the (possibly chained) Nest handler and the options that apply to it. */
export interface StreamSubscription {
  /** The stream name as the pattern names it. */
  stream: string;
  /** The Redis key (with `keyPrefix`). */
  key: string;
  handler: MessageHandler;
  ack: AckMode;
  maxDeliveries: number;
  /** The dead-letter stream's key, or false to keep failing entries pending. */
  deadLetterKey: string | false;
  /** Set for `@MessagePattern` handlers: answers each entry on the caller's reply stream. */
  responder?: RequestResponder;
  /** Different entries whose runs failed here since this handler's last success; tells an outage from poison. */
  failingSinceSuccess: number;
}

/** An entry on its way through a reader. */
export interface QueuedEntry {
  key: string;
  id: string;
  fields: string[];
  /**
   * `performance.now()` just before the command that delivered (or last refreshed) the entry was sent: Redis' idle
   * time for it is at most `performance.now() - since`.
   */
  since: number;
  deliveries: number;
  /** Set when another consumer took the entry over while it was in flight here: it must not be acked here. */
  lost?: boolean;
  /** Set once acknowledged (on receipt, or by `ctx.ack()`). */
  acked?: boolean;
  /** Set when the entry was deleted from the stream (XDEL, trimming) while held here, its record still this consumer's. */
  deleted?: boolean;
  /** `performance.now()` of its first failed run here (0: none). */
  failedSince?: number;
  /** Its retry timer while it waits for a retry (it still counts as held and waiting). */
  retry?: NodeJS.Timeout;
  /** Set while a partition's entry, handled in manual ack mode, waits for `ctx.ack()` before the next one starts. */
  awaitingAck?: boolean;
  /** The work queue's completion callback while a reader runs the entry. */
  done?: () => void;
  /** Its slot among the entries a group reader holds (`SlotSet`); -1 when not held. */
  slot: number;
}
