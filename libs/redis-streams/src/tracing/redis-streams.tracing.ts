// OpenTelemetry tracing for the transport. Imports @opentelemetry/api, an optional peer dependency: reach it through
// the `nestjs-redis-streams/tracing` entry point only, so apps without it never load it.
import type { MessageHandler } from '@nestjs/microservices';
import {
  type Attributes,
  context,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { ProducedOutcome, RedisStreamsClientObserver } from '../client/redis-streams-client.observer.js';
import type { RedisStreamsContext } from '../ctx-host/redis-streams.context.js';
import type { StreamHeaders } from '../interfaces/serialization.interface.js';
import type { EntryRef, HandlerRoute, RedisStreamsObserver } from '../server/redis-streams.observer.js';
import * as attr from './span-attributes.js';
import { tracedCall } from './traced-call.js';

export interface RedisStreamsTracingOptions {
  /** Name of the tracer (instrumentation scope). @defaultValue `'nestjs-redis-streams'` */
  tracerName?: string;
}

/** Failed entries remembered so that their retry and dead-letter spans join their trace; the oldest go first. */
const REMEMBERED_FAILURES = 10_000;
/** The provider `trace` answers with while none is registered. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * Traces entries from `emit`/`send` to their handlers with the globally registered tracer provider and propagator
 * (W3C `traceparent`/`tracestate` headers in the entry). Give it to servers (`server.observe(tracing)`) and clients
 * (`observer: tracing` in their options). Does nothing, and costs nothing but one check per entry, while no tracer
 * provider is registered.
 *
 * - `emit`/`send` make a PRODUCER span `send <stream>` (for `send`, until the last reply) and carry its context.
 * - Each handler run is a CONSUMER span `process <stream>`, a child of the producer's span (one trace per entry;
 *   entries without trace headers start a trace), and the handler runs inside it. A failure records the exception and
 *   sets status ERROR. Replies to requests carry the `process` span's context.
 * - Retries, claims and dead-letter moves are short spans (`retry`, `claim`, `dead-letter <stream>`); a failed entry's
 *   retry and dead-letter spans are children of its failed `process` span.
 */
export class RedisStreamsTracing implements RedisStreamsObserver, RedisStreamsClientObserver {
  private readonly tracerName: string;
  /** Stream names (without `keyPrefix`) by Redis key, learnt from the handlers wrapped. */
  private readonly streams = new Map<string, string>();
  private readonly spans = new WeakMap<object, Span>();
  private readonly failures = new Map<string, SpanContext>();

  constructor(options: RedisStreamsTracingOptions = {}) {
    this.tracerName = options.tracerName ?? 'nestjs-redis-streams';
  }

  /** True once a tracer provider is registered (`trace.setGlobalTracerProvider`, or an SDK's `register()`). */
  get enabled(): boolean {
    const provider = trace.getTracerProvider();
    return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
  }

  producing(
    stream: string,
    operation: 'emit' | 'send',
    headers: StreamHeaders,
  ): ((outcome: ProducedOutcome) => void) | undefined {
    if (!this.enabled) return undefined;
    const parent = context.active();
    const span = this.tracer().startSpan(
      `send ${stream}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          [attr.MESSAGING_SYSTEM]: attr.SYSTEM,
          [attr.OPERATION_TYPE]: 'send',
          [attr.OPERATION_NAME]: operation,
          [attr.DESTINATION_NAME]: stream,
        },
      },
      parent,
    );
    propagation.inject(trace.setSpan(parent, span), headers);
    return ({ id, error }) => {
      if (id) span.setAttribute(attr.MESSAGE_ID, id);
      if (error !== undefined) failSpan(span, error);
      span.end();
    };
  }

  wrapHandler(handler: MessageHandler, route: HandlerRoute): MessageHandler {
    this.streams.set(route.key, route.stream);
    const name = `process ${route.stream}`;
    const traced = (data: unknown, ctx: RedisStreamsContext): unknown => {
      if (!this.enabled) return handler(data, ctx);
      const [info] = ctx.getArgs();
      const parent = propagation.extract(ROOT_CONTEXT, info.headers);
      const attributes: Attributes = {
        [attr.MESSAGING_SYSTEM]: attr.SYSTEM,
        [attr.OPERATION_TYPE]: 'process',
        [attr.OPERATION_NAME]: route.kind === 'request' ? 'respond' : 'process',
        [attr.DESTINATION_NAME]: route.stream,
        [attr.MESSAGE_ID]: info.id,
        [attr.CLIENT_ID]: info.consumer,
        [attr.DELIVERY_COUNT]: info.deliveryCount,
      };
      if (info.group !== undefined) attributes[attr.CONSUMER_GROUP] = info.group;
      const span = this.tracer().startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);
      this.spans.set(ctx, span);
      const failureKey = `${info.key} ${info.id}`;
      return tracedCall(
        trace.setSpan(parent, span),
        () => handler(data, ctx),
        (err) => {
          if (err === undefined) this.failures.delete(failureKey);
          else {
            failSpan(span, err);
            this.remember(failureKey, span.spanContext());
          }
          span.end();
        },
      );
    };
    return traced as unknown as MessageHandler;
  }

  replyHeaders(ctx: unknown): StreamHeaders | undefined {
    const span = typeof ctx === 'object' && ctx !== null ? this.spans.get(ctx) : undefined;
    if (!span) return undefined;
    const headers: StreamHeaders = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, span), headers);
    return headers;
  }

  retryScheduled(entry: EntryRef, delayMs: number): void {
    if (!this.enabled) return;
    this.settleSpan('retry', entry, { [attr.RETRY_DELAY]: delayMs });
  }

  deadLettered(entry: EntryRef, deadLetterKey: string, reason: string): void {
    if (!this.enabled) return;
    this.settleSpan(
      'dead-letter',
      entry,
      { [attr.DEAD_LETTER_KEY]: deadLetterKey, [attr.DEAD_LETTER_REASON]: reason },
      reason,
    );
    this.failures.delete(`${entry.stream} ${entry.id}`);
  }

  claimed(stream: string, group: string, consumer: string, count: number): void {
    if (!this.enabled) return;
    this.tracer()
      .startSpan(`claim ${this.streamName(stream)}`, {
        kind: SpanKind.CONSUMER,
        attributes: {
          [attr.MESSAGING_SYSTEM]: attr.SYSTEM,
          [attr.OPERATION_TYPE]: 'receive',
          [attr.OPERATION_NAME]: 'claim',
          [attr.DESTINATION_NAME]: this.streamName(stream),
          [attr.CONSUMER_GROUP]: group,
          [attr.CLIENT_ID]: consumer,
          [attr.BATCH_COUNT]: count,
        },
      })
      .end();
  }

  /** A span that ends at once, for what happened to an entry after its handler ran; in its trace when it failed here. */
  private settleSpan(operation: string, entry: EntryRef, extra: Attributes, error?: string): void {
    const failed = this.failures.get(`${entry.stream} ${entry.id}`);
    const parent = failed ? trace.setSpanContext(ROOT_CONTEXT, failed) : ROOT_CONTEXT;
    const attributes: Attributes = {
      [attr.MESSAGING_SYSTEM]: attr.SYSTEM,
      [attr.OPERATION_TYPE]: 'settle',
      [attr.OPERATION_NAME]: operation,
      [attr.DESTINATION_NAME]: this.streamName(entry.stream),
      [attr.MESSAGE_ID]: entry.id,
      [attr.CLIENT_ID]: entry.consumer,
      ...extra,
    };
    if (entry.group !== undefined) attributes[attr.CONSUMER_GROUP] = entry.group;
    const span = this.tracer().startSpan(`${operation} ${this.streamName(entry.stream)}`, { attributes }, parent);
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end();
  }

  private remember(key: string, spanContext: SpanContext): void {
    this.failures.delete(key);
    this.failures.set(key, spanContext);
    if (this.failures.size > REMEMBERED_FAILURES) this.failures.delete(this.failures.keys().next().value!);
  }

  private streamName(key: string): string {
    return this.streams.get(key) ?? key;
  }

  private tracer() {
    return trace.getTracer(this.tracerName);
  }
}

function failSpan(span: Span, err: unknown): void {
  const message = errorMessage(err);
  const name = err && typeof err === 'object' && 'name' in err ? String(err.name) : 'Error';
  span.recordException(err instanceof Error ? err : { name, message });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** Nest's filters turn errors into `{ status: 'error', message }` objects; bare errors keep their message. */
function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String(err.message);
  return typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err));
}
