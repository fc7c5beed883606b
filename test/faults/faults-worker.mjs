// One consumer process of the fault-schedule suite (test/faults): a Nest microservice on RedisStreamsServer with one
// handler per consumer group of the stream, and a @Broadcast reader when the seed gives it one. Like the chaos worker,
// it imports the BUILT library by package name and runs as a copy placed beside a private build (see
// test/chaos/global-setup.ts), so edit this file, not the copy.
//
// Every handler start and end, every broadcast entry seen, event-loop stalls and the start and end of close() are
// appended to an event
// log of this consumer (one synchronous write per line, so kill -9 loses at most a partial last line, which the parser
// skips). Format: see test/faults/event-log.ts. Handler latency and failures are drawn from the seed per entry.
//
// With FAULTS_PARTITIONS=<count> it is an instance of a partitioned seed instead (test/faults/partition-scenario.ts):
// one handler, of the partitioned stream's group, whose start and end lines name the partition, the entry's key and
// its sequence number within the key (`S pg/3/k2/17 <id> …`).
import 'reflect-metadata';
import { appendFileSync, existsSync } from 'node:fs';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Broadcast, RedisStreamsExceptionFilter, RedisStreamsServer } from 'nestjs-redis-streams';

const env = process.env;
function required(name) {
  const value = env[name];
  if (!value) throw new Error(`faults-worker: set ${name} in the environment (see test/faults/seed-run.ts).`);
  return value;
}
const num = (name) => Number(required(name));

/** On a cluster (`--cluster`), `{ cluster, clusterOptions }` as JSON; else the URL of the one Redis. */
const connection = env.FAULTS_CLUSTER ? JSON.parse(env.FAULTS_CLUSTER) : required('CHAOS_REDIS_URL');
const run = required('CHAOS_RUN');
const consumer = required('CHAOS_CONSUMER');
const stream = required('CHAOS_STREAM');
const eventLog = `${required('FAULTS_EVENT_DIR')}/${consumer}.events`;
/** Present while the suite simulates a downstream outage: every handler run fails. */
const outageFlag = `${required('FAULTS_EVENT_DIR')}/outage`;
const seed = num('FAULTS_SEED');
/** Set on an instance of the partitioned stream: its partition count, group, and lease time. */
const partitions = env.FAULTS_PARTITIONS ? Number(env.FAULTS_PARTITIONS) : undefined;
/** `g1:4,g2:1`: the groups and each one's concurrency (a partition's reader has concurrency 1). */
const groups = required('FAULTS_GROUPS')
  .split(',')
  .map((spec) => spec.split(':'))
  .map(([name, concurrency]) => ({ name, concurrency: Number(concurrency) }));
const broadcast = (env.FAULTS_BROADCAST ?? '').split(',').includes(consumer);
const fastMs = num('FAULTS_FAST_MS');
const slowRate = num('FAULTS_SLOW_RATE');
const slowMs = num('FAULTS_SLOW_MS');
const failRate = num('FAULTS_FAIL_RATE');

const pid = process.pid;
let runs = 0;
const log = (line) => appendFileSync(eventLog, `${line} ${Date.now()} ${pid}\n`);

