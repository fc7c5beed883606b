#!/usr/bin/env node
// npm run demo [-- --once] [--cluster] [--mails 2000] [--push 1000]
//
// The whole sample system on this machine: a private Redis (or REDIS_URL), the gateway, two email replicas, push and
// BI as child processes. Sends a few early entries, then a burst through the gateway's HTTP API, kills one email
// replica mid-burst (SIGKILL) and restarts it, starts BI only after the burst with BI_BACKFILL_FROM (a service added
// later, catching up on history from a point in time), waits for every group to catch up, prints what happened, and
// keeps running (dashboard included) until Ctrl-C. `--once` exits after the summary: 0 when nothing was lost, 1 otherwise.
// `--cluster` runs it all on a private Redis Cluster instead, and also moves a stream's slot and fails a master over
// while the traffic flows (scripts/lib/demo-cluster.mjs).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { clusterFaults, startDemoCluster, storedEntries } from './lib/demo-cluster.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STREAMS = ['Email', 'Push'];
const GROUPS = {
  Email: ['EmailServiceGroup', 'NotificationServiceGroup', 'BIGroup'],
  Push: ['NotificationServiceGroup', 'BIGroup'],
};
const BUILT = [
  'libs/redis-streams/dist/esm/index.js',
  ...['gateway', 'email', 'push', 'bi'].map((app) => `dist/apps/${app}/src/main.js`),
];

// ---------------------------------------------------------------------------------------------------------- output
const tty = process.stdout.isTTY === true;
const color = tty && !process.env.NO_COLOR;
const paint = (code) => (text) => (color ? `\x1b[${code}m${text}\x1b[0m` : String(text));
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const red = paint('31');
const yellow = paint('33');
const cyan = paint('36');
const n = (value) => (value === null || value === undefined ? '–' : Number(value).toLocaleString('en-US'));
const say = (line = '') => process.stdout.write(`${line}\n`);
const ok = green('✓');
const bad = red('✗');

function fail(message) {
  process.stderr.write(`${red('demo:')} ${message}\n`);
  process.exit(1);
}

