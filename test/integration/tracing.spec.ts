import 'reflect-metadata';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { Redis } from 'ioredis';
import {
  Broadcast,
  RedisStreamsClient,
  type RedisStreamsContext,
  RedisStreamsExceptionFilter,
  RedisStreamsServer,
  type RedisStreamsServerOptions,
} from 'nestjs-redis-streams';
import { RedisStreamsTracing } from 'nestjs-redis-streams/tracing';
import { firstValueFrom } from 'rxjs';
import { fieldsToObject } from '../support/handlers.js';
import { randomName, RedisServer, waitFor } from '../support/redis-server.js';

const tracer = () => trace.getTracer('test');

/** The headers of an entry written by the default JSON serializer. */
function headersOf(fields: string[]): Record<string, string> {
  const headers = fieldsToObject(fields).headers;
  return headers ? (JSON.parse(headers) as Record<string, string>) : {};
}

@Controller()
class EmailController {
  static seen: string[] = [];

  @EventPattern('Email', { group: 'EmailServiceGroup' })
  async send(@Payload() mail: { to: string; fail?: boolean }, @Ctx() ctx: RedisStreamsContext) {
    // The user's own span must nest under the entry's `process` span.
    await tracer().startActiveSpan('smtp', async (span) => {
      await new Promise((r) => setTimeout(r, 5));
      span.end();
    });
    EmailController.seen.push(ctx.getId());
    if (mail.fail) throw new Error(`mailbox ${mail.to} is full`);
  }

  @Broadcast('Email')
  count(@Ctx() ctx: RedisStreamsContext) {
    EmailController.seen.push(`broadcast ${ctx.getId()}`);
  }

  @MessagePattern('Sum')
  sum(@Payload() numbers: number[]) {
    if (numbers.length === 0) throw new RpcException('nothing to add');
    return numbers.reduce((a, b) => a + b, 0);
  }
}

