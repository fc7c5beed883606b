import type { LoggerService } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { from, isObservable, map, mergeMap, type Observable, of, throwError } from 'rxjs';
import { CORRELATION_ID_HEADER, REPLY_KIND_HEADER, REPLY_SEQUENCE_HEADER, REPLY_TO_HEADER } from '../constants.js';
import type { DecodedEntry, StreamHeaders, StreamSerializer } from '../interfaces/serialization.interface.js';
import { replyIfWaiting } from '../redis/request-commands.js';
import { describeError } from './handler-invoker.js';

/**
 * What a reply entry carries (header `x-reply`): a value with more to come (`next`), the last value (`last`), the end
 * without a value (`end`), or the handler's error (`error`, which also ends the request).
 */
export type ReplyKind = 'next' | 'last' | 'end' | 'error';

/** How answering a request went, for the reader that acks it. */
export interface RequestOutcome {
  /** The handler's error (already sent to the caller), for logs and observers. */
  handlerError?: unknown;
  /**
   * False when a reply could not be written (Redis failed): the request must then stay pending, so that it is
   * delivered again, instead of being acked without an answer.
   */
  replied: boolean;
}

export interface RequestResponderOptions {
  /** The server's shared, non-blocking connection. */
  commands: Redis;
  serializer: StreamSerializer;
  logger: LoggerService;
  /**
   * Every reply stream starts with this (`<keyPrefix>replies:`). A request naming another key in `x-reply-to` is
   * refused: otherwise whoever can append a request could make servers append entries to any existing stream.
   */
  replyPrefix: string;
  /** Headers for the replies of the request handled under a context (trace context from the observers). */
  replyHeaders?: (context: unknown) => StreamHeaders | undefined;
}

/**
 * Runs a `@MessagePattern` handler for one request entry and writes what it produces to the caller's reply stream
 * (header `x-reply-to`), each reply tagged with the request's `x-correlation-id`, in order, one write at a time. A
 * handler that returns one value (or a promise of one) answers with a single `last` reply. An observable's values are
 * sent as they come (`next`), and its completion is marked separately (`end`): nothing is held back waiting for the
 * next value. `done` is called once every reply is written, so the reader acks the request only after its answer is in
 * Redis.
 */
export class RequestResponder {
  constructor(private readonly options: RequestResponderOptions) {}

  respond(
    handler: MessageHandler,
    entry: DecodedEntry,
    context: unknown,
    done: (outcome: RequestOutcome) => void,
  ): void {
    const replyTo = entry.headers[REPLY_TO_HEADER];
    const correlationId = entry.headers[CORRELATION_ID_HEADER];
    if (replyTo && !replyTo.startsWith(this.options.replyPrefix)) {
      const refusal = new Error(
        `Request ${correlationId ?? '(no correlation id)'} names reply stream "${replyTo}", outside this server's ` +
          `reply streams ("${this.options.replyPrefix}*"); not handled. Client and server must use the same keyPrefix.`,
      );
      this.options.logger.error(refusal.message);
      return done({ handlerError: refusal, replied: true });
    }
    // An entry without reply headers (written by another program) is handled, but there is nobody to answer.
    const request =
      replyTo && correlationId ? new PendingReply(this.options, replyTo, correlationId, context) : undefined;
    let ended = false;
    let handlerError: unknown;
    const finish = (): void => {
      if (!request) return done({ handlerError, replied: true });
      request.written().then(
        () => done({ handlerError, replied: true }),
        (err: unknown) => {
          this.options.logger.error(
            `Reply to request ${correlationId} could not be written to ${replyTo}; the request stays pending and will be ` +
              `delivered again: ${describeError(err)}`,
          );
          done({ handlerError, replied: false });
        },
      );
    };
    replies(handler, entry.data, context).subscribe({
      next: ({ kind, value }) => {
        ended ||= kind === 'last';
        request?.send(kind, value);
      },
      error: (err: unknown) => {
        handlerError = err;
        request?.send('error', toRpcError(err));
        finish();
      },
      complete: () => {
        if (!ended) request?.send('end', null);
        finish();
      },
    });
  }
}

/** The replies of one request, written one after the other so that they reach the reply stream in order. */
class PendingReply {
  private chain: Promise<void> = Promise.resolve();
  private ended = false;
  private callerGone = false;
  /** The number of the next reply (`x-reply-seq`): a re-run of the request numbers its replies from 0 again. */
  private sequence = 0;

  constructor(
    private readonly options: RequestResponderOptions,
    private readonly replyTo: string,
    private readonly correlationId: string,
    private readonly context: unknown,
  ) {}

  /** Asked at the first reply, once the handler runs (its trace span exists). */
  private headers?: StreamHeaders;

  send(kind: ReplyKind, value: unknown): void {
    if (this.ended) return;
    let fields: string[];
    try {
      fields = this.fields(kind, value);
    } catch (err) {
      // A value that can't be serialized would fail again on every delivery: the caller gets an error instead.
      this.ended = true;
      fields = this.fields('error', {
        status: 'error',
        message: `The reply could not be serialized: ${describeError(err)}`,
      });
    }
    this.chain = this.chain.then(async () => {
      if (this.callerGone) return;
      if (await replyIfWaiting(this.options.commands, this.replyTo, fields)) return;
      this.callerGone = true;
      this.options.logger.warn?.(
        `Reply to request ${this.correlationId} dropped: the caller's reply stream ${this.replyTo} is gone (the client ` +
          'closed, crashed or timed out long ago).',
      );
    });
  }

  /** Settles once every reply sent so far is written (or the caller turned out to be gone); rejects if Redis failed. */
  written(): Promise<void> {
    return this.chain;
  }

  private fields(kind: ReplyKind, value: unknown): string[] {
    const fields = this.options.serializer.serialize(value === undefined ? null : value, {
      ...(this.headers ??= this.options.replyHeaders?.(this.context) ?? {}),
      [CORRELATION_ID_HEADER]: this.correlationId,
      [REPLY_KIND_HEADER]: kind,
      [REPLY_SEQUENCE_HEADER]: String(this.sequence),
    });
    this.sequence++; // only once serialized: the error reply that replaces a value takes its number
    return fields;
  }
}

/** One value of the handler's result and how it is sent: `last` for a single value, `next` for an observable's. */
interface Reply {
  kind: 'next' | 'last';
  value: unknown;
}

/**
 * The handler's result as replies: a plain value or a promise of one is a single `last` reply; an observable (or a
 * promise of one, as Nest's handlers return it) gives a `next` reply per value, sent as it comes.
 */
function replies(handler: MessageHandler, data: unknown, context: unknown): Observable<Reply> {
  let result: unknown;
  try {
    result = handler(data, context);
  } catch (err) {
    return throwError(() => err);
  }
  const one = (value: unknown): Observable<Reply> =>
    isObservable(value)
      ? value.pipe(map((next): Reply => ({ kind: 'next', value: next })))
      : of({ kind: 'last', value });
  return result instanceof Promise ? from(result).pipe(mergeMap(one)) : one(result);
}

/**
 * Nest's exception filters already turn what a handler throws into `{ status: 'error', message }` (or the object an
 * `RpcException` carries), and that is sent as it is, like Nest's own transports do. A bare `Error` (a handler not
 * wrapped by Nest) would serialize to `{}`, so it is given the same shape.
 */
function toRpcError(err: unknown): unknown {
  if (err instanceof Error) return { status: 'error', message: err.message };
  return err ?? { status: 'error', message: 'The handler failed with a nullish value' };
}