// --------------------------------------------------------------------------------------------------------- options
let args;
try {
  args = parseArgs({
    options: {
      once: { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      mails: { type: 'string', default: '2000' },
      push: { type: 'string', default: '1000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (err) {
  fail(`${err.message}\nUsage: npm run demo [-- --once] [--cluster] [--mails N] [--push N]`);
}
if (args.help) {
  say('Usage: npm run demo [-- --once] [--cluster] [--mails 2000] [--push 1000]');
  say('  --once     exit after the summary (exit code 1 if anything was lost)');
  say('  --cluster  on a private Redis Cluster (3 masters + 3 replicas), with a reshard and a failover mid-traffic');
  say('  REDIS_URL=redis://host:port  use that Redis (keys get a random prefix) instead of a private redis-server');
  process.exit(0);
}
const MAILS = Number(args.mails);
const PUSHES = Number(args.push);
/** Mails and pushes sent before the point in time BI backfills from. */
const EARLY = 20;
if (!Number.isInteger(MAILS) || MAILS < 2 || !Number.isInteger(PUSHES) || PUSHES < 0) {
  fail('--mails must be an integer of at least 2 and --push an integer of at least 0.');
}
if (args.cluster && process.env.REDIS_URL) {
  fail('--cluster starts a Redis Cluster of its own (it moves slots and kills a master): unset REDIS_URL to use it.');
}
/** How long a request the gateway answered 5xx is sent again: on a cluster, while a failover is under way. */
const RETRY_FOR_MS = args.cluster ? 30_000 : 0;

// ------------------------------------------------------------------------------------------------------- processes
const runId = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const logDir = join(ROOT, '.demo', runId);
mkdirSync(logDir, { recursive: true });
const children = new Map(); // name → { app, port, env, child, exited, expectedExit }
let redisProcess;
let redisDir;
/** Where the apps' data lives: a private redis-server, REDIS_URL, or a private cluster (see startRedis). */
let backend;
/** Aborted when the demo exits: kills the cluster's nodes, even while they start. */
const exiting = new AbortController();
let shuttingDown;
/** The apps' key names (dist/apps/shared/redis-keys.js, loaded once the apps are built). */
let keys;

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

async function startRedis() {
  if (process.env.REDIS_URL) {
    const url = process.env.REDIS_URL;
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
    } catch (err) {
      fail(
        `REDIS_URL=${url} does not answer (${err.message}). Unset REDIS_URL to let the demo start its own redis-server.`,
      );
    } finally {
      probe.disconnect();
    }
    // A shared Redis may hold other data: the demo's keys get a prefix of their own.
    return standalone(url, `demo-${randomBytes(3).toString('hex')}:`, `${url} (keys prefixed)`);
  }
  const port = await freePort();
  redisDir = mkdtempSync(join(tmpdir(), 'redis-streams-demo-'));
  const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const logFd = openSync(join(logDir, 'redis.log'), 'a');
  redisProcess = spawn(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      redisDir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--daemonize',
      'no',
    ],
    // Its own process group: Ctrl-C reaches only the demo, which stops the apps first and Redis last.
    { stdio: ['ignore', logFd, logFd], detached: true },
  );
  closeSync(logFd);
  const missing = new Promise((_, reject) => redisProcess.once('error', reject));
  const url = `redis://127.0.0.1:${port}`;
  try {
    await Promise.race([missing, until(() => ping(url), 10_000, 'redis-server to answer PING')]);
  } catch (err) {
    if (err.code === 'ENOENT') {
      fail(
        `${bin} was not found on this machine.\n` +
          "  Install it with `npm run setup` (as root; installs Debian's redis-server), or `apt-get install -y redis-server`,\n" +
          '  or point the demo at a running Redis: REDIS_URL=redis://host:6379 npm run demo',
      );
    }
    fail(`could not start ${bin}: ${err.message} (log: ${relative(ROOT, join(logDir, 'redis.log'))})`);
  }
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1] ?? '';
  const label = `private redis-server ${version} on 127.0.0.1:${port}, append-only file on`;
  return standalone(url, '', label);
}

/** One Redis at `url`: what the apps are given, and the demo's own connection. */
function standalone(url, prefix, label) {
  return {
    label,
    env: { REDIS_URL: url, KEY_PREFIX: prefix },
    space: { prefix, cluster: false },
    client: () => new Redis(url, { maxRetriesPerRequest: 3 }),
  };
}

async function stopRedis() {
  if (redisProcess.exitCode === null) {
    const exited = new Promise((r) => redisProcess.once('exit', r));
    redisProcess.kill('SIGTERM');
    await exited;
  }
  rmSync(redisDir, { recursive: true, force: true });
}

async function ping(url) {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } finally {
    probe.disconnect();
  }
}

function launch(name) {
  const entry = children.get(name);
  const logFd = openSync(join(logDir, `${name}.log`), 'a');
  const child = spawn(process.execPath, [join(ROOT, `dist/apps/${entry.app}/src/main.js`)], {
    cwd: ROOT,
    // NO_COLOR: plain log files. Detached (a process group of its own): Ctrl-C in the terminal reaches only the demo,
    // which then stops each app while Redis still runs.
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      NO_COLOR: '1',
      HOST: '127.0.0.1',
      PORT: String(entry.port),
      ...entry.env,
    },
    stdio: ['ignore', logFd, logFd],
    detached: true,
  });
  closeSync(logFd);
  entry.child = child;
  entry.expectedExit = false;
  entry.exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  entry.exited.then(({ code, signal }) => {
    if (!entry.expectedExit && !shuttingDown) {
      say(
        `\n${bad} ${name} exited unexpectedly (${code ?? signal}); its log: ${relative(ROOT, join(logDir, `${name}.log`))}`,
      );
    }
  });
  return waitHealthy(name);
}