/** A number in [0, 1) from the seed and the given integers (a mulberry32 step over a mixed key). */
function draw(...parts) {
  let a = seed >>> 0;
  for (const part of parts) a = Math.imul(a ^ (part >>> 0), 0x9e3779b1) >>> 0;
  a = (a + 0x6d2b79f5) >>> 0;
  let t = Math.imul(a ^ (a >>> 15), a | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A stalled event loop (a starved CPU, a long GC) is a freeze the schedule did not plan: log each stall of 250 ms or
// more, so the checks can tell a late refresh from a lost one.
let tick = Date.now();
setInterval(() => {
  const now = Date.now();
  if (now - tick >= 250) log(`L - - - ${now - tick}`);
  tick = now;
}, 50).unref();

async function handle(groupIndex, data, ctx) {
  const group = groups[groupIndex].name;
  const id = ctx.getId();
  const token = `${pid}.${++runs}`;
  const delivery = ctx.getDeliveryCount();
  log(`S ${group} ${id} ${token} ${delivery}`);
  const slow = draw(data.seq, groupIndex, 1) < slowRate;
  await sleep(slow ? slowMs : Math.floor(draw(data.seq, groupIndex, 2) * (fastMs + 1)));
  const outage = existsSync(outageFlag);
  const failed = data.poison || outage || draw(data.seq, groupIndex, 3, delivery) < failRate;
  log(`E ${group} ${id} ${token} ${failed ? 'fail' : 'ok'}`);
  if (data.poison) throw new Error(`poison entry seq=${data.seq} is always rejected`);
  if (outage) throw new Error(`downstream outage (seq=${data.seq}, delivery ${delivery})`);
  if (failed) throw new Error(`drawn failure of seq=${data.seq} at delivery ${delivery}`);
  // Exactly-once: applied with the ack of the entry's first success in the group. `by` names the run that applied
  // them, so the suite can tell that a run overtaken while frozen did not.
  ctx.effects.hIncrBy(`${run}:effects:${group}`, id, 1).hSet(`${run}:by:${group}`, id, token);
}

/** A partitioned entry `{ key, seq, n }` (n: its number over all keys); its draws follow n. */
async function handlePartitioned(data, ctx) {
  const label = `${groups[0].name}/${ctx.getPartition()}/${data.key}/${data.seq}`;
  const id = ctx.getId();
  const token = `${pid}.${++runs}`;
  const delivery = ctx.getDeliveryCount();
  log(`S ${label} ${id} ${token} ${delivery}`);
  const slow = draw(data.n, 7, 1) < slowRate;
  // Held entries run while a join, a leave or a reset happens (test/faults/partition-producer.ts).
  const held = data.held ? num('FAULTS_SHUTDOWN_MS') + num('FAULTS_LEASE_MS') : undefined;
  await sleep(held ?? (slow ? slowMs : Math.floor(draw(data.n, 7, 2) * (fastMs + 1))));
  const failed = data.poison || draw(data.n, 7, 3, delivery) < failRate;
  log(`E ${label} ${id} ${token} ${failed ? 'fail' : 'ok'}`);
  if (data.poison) throw new Error(`poison entry ${data.key}/${data.seq} is always rejected`);
  if (failed) throw new Error(`drawn failure of ${data.key}/${data.seq} at delivery ${delivery}`);
}

class FaultsController {}
if (partitions !== undefined) {
  FaultsController.prototype.orders = handlePartitioned;
  const descriptor = Object.getOwnPropertyDescriptor(FaultsController.prototype, 'orders');
  Payload()(FaultsController.prototype, 'orders', 0);
  Ctx()(FaultsController.prototype, 'orders', 1);
  EventPattern(stream, { group: groups[0].name })(FaultsController.prototype, 'orders', descriptor);
}
(partitions === undefined ? groups : []).forEach(({ name, concurrency }, i) => {
  const method = `handle_${name}`;
  FaultsController.prototype[method] = function (data, ctx) {
    return handle(i, data, ctx);
  };
  const descriptor = Object.getOwnPropertyDescriptor(FaultsController.prototype, method);
  Payload()(FaultsController.prototype, method, 0);
  Ctx()(FaultsController.prototype, method, 1);
  EventPattern(stream, { group: name, concurrency })(FaultsController.prototype, method, descriptor);
});
if (broadcast) {
  FaultsController.prototype.seen = function (_data, ctx) {
    log(`B - ${ctx.getId()} - -`);
  };
  const descriptor = Object.getOwnPropertyDescriptor(FaultsController.prototype, 'seen');
  Payload()(FaultsController.prototype, 'seen', 0);
  Ctx()(FaultsController.prototype, 'seen', 1);
  Broadcast(stream)(FaultsController.prototype, 'seen', descriptor);
}
Controller()(FaultsController);

class FaultsModule {}
Module({ controllers: [FaultsController] })(FaultsModule);

const minIdleTime = num('FAULTS_MIN_IDLE_MS');
const retryMs = num('FAULTS_RETRY_MS');
const server = new RedisStreamsServer({
  connection,
  keyPrefix: `${run}:`,
  consumer,
  startId: '0',
  count: num('FAULTS_COUNT'),
  block: 1000,
  minIdleTime,
  claimInterval: Math.max(100, Math.floor(minIdleTime / 4)),
  maxDeliveries: num('FAULTS_MAX_DELIVERIES'),
  retryBackoff: () => retryMs,
  shutdownTimeout: num('FAULTS_SHUTDOWN_MS'),
  ...(partitions === undefined
    ? {}
    : { partitions: { [stream]: partitions }, partitionLeaseTime: num('FAULTS_LEASE_MS') }),
});
const app = await NestFactory.createMicroservice(FaultsModule, { strategy: server, logger: ['error', 'warn', 'log'] });
app.useGlobalFilters(new RedisStreamsExceptionFilter());
await app.listen();
log('R - - - -');

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  log('CS - - - -');
  await app.close();
  log('CE - - - -');
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => process.exit(1));
process.send?.({ ready: consumer, pid });
