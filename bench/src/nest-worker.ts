// The Nest side of the benchmark, one mode per process (BENCH_MODE), driven by bench/run.mjs over IPC:
//   group       a Nest microservice on RedisStreamsServer with one @EventPattern handler (consumer-group reads);
//               with HANDLER_DELAY_MS, the handler first waits that long (an I/O-bound handler); with
//               TRACING=idle the server has the tracing observer but no tracer provider is registered, with
//               TRACING=recording a provider records every span and drops it (no export cost)
//   broadcast   a Nest microservice with one @Broadcast handler, started on `go`, reading the stream from 0
//   emit        RedisStreamsClient.emit, TOTAL entries, WINDOW emits in flight at a time; with DURABILITY
//               (`replicas:timeout`) the client's `durability` option; with KEYED=1 each entry has a key (`k<n>`)
//   nest-redis  a Nest microservice on the built-in Transport.REDIS (pub/sub) with one @EventPattern handler
//   nest-redis-emit  Nest's ClientRedis.emit, TOTAL messages, WINDOW in flight at a time
// Handlers do what the raw loops do per entry: the payload is parsed (by the transport) and its number summed.
// REDIS_CLUSTER (`host:port,…`) connects to a Redis Cluster instead of REDIS_URL; PARTITIONS=n makes STREAM a
// partitioned stream of n partitions (server and client), PARTITION_LEASE_MS sets the server's partitionLeaseTime.
import 'reflect-metadata';
import { Controller, type INestMicroservice, Logger, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, EventPattern, Payload, Transport } from '@nestjs/microservices';
import {
  Broadcast,
  type RedisConnection,
  RedisStreamsClient,
  RedisStreamsRecord,
  RedisStreamsServer,
} from 'nestjs-redis-streams';
import { RedisStreamsTracing } from 'nestjs-redis-streams/tracing';
import { firstValueFrom } from 'rxjs';
import { LatencyRecorder } from '../lib/latency.mjs';
import { makePayload } from '../lib/payload.mjs';

interface BenchPayload {
  n: number;
  t: number;
}

const env = process.env;
const STREAM = env.STREAM ?? 'bench';
const TARGET = Number(env.TARGET ?? Infinity);
const latency = env.LATENCY === '1' ? new LatencyRecorder(Number(env.WARMUP ?? 0)) : undefined;
let processed = 0;
let checksum = 0;
const connection: RedisConnection = env.REDIS_CLUSTER ? { cluster: env.REDIS_CLUSTER.split(',') } : env.REDIS_URL!;
const partitions = env.PARTITIONS ? { [STREAM]: Number(env.PARTITIONS) } : undefined;

const control = new Map<string, (msg: Record<string, unknown>) => void>();
process.on('message', (msg: { type: string }) => control.get(msg.type)?.(msg));
const on = (type: string): Promise<Record<string, unknown>> => new Promise((resolve) => control.set(type, resolve));
const send = (msg: Record<string, unknown>): void => void process.send!(msg);

/** Sends the last message, then exits (so a --cpu-prof profile is written even if a handle would linger). */
function exitWith(msg: Record<string, unknown>): void {
  process.send!(msg, () => process.exit(0));
}

function count(data: BenchPayload): void {
  processed++;
  checksum += data.n;
  latency?.record(data);
  if (processed === TARGET) send({ type: 'done', processed, at: performance.timeOrigin + performance.now() });
}

@Controller()
class GroupController {
  @EventPattern(STREAM)
  handle(@Payload() data: BenchPayload): void {
    count(data);
  }
}

const HANDLER_DELAY_MS = Number(env.HANDLER_DELAY_MS ?? 0);

/** A handler that waits on I/O (a timer standing in for a database or an HTTP call) before counting. */
@Controller()
class WaitingGroupController {
  @EventPattern(STREAM)
  async handle(@Payload() data: BenchPayload): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, HANDLER_DELAY_MS));
    count(data);
  }
}

@Controller()
class BroadcastController {
  @Broadcast(STREAM)
  handle(@Payload() data: BenchPayload): void {
    count(data);
  }
}

function moduleWith(controller: Type): Type {
  @Module({ controllers: [controller] })
  class BenchModule {}
  return BenchModule;
}

