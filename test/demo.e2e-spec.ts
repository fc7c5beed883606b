// `npm run demo` as a user runs it: the summary, Ctrl-C (SIGINT to the demo's process group, as a terminal sends it),
// and what it leaves in .demo/. Needs the apps built (pretest:e2e does it).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Counters } from '../apps/bi/src/counters.controller.js';
import type { StreamInfo } from '../apps/shared/stream-info.js';
import { request } from './support/http-request.js';
import { waitFor } from './support/redis-server.js';

const ROOT = process.cwd(); // Jest runs from the repository's root

/** Starts the demo in a process group of its own, like a shell job; `output()` is what it printed so far. */
function startDemo(args: string[]) {
  const demo = spawn(process.execPath, ['scripts/demo.mjs', ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
  const running = () =>
    waitFor(() => output.includes('Running. Press Ctrl-C'), `the demo to finish its run:\n${output}`, 170_000);
  /** Ctrl-C in its terminal: SIGINT to its process group. Resolves with its exit code and the seconds it took. */
  const interrupt = async () => {
    const interrupted = Date.now();
    process.kill(-demo.pid!, 'SIGINT');
    const code = await exited;
    return { code, seconds: (Date.now() - interrupted) / 1000 };
  };
  return { output: () => output, running, interrupt };
}

/** True when something accepts connections on `port` of 127.0.0.1. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A figure of the summary's check lines, e.g. `BI counter for Email (since BI_BACKFILL_FROM): 1,234`. */
function figure(output: string, check: string): number {
  const line = output.split('\n').find((l) => l.includes(`✓ ${check}: `));
  if (!line) throw new Error(`No passed check "${check}" in the demo's output:\n${output}`);
  return Number(line.slice(line.lastIndexOf(': ') + 2).replace(/,/g, ''));
}

describe('npm run demo', () => {
  it('stops the apps, then Redis, within seconds of Ctrl-C, says so, and writes plain logs', async () => {
    const demo = startDemo(['--mails', '100', '--push', '50']);
    await demo.running();
    expect(demo.output()).toContain('Nothing lost');
    expect(demo.output()).toContain('Dashboard');

    const { code, seconds } = await demo.interrupt();
    const output = demo.output();
    expect(code).toBe(130);
    expect(seconds).toBeLessThan(15);
    expect(output).toMatch(/Stopped the apps, then Redis in [\d.]+ s\. Logs: \.demo\//);
    const logDir = join(ROOT, /Logs: (\.demo\/[^/\s]+)\//.exec(output)![1]);
    for (const name of readdirSync(logDir)) {
      const log = readFileSync(join(logDir, name), 'utf8');
      expect({ name, ansi: log.includes('\u001b[') }).toEqual({ name, ansi: false });
      expect({ name, refused: /ECONNREFUSED/.test(log) }).toEqual({ name, refused: false });
    }
  });

  it('--cluster: loses nothing on a Redis Cluster through a failover and a reshard, and stops every node', async () => {
    const demo = startDemo(['--cluster', '--mails', '300', '--push', '150']);
    await demo.running();
    const output = demo.output();
    expect(output).toContain('Nothing lost');
    expect(output).toMatch(/✗ failover at [\d:]+, after \d+ of 450 requests: killed -9 :\d+, the master of Email/);
    expect(output).toMatch(/↻ restarted :\d+: it rejoined as a replica of :\d+/);
    expect(output).toMatch(
      /⇄ resharded at [\d:]+, after \d+ of 450 requests: slot \d+ of Push moved from :\d+ to :\d+/,
    );
    const nodes = /3 masters \+ 3 replicas: ((?:127\.0\.0\.1:\d+ ?){6})/.exec(output)![1].trim().split(' ');

    // BI's HTTP side reads its counters and the dashboard's figures from the cluster too.
    const bi = /Dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\/dashboard/.exec(output)![1];
    const counters = (await request<Counters>(`${bi}/counters`)).body;
    expect(counters.totals).toEqual({
      Email: figure(output, 'BI counter for Email (since BI_BACKFILL_FROM)'),
      Push: figure(output, 'BI counter for Push (since BI_BACKFILL_FROM)'),
    });
    const { streams } = (await request<{ streams: StreamInfo[] }>(`${bi}/dashboard/streams`)).body;
    expect(streams.map((s) => [s.stream, s.deadLetters, s.groups.map((g) => [g.name, g.pending, g.lag])])).toEqual([
      [
        'Email',
        0,
        expect.arrayContaining([
          ['BIGroup', 0, 0],
          ['EmailServiceGroup', 0, 0],
        ]),
      ],
      [
        'Push',
        0,
        expect.arrayContaining([
          ['BIGroup', 0, 0],
          ['NotificationServiceGroup', 0, 0],
        ]),
      ],
    ]);
    expect((await request(`${bi}/health`)).status).toBe(200);

    const { code } = await demo.interrupt();
    expect(code).toBe(130);
    expect(demo.output()).toMatch(/Stopped the apps, then the Redis Cluster in [\d.]+ s\./);
    const ports = nodes.map((node) => Number(node.split(':')[1]));
    expect(await Promise.all(ports.map(listening))).toEqual(ports.map(() => false));
  });
});