async function waitHealthy(name) {
  const entry = children.get(name);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (entry.child.exitCode !== null || entry.child.signalCode !== null) {
      throw new Error(`${name} exited while starting:\n${tail(join(logDir, `${name}.log`))}`);
    }
    const healthy = await fetch(`http://127.0.0.1:${entry.port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) return;
    await sleep(100);
  }
  throw new Error(`${name} did not report healthy within 30 s:\n${tail(join(logDir, `${name}.log`))}`);
}

function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function killChild(name, signal) {
  const entry = children.get(name);
  if (!entry?.child || entry.child.exitCode !== null || entry.child.signalCode !== null) return;
  entry.expectedExit = true;
  entry.child.kill(signal);
  const timer = setTimeout(() => entry.child.kill('SIGKILL'), 10_000);
  await entry.exited;
  clearTimeout(timer);
}

/** Stops the apps (SIGTERM: each closes its microservice gracefully), then Redis, then says so. */
async function shutdown(code) {
  if (shuttingDown) return shuttingDown;
  shuttingDown = (async () => {
    const started = Date.now();
    await Promise.all([...children.keys()].map((name) => killChild(name, 'SIGTERM')));
    if (redisProcess) await stopRedis();
    else await backend?.stop?.();
    exiting.abort();
    const name = redisProcess ? 'Redis' : backend?.name;
    const what = name ? `the apps, then ${name}` : 'the apps';
    say(dim(`Stopped ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s. Logs: ${relative(ROOT, logDir)}/`));
    process.exit(code);
  })();
  return shuttingDown;
}

// Children run in process groups of their own: never leave one behind, whatever ends the demo.
process.on('exit', () => {
  for (const { child } of children.values()) if (child && child.exitCode === null) child.kill('SIGKILL');
  if (redisProcess && redisProcess.exitCode === null) redisProcess.kill('SIGKILL');
  exiting.abort();
});

// ----------------------------------------------------------------------------------------------------------- traffic
class Progress {
  constructor(total) {
    this.total = total;
    this.done = 0;
    this.failed = 0;
    this.started = Date.now();
    this.lastStep = -1;
  }

  tick(failed) {
    this.done++;
    if (failed) this.failed++;
    if (tty) {
      if (this.done === this.total || this.done % 25 === 0) this.draw();
    } else {
      const step = Math.floor((this.done / this.total) * 4);
      if (step > 0 && step !== this.lastStep) {
        this.lastStep = step;
        say(`  ${n(this.done)}/${n(this.total)} sent`);
      }
    }
  }

  /** Prints a line above the bar without breaking it. */
  note(line) {
    if (tty) process.stdout.write('\r\x1b[2K');
    say(`  ${line}`);
    if (tty) this.draw();
  }

  draw() {
    const width = 30;
    const filled = Math.round((this.done / this.total) * width);
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? Math.round(this.done / seconds) : 0;
    const bar = cyan('█'.repeat(filled)) + dim('░'.repeat(width - filled));
    const failed = this.failed ? red(`  ${n(this.failed)} refused`) : '';
    process.stdout.write(
      `\r\x1b[2K  ${bar} ${n(this.done).padStart(6)}/${n(this.total)}  ${String(Math.round((this.done / this.total) * 100)).padStart(3)}%  ${n(rate)}/s${failed}`,
    );
  }

  finish() {
    if (tty) {
      this.draw();
      process.stdout.write('\n');
    }
    return (Date.now() - this.started) / 1000;
  }
}

/** Requests the gateway failed (5xx, or no answer) and the demo sent again, within RETRY_FOR_MS. */
let retried = 0;

/** POSTs `body`; the entry id when the gateway accepted it (202), else undefined. */
async function post(url, body) {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const { id, status } = await postOnce(url, body);
    if (id !== undefined || status < 500 || Date.now() - started > RETRY_FOR_MS) return id;
    // As a real client would. An emit that failed may have stored its entry anyway: the stream then holds it twice.
    if (attempt === 1) retried++;
    await sleep(250);
  }
}

async function postOnce(url, body) {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const reply = await response.json().catch(() => ({}));
    return {
      id: response.status === 202 && typeof reply.id === 'string' ? reply.id : undefined,
      status: response.status,
    };
  } catch {
    return { id: undefined, status: 599 };
  }
}

/**
 * Sends the mails and pushes. Each of `milestones` runs once, `run(progress)`, when its share `at` of the requests has
 * been sent, and not before the previous one has finished; the other requests go on meanwhile.
 */
async function burst(gateway, milestones, progress) {
  // Mails and push notifications interleaved, as real traffic would be.
  const jobs = [];
  for (let i = 0; i < Math.max(MAILS, PUSHES); i++) {
    if (i < MAILS) jobs.push(['Email', i]);
    if (i < PUSHES) jobs.push(['Push', i]);
  }
  const accepted = { Email: [], Push: [] };
  let next = 0;
  const due = [...milestones].sort((a, b) => a.at - b.at);
  let previous = Promise.resolve();
  const worker = async () => {
    while (next < jobs.length) {
      const [stream, i] = jobs[next++];
      const id =
        stream === 'Email'
          ? await post(`${gateway}/emails`, {
              to: `user${i}@example.com`,
              subject: `Welcome #${i}`,
              body: 'Hello from the demo',
            })
          : await post(`${gateway}/push`, { userId: `u${i % 500}`, title: `Ping #${i}`, body: 'Hello from the demo' });
      if (id) accepted[stream].push(id);
      progress.tick(id === undefined);
      while (due.length > 0 && progress.done >= jobs.length * due[0].at) {
        const milestone = due.shift();
        previous = previous.then(() => milestone.run(progress));
        await previous;
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return accepted;
}

// -------------------------------------------------------------------------------------------------------- read-outs
async function groupInfo(redis, key) {
  try {
    const rows = await redis.call('XINFO', 'GROUPS', key);
    return rows.map((row) => {
      const info = {};
      for (let i = 0; i < row.length; i += 2) info[row[i]] = row[i + 1];
      return {
        name: info.name,
        pending: Number(info.pending),
        lag: info.lag === null ? null : Number(info.lag),
        read: info['entries-read'],
      };
    });
  } catch (err) {
    if (/no such key/i.test(err.message)) return [];
    throw err;
  }
}

async function settled(redis, prefix) {
  for (const stream of STREAMS) {
    const groups = await groupInfo(redis, prefix + stream);
    if (groups.length < GROUPS[stream].length) return false;
    if (groups.some((g) => g.pending !== 0 || g.lag !== 0)) return false;
  }
  return true;
}

async function hashSum(redis, key) {
  return (await redis.hvals(key)).reduce((sum, v) => sum + Number(v), 0);
}

async function missingMails(redis, space, ids) {
  let missing = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    missing += (await redis.hmget(keys.sentMail(space), ...chunk)).filter((v) => v === null).length;
  }
  return missing;
}