describe('tracing with OpenTelemetry', () => {
  const exporter = new InMemorySpanExporter();
  const tracing = new RedisStreamsTracing();
  let redis: RedisServer;
  let admin: Redis;
  let prefix: string;
  let client: RedisStreamsClient;
  let app: INestMicroservice | undefined;

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = redis.client();
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
    trace.disable();
    context.disable();
    propagation.disable();
  });
  beforeEach(async () => {
    prefix = `${randomName()}:`;
    EmailController.seen = [];
    client = new RedisStreamsClient({ connection: redis.url, keyPrefix: prefix, observer: tracing });
    await client.connect();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await client.close();
    exporter.reset();
  });

  /** Starts the app with the tracing observer; failed entries are retried at once, and dead-lettered at the 2nd. */
  async function start(options: Partial<RedisStreamsServerOptions> = {}): Promise<void> {
    @Module({ controllers: [EmailController] })
    class AppModule {}
    const server = new RedisStreamsServer({
      connection: redis.url,
      keyPrefix: prefix,
      maxDeliveries: 2,
      retryBackoff: () => 10,
      ...options,
    });
    server.observe(tracing);
    app = await NestFactory.createMicroservice(AppModule, { strategy: server, logger: false });
    app.useGlobalFilters(new RedisStreamsExceptionFilter()); // keeps the handler's error message for the span
    await app.listen();
  }

  const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
  const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

  describe('without a tracer provider', () => {
    it('handles entries as usual, adds no trace headers and records nothing', async () => {
      expect(tracing.enabled).toBe(false);
      await start();
      const id = await firstValueFrom(client.emit('Email', { to: 'a@example.com' }));
      await waitFor(() => EmailController.seen.length === 2, 'both handlers ran');
      const [[, fields]] = await admin.xrange(`${prefix}Email`, id, id);
      expect(headersOf(fields)).not.toHaveProperty('traceparent');
      expect(await firstValueFrom(client.send('Sum', [1, 2]))).toBe(3);
      expect(exporter.getFinishedSpans()).toEqual([]);
    });
  });

  describe('with a tracer provider and the W3C propagator', () => {
    beforeAll(() => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    });

    it('puts an emit and its group and broadcast handlers in the trace of the emitting request', async () => {
      expect(tracing.enabled).toBe(true);
      await start();
      const request = tracer().startSpan('POST /emails', { kind: SpanKind.SERVER });
      const id = await context.with(trace.setSpan(context.active(), request), () =>
        firstValueFrom(client.emit('Email', { to: 'b@example.com' })),
      );
      request.end();
      await waitFor(() => spans('process Email').length === 2 && spans('smtp').length === 1, 'both handlers traced');

      const traceId = request.spanContext().traceId;
      const [send] = spans('send Email');
      expect(send.kind).toBe(SpanKind.PRODUCER);
      expect(send.spanContext().traceId).toBe(traceId);
      expect(parentOf(send)).toBe(request.spanContext().spanId);
      expect(send.attributes).toMatchObject({
        'messaging.system': 'redis',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'emit',
        'messaging.destination.name': 'Email',
        'messaging.message.id': id,
      });
      const [[, fields]] = await admin.xrange(`${prefix}Email`, id, id);
      expect(headersOf(fields).traceparent).toContain(send.spanContext().spanId);

      const processes = spans('process Email');
      for (const span of processes) {
        expect(span.kind).toBe(SpanKind.CONSUMER);
        expect(span.spanContext().traceId).toBe(traceId);
        expect(parentOf(span)).toBe(send.spanContext().spanId);
        expect(span.attributes).toMatchObject({
          'messaging.system': 'redis',
          'messaging.operation.type': 'process',
          'messaging.destination.name': 'Email',
          'messaging.message.id': id,
          'messaging.redis.message.delivery_count': 1,
        });
        expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
      }
      const grouped = processes.find((s) => s.attributes['messaging.consumer.group.name'] === 'EmailServiceGroup');
      const broadcast = processes.find((s) => s.attributes['messaging.consumer.group.name'] === undefined);
      expect(grouped).toBeDefined();
      expect(broadcast).toBeDefined();
      expect(parentOf(spans('smtp')[0])).toBe(grouped!.spanContext().spanId);
    });

    it('starts a new trace for an entry written without trace headers (redis-cli)', async () => {
      await start();
      const id = await admin.xadd(`${prefix}Email`, '*', 'data', JSON.stringify({ to: 'c@example.com' }));
      await waitFor(() => spans('process Email').length === 2, 'both handlers traced');
      const processes = spans('process Email');
      for (const span of processes) {
        expect(span.attributes['messaging.message.id']).toBe(id);
        expect(parentOf(span)).toBeUndefined();
      }
      expect(processes[0].spanContext().traceId).not.toBe(processes[1].spanContext().traceId);
      expect(spans('send Email')).toEqual([]);
    });

    it('records failures and the dead-letter move in the entry trace', async () => {
      await start();
      const id = await firstValueFrom(client.emit('Email', { to: 'd@example.com', fail: true }));
      await waitFor(() => spans('dead-letter Email').length === 1, 'the entry was dead-lettered', 20_000);
      const [send] = spans('send Email');
      const failed = spans('process Email')
        .filter((s) => s.attributes['messaging.consumer.group.name'] === 'EmailServiceGroup')
        .sort(
          (a, b) =>
            Number(a.attributes['messaging.redis.message.delivery_count']) -
            Number(b.attributes['messaging.redis.message.delivery_count']),
        );
      expect(failed.map((s) => s.attributes['messaging.redis.message.delivery_count'])).toEqual([1, 2]);
      for (const span of failed) {
        expect(span.spanContext().traceId).toBe(send.spanContext().traceId);
        expect(parentOf(span)).toBe(send.spanContext().spanId);
        expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'mailbox d@example.com is full' });
        expect(span.events.map((e) => e.name)).toContain('exception');
      }
      const [deadLetter] = spans('dead-letter Email');
      expect(parentOf(deadLetter)).toBe(failed[1].spanContext().spanId);
      expect(deadLetter.status.code).toBe(SpanStatusCode.ERROR);
      expect(deadLetter.attributes).toMatchObject({
        'messaging.operation.type': 'settle',
        'messaging.message.id': id,
        'messaging.consumer.group.name': 'EmailServiceGroup',
        'messaging.redis.dead_letter_stream': `${prefix}Email:dead`,
      });
    });

    it('traces a request, its handler and its reply', async () => {
      await start();
      const request = tracer().startSpan('GET /sum');
      const sum = await context.with(trace.setSpan(context.active(), request), () =>
        firstValueFrom(client.send('Sum', [2, 3])),
      );
      request.end();
      expect(sum).toBe(5);
      await waitFor(() => spans('send Sum').length === 1 && spans('process Sum').length === 1, 'request traced');
      const [send] = spans('send Sum');
      const [processed] = spans('process Sum');
      expect(parentOf(send)).toBe(request.spanContext().spanId);
      expect(send.attributes['messaging.operation.name']).toBe('send');
      expect(parentOf(processed)).toBe(send.spanContext().spanId);
      expect(processed.attributes).toMatchObject({
        'messaging.operation.name': 'respond',
        'messaging.consumer.group.name': 'requests',
      });
      // The reply entry carries the handler's span.
      const [[, fields]] = await admin.xrange(client.replyStream!, '-', '+', 'COUNT', 1);
      expect(headersOf(fields).traceparent).toContain(processed.spanContext().spanId);

      await expect(firstValueFrom(client.send('Sum', []))).rejects.toMatchObject({ message: 'nothing to add' });
      await waitFor(() => spans('send Sum').length === 2 && spans('process Sum').length === 2, 'failure traced');
      expect(spans('send Sum')[1].status).toEqual({ code: SpanStatusCode.ERROR, message: 'nothing to add' });
      expect(spans('process Sum')[1].status).toEqual({ code: SpanStatusCode.ERROR, message: 'nothing to add' });
    });

    it('makes a retry span in the trace of the failed run', async () => {
      await start({ retryBackoff: () => 60_000 });
      const id = await firstValueFrom(client.emit('Email', { to: 'e@example.com', fail: true }));
      await waitFor(() => spans('process Email').length === 2, 'the failed run and the broadcast traced');
      const [failed] = spans('process Email').filter((s) => s.status.code === SpanStatusCode.ERROR);
      // The group reader reports the retry it schedules.
      await waitFor(() => spans('retry Email').length === 1, 'the retry traced');
      const [retry] = spans('retry Email');
      expect(retry.spanContext().traceId).toBe(failed.spanContext().traceId);
      expect(parentOf(retry)).toBe(failed.spanContext().spanId);
      expect(retry.attributes).toMatchObject({
        'messaging.operation.type': 'settle',
        'messaging.operation.name': 'retry',
        'messaging.redis.retry_delay_ms': 60_000,
        'messaging.message.id': id,
      });
    });

    it('makes a claim span when abandoned entries are taken over', async () => {
      await admin.xgroup('CREATE', `${prefix}Email`, 'EmailServiceGroup', '$', 'MKSTREAM');
      const id = await admin.xadd(`${prefix}Email`, '*', 'data', JSON.stringify({ to: 'f@example.com' }));
      await admin.xreadgroup('GROUP', 'EmailServiceGroup', 'crashed', 'COUNT', 1, 'STREAMS', `${prefix}Email`, '>');
      await start({ minIdleTime: 50, claimInterval: 50 });
      await waitFor(() => EmailController.seen.includes(id!), 'the abandoned entry was claimed and handled');
      await waitFor(() => spans('claim Email').length > 0, 'the claim traced');
      expect(spans('claim Email')[0].attributes).toMatchObject({
        'messaging.operation.type': 'receive',
        'messaging.operation.name': 'claim',
        'messaging.consumer.group.name': 'EmailServiceGroup',
        'messaging.batch.message_count': 1,
      });
      const [claimed] = spans('process Email').filter((s) => s.attributes['messaging.consumer.group.name']);
      expect(claimed.attributes['messaging.redis.message.delivery_count']).toBe(2);
    });
  });
});
