// `npm run demo` as a user runs it: the summary, Ctrl-C (SIGINT to the demo's process group, as a terminal sends it),
// and what it leaves in .demo/. Needs the apps built (pretest:e2e does it).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './support/redis-server.js';

const ROOT = process.cwd(); // Jest runs from the repository's root

describe('npm run demo', () => {
  it('stops the apps, then Redis, within seconds of Ctrl-C, says so, and writes plain logs', async () => {
    const demo = spawn(process.execPath, ['scripts/demo.mjs', '--mails', '100', '--push', '50'], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      detached: true, // a process group of its own, like a shell job
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    await waitFor(() => output.includes('Running. Press Ctrl-C'), `the demo to finish its run:\n${output}`, 150_000);
    expect(output).toContain('Nothing lost');
    expect(output).toContain('Dashboard');

    const interrupted = Date.now();
    process.kill(-demo.pid!, 'SIGINT');
    const code = await exited;
    const seconds = (Date.now() - interrupted) / 1000;

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
});