function table(header, rows) {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => String(r[i]).replace(/\x1b\[\d+m/g, '').length)),
  );
  const line = (cells, style = (x) => x) =>
    '  ' +
    cells
      .map((cell, i) => {
        const text = String(cell);
        const pad = ' '.repeat(widths[i] - text.replace(/\x1b\[\d+m/g, '').length);
        if (i === header.length - 1) return text;
        return i >= 2 ? pad + text : text + pad;
      })
      .map(style)
      .join('  ');
  say(line(header, bold));
  for (const row of rows) say(line(row));
}

/**
 * `accepted`: every entry the gateway took (on a cluster every entry stored, `what` 'stored': see main);
 * `sinceBackfill`: those from BI_BACKFILL_FROM on, which BI must count. `extraChecks`: more [what, actual, expected].
 */
async function summary(redis, space, accepted, sinceBackfill, { what = 'accepted', extraChecks = [] } = {}) {
  const rows = [];
  const checks = [];
  for (const stream of STREAMS) {
    const key = space.prefix + stream;
    const groups = await groupInfo(redis, key);
    const dead = await redis.xlen(keys.deadLetters(space, stream));
    for (const groupName of GROUPS[stream]) {
      const group = groups.find((g) => g.name === groupName);
      const perConsumer = await redis.hgetall(keys.processed(space, groupName, stream));
      const handled = Object.values(perConsumer).reduce((s, v) => s + Number(v), 0);
      const consumers = Object.entries(perConsumer)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([consumer, count]) => `${consumer} ${n(count)}`)
        .join(' · ');
      const read = group?.read ?? 0;
      rows.push([
        stream,
        groupName,
        n(read),
        n(read - (group?.pending ?? 0)),
        n(group?.pending),
        n(group?.lag),
        n(dead),
        consumers || '–',
      ]);
      const expected = groupName === 'BIGroup' ? sinceBackfill[stream] : accepted[stream];
      const what = groupName === 'BIGroup' ? 'entry since BI_BACKFILL_FROM' : 'entry';
      checks.push([`${groupName} handled every ${stream} ${what} exactly once`, handled, expected.length]);
    }
  }
  say();
  table(['Stream', 'Group', 'Delivered', 'Acked', 'Pending', 'Lag', 'Dead', 'Handled by (exactly-once counts)'], rows);

  const biTotal = async (stream) => Number(await redis.hget(keys.biTotals(space, stream), stream));
  const sentCount = Number(await redis.get(keys.sentMailCount(space)));
  const sentIds = await redis.hlen(keys.sentMail(space));
  checks.push(
    ['mails sent (counter)', sentCount, accepted.Email.length],
    ['mails sent (one record per entry)', sentIds, accepted.Email.length],
    [`${what} mails never sent`, await missingMails(redis, space, accepted.Email), 0],
    ['BI counter for Email (since BI_BACKFILL_FROM)', await biTotal('Email'), sinceBackfill.Email.length],
    ['BI counter for Push (since BI_BACKFILL_FROM)', await biTotal('Push'), sinceBackfill.Push.length],
    [
      'BI per-minute counts for Email',
      await hashSum(redis, keys.biPerMinute(space, 'Email')),
      sinceBackfill.Email.length,
    ],
    [
      'dead letters',
      (await redis.xlen(keys.deadLetters(space, 'Email'))) + (await redis.xlen(keys.deadLetters(space, 'Push'))),
      0,
    ],
    ...extraChecks,
  );
  say();
  let failures = 0;
  for (const [what, actual, expected] of checks) {
    const good = actual === expected;
    if (!good) failures++;
    say(`  ${good ? ok : bad} ${what}: ${n(actual)}${good ? '' : red(` (expected ${n(expected)})`)}`);
  }
  return failures;
}

