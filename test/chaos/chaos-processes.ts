// Starts, kills and stops the chaos suite's consumer processes (test/chaos/chaos-worker.mjs), one per slot. A slot keeps
// its consumer name (`worker-1` …) across restarts, so a restarted worker reads its own pending entries first.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a worker reads from its environment. */
export interface ChaosWorkerEnv {
  CHAOS_REDIS_URL: string;
  /** Key prefix of everything the run writes: the stream is `<run>:<stream>`, the records `<run>:seen` etc. */
  CHAOS_RUN: string;
  CHAOS_STREAM: string;
  CHAOS_GROUP: string;
  CHAOS_COUNT?: string;
  CHAOS_CONCURRENCY?: string;
  CHAOS_MAX_DELIVERIES?: string;
  CHAOS_RETRY_MS?: string;
  CHAOS_MIN_IDLE_MS?: string;
  CHAOS_CLAIM_INTERVAL_MS?: string;
  CHAOS_WORK_MS?: string;
}

interface Slot {
  consumer: string;
  child?: ChildProcess;
  log: string;
}

/** One run of a slot's worker process, from its start to its exit. */
export interface Incarnation {
  consumer: string;
  pid: number;
  startedAt: number;
  exitedAt?: number;
  /** How it exited: its exit code, or the signal that ended it. */
  exitCode?: number | null;
  exitSignal?: string | null;
}

export class WorkerPool {
  private readonly slots: Slot[];
  /** Every worker process started, in start order. */
  readonly incarnations: Incarnation[] = [];

  constructor(
    size: number,
    private readonly env: ChaosWorkerEnv,
    logDir: string,
    /** More environment for the workers (the fault-schedule suite's settings). */
    private readonly extraEnv: Record<string, string> = {},
    /** Consumer names are `<name>-1` …: a second pool on the same Redis needs names of its own. */
    name = 'worker',
  ) {
    this.slots = Array.from({ length: size }, (_, i) => ({
      consumer: `${name}-${i + 1}`,
      log: join(logDir, `${env.CHAOS_RUN}-${name}-${i + 1}.log`),
    }));
  }

  get consumers(): string[] {
    return this.slots.map((slot) => slot.consumer);
  }

  get size(): number {
    return this.slots.length;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.slots.map((_, i) => this.start(i)));
  }

  /** Starts the worker of slot `index` and resolves once its microservice listens. */
  async start(index: number): Promise<void> {
    const slot = this.slots[index];
    const script = process.env.CHAOS_WORKER_SCRIPT;
    if (!script || !existsSync(script)) {
      throw new Error(
        `The chaos worker script (CHAOS_WORKER_SCRIPT=${script}) is missing: run the suite with \`npm run test:chaos\`, ` +
          'whose globalSetup (test/chaos/global-setup.ts) builds the library and copies the worker beside it.',
      );
    }
    if (slot.child) throw new Error(`${slot.consumer} is already running (pid ${slot.child.pid}); kill it first.`);
    // Output goes to a file per slot (appended across restarts), so the suite's own output stays readable.
    const out = openSync(slot.log, 'a');
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, NODE_OPTIONS: '', ...this.env, ...this.extraEnv, CHAOS_CONSUMER: slot.consumer },
      stdio: ['ignore', out, out, 'ipc'],
    });
    closeSync(out);
    slot.child = child;
    const incarnation: Incarnation = { consumer: slot.consumer, pid: child.pid ?? 0, startedAt: Date.now() };
    this.incarnations.push(incarnation);
    child.once('exit', (code, signal) => {
      incarnation.exitedAt = Date.now();
      incarnation.exitCode = code;
      incarnation.exitSignal = signal;
      if (slot.child === child) slot.child = undefined;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('did not report ready within 30 s')), 30_000);
      const early = (code: number | null, signal: string | null): void =>
        fail(new Error(`exited early (code ${code}, signal ${signal})`));
      const fail = (err: Error): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${slot.consumer} failed to start: ${err.message}\n${this.tail(index)}`));
      };
      child.once('message', () => {
        clearTimeout(timer);
        child.off('exit', early);
        resolve();
      });
      child.once('error', fail);
      child.once('exit', early);
    });
  }

  /** `kill -9` of the worker of slot `index`: no shutdown, its in-flight entries stay pending in the group. */
  async kill(index: number): Promise<void> {
    const child = this.slots[index].child;
    if (!child) throw new Error(`${this.slots[index].consumer} is not running.`);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Sends `signal` to the worker of slot `index` (SIGSTOP / SIGCONT freeze and thaw it, like a long GC pause). */
  signal(index: number, signal: NodeJS.Signals): void {
    const child = this.slots[index].child;
    if (!child) throw new Error(`${this.slots[index].consumer} is not running.`);
    child.kill(signal);
  }

  /** Whether the worker of slot `index` is running. */
  running(index: number): boolean {
    return this.slots[index].child !== undefined;
  }

  /**
   * Graceful stop of slot `index` (SIGTERM: the server finishes its handlers and acks), SIGKILL if it takes longer
   * than `killAfterMs`. Resolves true if the worker exited by itself.
   */
  async stop(index: number, killAfterMs = 15_000): Promise<boolean> {
    const child = this.slots[index].child;
    if (!child) return true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT'); // a worker left frozen by a failed run could not handle SIGTERM
    child.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    await exited;
    clearTimeout(timer);
    return !killed;
  }

  /** Graceful stop of every worker (see `stop`). */
  async stopAll(killAfterMs = 15_000): Promise<void> {
    await Promise.all(this.slots.map((_, i) => this.stop(i, killAfterMs)));
  }

  /** SIGKILL of every worker still running, without waiting (clean-up after a failure). */
  killAll(): void {
    for (const slot of this.slots) slot.child?.kill('SIGKILL');
  }

  /** The last lines each worker wrote, for failure messages. */
  tail(index?: number, lines = 40): string {
    const slots = index === undefined ? this.slots : [this.slots[index]];
    return slots
      .map((slot) => {
        let text: string;
        try {
          text = readFileSync(slot.log, 'utf8');
        } catch {
          text = '(no output yet)';
        }
        return `--- ${slot.consumer} (${slot.log})\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
      })
      .join('\n');
  }

  /** Lines of all workers' logs that match `pattern`. */
  grep(pattern: RegExp): string[] {
    return this.slots.flatMap((slot) => {
      try {
        return readFileSync(slot.log, 'utf8')
          .split('\n')
          .filter((line) => pattern.test(line));
      } catch {
        return [];
      }
    });
  }
}
