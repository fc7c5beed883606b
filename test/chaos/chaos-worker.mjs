// One consumer process of the chaos suite: a real Nest microservice on RedisStreamsServer, importing the BUILT library
// by package name, so it runs the code that users install. The suite runs a copy of this file placed beside a copy of
// the built package (see global-setup.ts), so edit this file, not the copy.
// Plain ESM JS, so Nest's decorators are applied as functions below instead of with `@` syntax.
//
// Configuration comes from the environment (see `ChaosWorkerEnv` in chaos-processes.ts). Each handled entry is recorded
// at-least-once with plain HINCRBYs keyed by entry id, `<run>:seen` when the handler starts and `<run>:completed` when
// it returns (duplicates show up as counts above 1), and exactly-once through `ctx.effects` (applied atomically with
// the entry's first acknowledgement in the group).
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { RedisStreamsExceptionFilter, RedisStreamsServer } from 'nestjs-redis-streams';

const env = process.env;
function required(name) {
  const value = env[name];
  if (!value) throw new Error(`chaos-worker: set ${name} in the environment (see test/chaos/chaos-processes.ts).`);
  return value;
}

const url = required('CHAOS_REDIS_URL');
const run = required('CHAOS_RUN');
const consumer = required('CHAOS_CONSUMER');
const stream = required('CHAOS_STREAM');
const group = required('CHAOS_GROUP');
const count = Number(env.CHAOS_COUNT ?? 32);
const concurrency = Number(env.CHAOS_CONCURRENCY ?? 16);
const maxDeliveries = Number(env.CHAOS_MAX_DELIVERIES ?? 5);
const retryMs = Number(env.CHAOS_RETRY_MS ?? 200);
const minIdleTime = Number(env.CHAOS_MIN_IDLE_MS ?? 2000);
const claimInterval = Number(env.CHAOS_CLAIM_INTERVAL_MS ?? 500);
// A short random pause per entry keeps entries in flight, so a kill always lands on work in progress.
const maxWorkMs = Number(env.CHAOS_WORK_MS ?? 3);

const keys = {
  seen: `${run}:seen`,
  count: `${run}:count`,
  done: `${run}:done`,
  completed: `${run}:completed`,
};

// The at-least-once record goes through a connection of the worker's own, named after the slot so the suite can drop
// it with the transport's connections. It waits out reconnects instead of failing the handler.
const plain = new Redis(url, { connectionName: `${consumer}:plain`, maxRetriesPerRequest: null });
plain.on('error', () => undefined); // reconnects are expected here; the transport logs its own connection errors

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class ChaosController {
  /**
   * @param {{ seq: number, poison?: boolean }} data
   * @param {import('nestjs-redis-streams').RedisStreamsContext} ctx
   */
  async handle(data, ctx) {
    await plain.hincrby(keys.seen, ctx.getId(), 1);
    if (data.poison) throw new Error(`poison entry seq=${data.seq} is always rejected`);
    if (maxWorkMs > 0) await sleep(Math.floor(Math.random() * (maxWorkMs + 1)));
    ctx.effects.hIncrBy(keys.count, 'n', 1).hSet(keys.done, ctx.getId(), data.seq);
    // Handler runs that got this far offered their effects: if one entry gets here twice, the exactly-once check
    // above had something to refuse.
    await plain.hincrby(keys.completed, ctx.getId(), 1);
  }
}
const handle = Object.getOwnPropertyDescriptor(ChaosController.prototype, 'handle');
Payload()(ChaosController.prototype, 'handle', 0);
Ctx()(ChaosController.prototype, 'handle', 1);
EventPattern(stream)(ChaosController.prototype, 'handle', handle);
Controller()(ChaosController);

class ChaosModule {}
Module({ controllers: [ChaosController] })(ChaosModule);

const server = new RedisStreamsServer({
  connection: url,
  keyPrefix: `${run}:`,
  group,
  consumer,
  // Entries written before the group exists must not be skipped.
  startId: '0',
  count,
  concurrency,
  block: 1000,
  minIdleTime,
  claimInterval,
  maxDeliveries,
  retryBackoff: () => retryMs,
  shutdownTimeout: 5000,
});
const app = await NestFactory.createMicroservice(ChaosModule, { strategy: server, logger: ['error', 'warn', 'log'] });
// Without it Nest reduces every handler error to 'Internal server error' before the transport sees it, and the
// dead-letter entry's reason would not name the poison entry's own error.
app.useGlobalFilters(new RedisStreamsExceptionFilter());
await app.listen();

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await app.close();
  await plain.quit().catch(() => plain.disconnect());
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
// The suite talks to this process over IPC; if the suite dies, the channel closes and the worker must not linger.
process.on('disconnect', () => process.exit(1));
process.send?.({ ready: consumer, pid: process.pid });