async function serve(app: INestMicroservice, gated: boolean): Promise<void> {
  if (gated) {
    send({ type: 'ready' });
    await on('go');
    await app.listen();
  } else {
    await app.listen();
    send({ type: 'ready' });
  }
  await on('stop');
  await app.close();
  exitWith({ type: 'result', processed, checksum, latency: latency?.summary() });
}

async function emitAll(emit: (n: number) => Promise<unknown>, close: () => Promise<void> | void): Promise<void> {
  const total = Number(env.TOTAL);
  const window = Number(env.WINDOW ?? 1000);
  await emit(-1); // connects, so the timing covers emits only
  send({ type: 'ready' });
  await on('go');
  const started = performance.now();
  for (let sent = 0; sent < total;) {
    const size = Math.min(window, total - sent);
    const inFlight = new Array<Promise<unknown>>(size);
    for (let i = 0; i < size; i++) inFlight[i] = emit(sent + i);
    await Promise.all(inFlight);
    sent += size;
  }
  send({ type: 'done', ms: performance.now() - started, total });
  await on('stop');
  await close();
  exitWith({ type: 'result' });
}

/** The tracing observer; with `recording`, a tracer provider whose spans are recorded, then dropped. */
async function tracing(mode: 'idle' | 'recording'): Promise<RedisStreamsTracing> {
  if (mode === 'recording') {
    const { trace } = await import('@opentelemetry/api');
    const { BasicTracerProvider, NoopSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new NoopSpanProcessor()] }));
  }
  return new RedisStreamsTracing();
}

const logger = env.BENCH_VERBOSE === '1' ? undefined : (['error', 'warn'] as ('error' | 'warn')[]);
if (logger) Logger.overrideLogger(logger); // clients outside an app log through the static logger

switch (env.BENCH_MODE) {
  case 'group':
  case 'broadcast': {
    const isGroup = env.BENCH_MODE === 'group';
    const server = new RedisStreamsServer({
      connection,
      group: isGroup ? env.GROUP : undefined,
      consumer: env.CONSUMER,
      startId: '$',
      broadcastStartId: '0',
      partitions,
      partitionLeaseTime: env.PARTITION_LEASE_MS ? Number(env.PARTITION_LEASE_MS) : undefined,
    });
    if (env.TRACING === 'idle' || env.TRACING === 'recording') server.observe(await tracing(env.TRACING));
    const controller = !isGroup ? BroadcastController : HANDLER_DELAY_MS > 0 ? WaitingGroupController : GroupController;
    const app = await NestFactory.createMicroservice(moduleWith(controller), {
      strategy: server,
      logger,
    });
    await serve(app, !isGroup);
    break;
  }
  case 'nest-redis': {
    const url = new URL(env.REDIS_URL!);
    const app = await NestFactory.createMicroservice(moduleWith(GroupController), {
      transport: Transport.REDIS,
      options: { host: url.hostname, port: Number(url.port) },
      logger,
    });
    await serve(app, false);
    break;
  }
  case 'emit': {
    const [replicas, timeout] = (env.DURABILITY ?? '').split(':').map(Number);
    const durability = env.DURABILITY ? { replicas, timeout } : undefined;
    const client = new RedisStreamsClient({ connection, partitions, durability });
    await client.connect();
    const warm = `${STREAM}:warm`;
    const keyed = env.KEYED === '1';
    await emitAll(
      (n) => {
        if (n < 0) return firstValueFrom(client.emit(warm, makePayload(n)));
        const data = makePayload(n);
        return firstValueFrom(client.emit(STREAM, keyed ? new RedisStreamsRecord(data, {}, { key: `k${n}` }) : data));
      },
      () => client.close(),
    );
    break;
  }
  case 'nest-redis-emit': {
    const url = new URL(env.REDIS_URL!);
    const client = ClientProxyFactory.create({
      transport: Transport.REDIS,
      options: { host: url.hostname, port: Number(url.port) },
    });
    await client.connect();
    await emitAll(
      (n) => firstValueFrom(client.emit(STREAM, makePayload(n)), { defaultValue: undefined }),
      () => client.close(),
    );
    break;
  }
  default:
    throw new Error(
      `Unknown BENCH_MODE ${env.BENCH_MODE}; expected group, broadcast, emit, nest-redis or nest-redis-emit.`,
    );
}
