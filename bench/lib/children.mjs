// Runs benchmark workers as child processes with an IPC channel: the parent waits for `ready`, says `go`, and asks
// for results with `stop`. Every child is killed when the benchmark exits, whatever happens.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';

const live = new Set();

export function killAll() {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}
process.on('exit', killAll);

/**
 * Forks `script` with `env` added; `execArgv` e.g. ['--cpu-prof']. Resolves once the child has sent `{ type: 'ready' }`.
 */
export async function startWorker(script, env, { execArgv = [], readyTimeoutMs = 60_000 } = {}) {
  const child = fork(script, [], {
    env: { ...process.env, ...env },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  const messages = [];
  const waiters = [];
  let exitError;
  child.on('message', (msg) => {
    const index = waiters.findIndex((w) => w.type === msg.type);
    if (index >= 0) waiters.splice(index, 1)[0].resolve(msg);
    else messages.push(msg);
  });
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      if (code !== 0 && signal !== 'SIGKILL') exitError = new Error(`worker ${script} exited with ${code ?? signal}`);
      for (const w of waiters.splice(0))
        w.reject(exitError ?? new Error(`worker ${script} exited before sending ${w.type}`));
      resolve();
    });
  });
  const worker = {
    pid: child.pid,
    send: (msg) => child.send(msg),
    /** The next message of `type` (already received or still to come). */
    next(type, timeoutMs = 120_000) {
      const index = messages.findIndex((m) => m.type === type);
      if (index >= 0) return Promise.resolve(messages.splice(index, 1)[0]);
      if (exitError || child.exitCode !== null)
        return Promise.reject(exitError ?? new Error(`worker ${script} has exited`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`worker ${script} sent no ${type} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          type,
          resolve: (m) => (clearTimeout(timer), resolve(m)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
      });
    },
    /** Peak resident set size the kernel recorded for the child (VmHWM), in bytes; read before it exits. */
    peakRss() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const match = /VmHWM:\s+(\d+) kB/.exec(status);
        return match ? Number(match[1]) * 1024 : NaN;
      } catch {
        return NaN;
      }
    },
    /** CPU time (user + system) the child has used so far, in ms, from /proc (clock ticks of 10 ms). */
    cpuMs() {
      try {
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return (Number(fields[11]) + Number(fields[12])) * 10;
      } catch {
        return NaN;
      }
    },
    /** Asks the child to finish, returns its `result` message, and waits for it to exit. */
    async stop(timeoutMs = 60_000) {
      child.send({ type: 'stop' });
      const result = await worker.next('result', timeoutMs);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      return result;
    },
    kill() {
      child.kill('SIGKILL');
      return exited;
    },
    exited,
  };
  await worker.next('ready', readyTimeoutMs);
  return worker;
}
