// Starts a private redis-server for the benchmark on a free port (never 6379) with a temporary directory, without
// persistence, and with no output-buffer limit for pub/sub subscribers (so Nest's Redis transport isn't disconnected
// while it falls behind a fast publisher; Redis would otherwise drop it and the run would hang). Every server started
// is killed when the benchmark exits, whatever happens.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Servers still running, killed (and their directories removed) if the benchmark exits without stopping them. */
const live = new Map();
process.on('exit', () => {
  for (const [child, dir] of live) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `port`: a free port chosen by the caller (a cluster node needs port + 10000 free too); `args`: more options. */
export async function startRedis({ port, args = [] } = {}) {
  while (port === undefined || port === 6379) port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redis-streams-bench-'));
  const child = spawn(
    process.env.REDIS_SERVER_BIN ?? 'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--client-output-buffer-limit',
      'pubsub 0 0 0',
      '--loglevel',
      'warning',
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  live.set(child, dir);
  let spawnError;
  child.on('error', (err) => {
    spawnError = new Error(
      `Could not start ${process.env.REDIS_SERVER_BIN ?? 'redis-server'} (${err.message}): install Redis 7 ` +
        '(`npm run setup`, or apt-get install redis-server) or point REDIS_SERVER_BIN at the binary.',
    );
  });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (spawnError || Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        live.delete(child);
        rmSync(dir, { recursive: true, force: true });
        throw spawnError ?? new Error(`redis-server did not start on port ${port}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    port,
    url,
    pid: child.pid,
    client: () => new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      live.delete(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