async function claimedByEmailReplicas() {
  let claimed = 0;
  for (const [name, entry] of children) {
    if (entry.app !== 'email') continue;
    const stats = await fetch(`http://127.0.0.1:${entry.port}/stats`).then(
      (r) => r.json(),
      () => undefined,
    );
    for (const [key, counts] of Object.entries(stats?.streams ?? {}))
      if (key.endsWith('/EmailServiceGroup')) claimed += counts.claimed;
    void name;
  }
  return claimed;
}

// -------------------------------------------------------------------------------------------------------------- main
async function main() {
  process.on('SIGINT', () => {
    if (tty) process.stdout.write('\r\x1b[2K');
    say(`\nStopping the apps and ${redisProcess ? 'Redis' : (backend?.name ?? 'the demo')}…`);
    shutdown(130).catch(() => process.exit(130));
  });
  process.on('SIGTERM', () => shutdown(143));

  say(bold('nestjs-redis-streams demo') + dim('  gateway → Email/Push streams → email ×2, push, BI'));
  say();

  if (BUILT.some((file) => !existsSync(join(ROOT, file)))) {
    say('  Building the library and the apps (first run; npm run build)…');
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) fail(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  }
  ({ keys } = await import(pathToFileURL(join(ROOT, 'dist/apps/shared/redis-keys.js')).href));

  if (args.cluster) say(`  ${'Redis'.padEnd(9)} starting a Redis Cluster…`);
  backend = args.cluster ? await startDemoCluster(logDir, exiting.signal) : await startRedis();
  const { space } = backend;
  say(`  ${'Redis'.padEnd(9)} ${backend.label}`);
  say(`  ${'Logs'.padEnd(9)} ${relative(ROOT, logDir)}/`);

  const common = { ...backend.env, LOG_LEVEL: 'log' };
  // Short takeover times so the kill below is recovered in seconds, and a simulated mail server latency so the
  // killed replica holds mails in flight.
  const emailEnv = { CLAIM_MIN_IDLE_MS: '1500', CLAIM_INTERVAL_MS: '500', MAIL_SEND_DELAY_MS: '30', CONCURRENCY: '10' };
  const plan = [
    ['gateway', 'gateway', {}],
    ['email-1', 'email', { ...emailEnv, CONSUMER_NAME: 'email-1' }],
    ['email-2', 'email', { ...emailEnv, CONSUMER_NAME: 'email-2' }],
    ['push', 'push', { CONSUMER_NAME: 'push-1' }],
  ];
  for (const [name, app, env] of plan) children.set(name, { app, port: await freePort(), env: { ...common, ...env } });
  const started = Date.now();
  process.stdout.write(`  ${'Starting'.padEnd(9)} `);
  await Promise.all(
    [...children.keys()].map(async (name) => {
      await launch(name);
      process.stdout.write(`${name} ${ok}  `);
    }),
  );
  say(dim(`(${((Date.now() - started) / 1000).toFixed(1)} s)`));

  const url = (name) => `http://127.0.0.1:${children.get(name).port}`;
  const redis = backend.client();
  redis.on('error', () => undefined);

  // Entries from before the time BI will be told to start from: the email and push services handle them, BI never.
  say();
  say(bold(`Sending ${EARLY} mails and ${EARLY} push notifications before BI exists`));
  const early = { Email: [], Push: [] };
  for (let i = 0; i < EARLY; i++) {
    const mail = await post(`${url('gateway')}/emails`, {
      to: `early${i}@example.com`,
      subject: `Early #${i}`,
      body: 'Hi',
    });
    const push = await post(`${url('gateway')}/push`, { userId: `u${i}`, title: `Early #${i}`, body: 'Hi' });
    if (mail) early.Email.push(mail);
    if (push) early.Push.push(push);
  }
  // Entry ids are Redis's clock in ms: BI starts at the first entry after the last early one.
  const backfillFrom = new Date(Math.max(...[...early.Email, ...early.Push].map((id) => Number(id.split('-')[0]))) + 1);
  await sleep(5);

  say();
  say(bold(`Sending ${n(MAILS)} mails and ${n(PUSHES)} push notifications through POST /emails and POST /push`));
  const progress = new Progress(MAILS + PUSHES);
  let restarting = Promise.resolve();
  const killEmailReplica = {
    at: 0.5,
    run: async () => {
      await killChild('email-1', 'SIGKILL');
      const pending = await redis.xpending(`${space.prefix}Email`, 'EmailServiceGroup', '-', '+', 10_000, 'email-1');
      progress.note(`${yellow('✗')} killed email-1 (SIGKILL) while it held ${n(pending.length)} unacknowledged mails`);
      // The other replica claims the abandoned mails once they are idle for CLAIM_MIN_IDLE_MS and it has room for
      // them; email-1 comes back after that (or after 15 s, then resuming its own pending mails by its name).
      restarting = (async () => {
        const mine = async () =>
          (await redis.xpending(`${space.prefix}Email`, 'EmailServiceGroup', '-', '+', 1, 'email-1')).length === 0;
        const takenOver =
          pending.length > 0 &&
          (await until(mine, 15_000, 'the takeover').then(
            () => true,
            () => false,
          ));
        if (takenOver)
          progress.note(`${green('⇄')} email-2 took over the ${n(pending.length)} mails email-1 left pending`);
        await launch('email-1');
        progress.note(`${green('↻')} restarted email-1 (same consumer name)`);
      })();
    },
  };
  const faults = args.cluster ? clusterFaults(backend.cluster, space.prefix, (line) => progress.note(line)) : [];
  const accepted = await burst(url('gateway'), [killEmailReplica, ...faults], progress);
  const seconds = progress.finish();
  const refused = MAILS + PUSHES - accepted.Email.length - accepted.Push.length;
  say(
    `  ${n(accepted.Email.length + accepted.Push.length)} accepted in ${seconds.toFixed(1)} s${refused ? red(`, ${n(refused)} refused`) : ''}`,
  );
  await restarting;

  // BI arrives now, after the traffic: its new group starts at BI_BACKFILL_FROM and catches up on the history since.
  children.set('bi', {
    app: 'bi',
    port: await freePort(),
    env: { ...common, CONSUMER_NAME: 'bi-1', BI_BACKFILL_FROM: backfillFrom.toISOString() },
  });
  await launch('bi');
  say(
    `  ${green('+')} started BI only now, with BI_BACKFILL_FROM=${backfillFrom.toISOString()}: it catches up on the ` +
      `${n(accepted.Email.length + accepted.Push.length)} entries since then, not the ${n(early.Email.length + early.Push.length)} before`,
  );
  const all = { Email: [...early.Email, ...accepted.Email], Push: [...early.Push, ...accepted.Push] };

  process.stdout.write('\nWaiting for every group to catch up… ');
  const waitStart = Date.now();
  let caughtUp = true;
  await until(() => settled(redis, space.prefix), 120_000, 'the groups to catch up').catch(() => (caughtUp = false));
  say(caughtUp ? `done in ${((Date.now() - waitStart) / 1000).toFixed(1)} s` : red('gave up after 120 s'));

  // On a cluster an emit that failed during the failover may have stored its entry anyway: the groups must then have
  // handled what the streams hold, which includes every accepted entry.
  const stored = args.cluster ? await storedEntries(redis, space.prefix, all, backfillFrom) : undefined;
  let failures = await summary(redis, space, stored?.all ?? all, stored?.sinceBackfill ?? accepted, stored);
  if (!caughtUp) failures++;
  if (refused) {
    failures++;
    say(
      `  ${bad} the gateway refused ${n(refused)} valid requests (see ${relative(ROOT, join(logDir, 'gateway.log'))})`,
    );
  }
  const claimed = await claimedByEmailReplicas();
  say(dim(`  Mails taken over from the killed replica by the group (XAUTOCLAIM): ${n(claimed)}`));
  if (stored) {
    say(dim(`  Requests the gateway failed (5xx) during the failover and the demo sent again: ${n(retried)}`));
    say(dim(`  Entries stored by an attempt that failed (so in their stream twice): ${n(stored.unacknowledged)}`));
  }
  redis.disconnect();

  say();
  say(
    failures === 0
      ? green(
          bold(
            'Nothing lost: every mail sent exactly once, push saw every entry, BI every entry since BI_BACKFILL_FROM.',
          ),
        )
      : red(bold(`${failures} check(s) failed.`)),
  );
  if (args.once) {
    say();
    await shutdown(failures === 0 ? 0 : 1);
    return;
  }
  say();
  say(`  ${'Dashboard'.padEnd(9)} ${cyan(`${url('bi')}/dashboard`)}`);
  say(`  ${'Gateway'.padEnd(9)} curl -XPOST ${url('gateway')}/emails -H 'content-type: application/json' \\`);
  say(`              -d '{"to":"you@example.com","subject":"hi","body":"hello"}'`);
  say(
    `  ${'Health'.padEnd(9)} ${[...children].map(([name, e]) => `${name} :${e.port}`).join('  ')}  (GET /health, /stats)`,
  );

  say();
  say(dim('Running. Press Ctrl-C to stop everything.'));
  await new Promise(() => undefined);
}

main().catch((err) => {
  if (tty) process.stdout.write('\n');
  process.stderr.write(`${red('demo failed:')} ${err.message}\n`);
  shutdown(1);
});
