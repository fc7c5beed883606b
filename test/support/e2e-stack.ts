// Runs the sample apps as real processes for the e2e suites: a private redis-server and `node dist/apps/<app>/...`
// per instance, each on a free port with its log in a temp file. With E2E_COMPOSE=1 and a Docker engine, the same
// handle drives `docker compose up` instead (compose-stack.ts), so the suites' assertions run unchanged.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_PORTS, type AppName } from '../../apps/shared/app-config.js';
import { ComposeStack } from './compose-stack.js';
import { type HttpReply, request } from './http-request.js';
import { freePort, randomName, RedisServer } from './redis-server.js';

export type { HttpReply };

const ROOT = resolve(process.cwd());

export interface InstanceSpec {
  /** Unique within the stack: `gateway`, `email-1`… For email replicas it is also the consumer name. */
  name: string;
  app: AppName;
  env?: Record<string, string>;
}

/** What the e2e suites need from a running stack, whether processes or containers. */
export interface E2eStack {
  readonly redisUrl: string;
  readonly keyPrefix: string;
  /** Base URL of an HTTP-reachable instance (gateway, push, bi). */
  url(name: string): string;
  /** GET a path of any instance (email replicas included), parsed as JSON. */
  get<T = unknown>(name: string, path: string): Promise<HttpReply<T>>;
  /** POST JSON to an instance. */
  post<T = unknown>(name: string, path: string, body: unknown): Promise<HttpReply<T>>;
  /** Names of the email replicas' instances. */
  readonly emailReplicas: string[];
  /** SIGKILLs an instance; returns the consumer name it had. */
  kill(name: string): Promise<string>;
  /** Starts a killed instance again (same consumer name when the stack sets one) and waits for its /health. */
  restart(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the stack the environment asks for: processes here, `docker compose` when E2E_COMPOSE=1. */
export async function startStack(instances: InstanceSpec[], env: Record<string, string> = {}): Promise<E2eStack> {
  if (process.env.E2E_COMPOSE === '1') {
    if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) {
      throw new Error('E2E_COMPOSE=1 needs a running Docker engine (`docker info` failed). Unset it to run processes.');
    }
    return ComposeStack.start(env);
  }
  return ProcessStack.start(instances, env);
}

/** The full set: gateway, two email replicas, push and BI. */
export function allApps(): InstanceSpec[] {
  return [
    { name: 'gateway', app: 'gateway' },
    { name: 'email-1', app: 'email', env: { CONSUMER_NAME: 'email-1' } },
    { name: 'email-2', app: 'email', env: { CONSUMER_NAME: 'email-2' } },
    { name: 'push', app: 'push' },
    { name: 'bi', app: 'bi' },
  ];
}

export function mainOf(app: AppName): string {
  return join(ROOT, 'dist', 'apps', app, 'src', 'main.js');
}

interface Running {
  spec: InstanceSpec;
  port: number;
  child?: ChildProcess;
  exited?: Promise<void>;
  log: string;
}

class ProcessStack implements E2eStack {
  readonly keyPrefix = `${randomName('e2e')}:`;
  private readonly logDir = mkdtempSync(join(tmpdir(), 'redis-streams-e2e-'));
  private readonly running = new Map<string, Running>();
  private stopping = false;

  private constructor(
    private readonly redis: RedisServer,
    private readonly env: Record<string, string>,
  ) {}

  static async start(instances: InstanceSpec[], env: Record<string, string>): Promise<ProcessStack> {
    for (const app of new Set(instances.map((i) => i.app))) {
      if (!existsSync(mainOf(app))) {
        throw new Error(
          `${mainOf(app)} is missing: the e2e suites run the built apps, so run \`npm run build\` first.`,
        );
      }
    }
    const stack = new ProcessStack(await RedisServer.start({ appendOnly: true }), env);
    try {
      for (const spec of instances) {
        stack.running.set(spec.name, { spec, port: await freePort(), log: join(stack.logDir, `${spec.name}.log`) });
      }
      await Promise.all(instances.map((spec) => stack.launch(spec.name)));
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  get redisUrl(): string {
    return this.redis.url;
  }

  get emailReplicas(): string[] {
    return [...this.running.values()].filter((r) => r.spec.app === 'email').map((r) => r.spec.name);
  }

  url(name: string): string {
    return `http://127.0.0.1:${this.instance(name).port}`;
  }

  get<T>(name: string, path: string): Promise<HttpReply<T>> {
    return request<T>(`${this.url(name)}${path}`);
  }

  post<T>(name: string, path: string, body: unknown): Promise<HttpReply<T>> {
    return request<T>(`${this.url(name)}${path}`, body);
  }

  async kill(name: string): Promise<string> {
    const instance = this.instance(name);
    const consumer =
      instance.spec.env?.CONSUMER_NAME ?? (await this.get<{ consumer: string }>(name, '/stats')).body.consumer;
    instance.child?.kill('SIGKILL');
    await instance.exited;
    instance.child = undefined;
    return consumer;
  }

  async restart(name: string): Promise<void> {
    if (this.instance(name).child) throw new Error(`${name} is still running; kill it before restarting it.`);
    await this.launch(name);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.running.values()].map(async (instance) => {
        const child = instance.child;
        if (!child) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
        await instance.exited;
        clearTimeout(timer);
      }),
    );
    await this.redis.stop();
    rmSync(this.logDir, { recursive: true, force: true });
  }

  private instance(name: string): Running {
    const instance = this.running.get(name);
    if (!instance)
      throw new Error(`No instance "${name}" in this stack; it has ${[...this.running.keys()].join(', ')}.`);
    return instance;
  }

  private async launch(name: string): Promise<void> {
    const instance = this.instance(name);
    const fd = openSync(instance.log, 'a');
    const child = spawn(process.execPath, [mainOf(instance.spec.app)], {
      cwd: ROOT,
      env: {
        ...process.env,
        // Jest's --experimental-vm-modules is not for the apps.
        NODE_OPTIONS: '',
        REDIS_URL: this.redis.url,
        KEY_PREFIX: this.keyPrefix,
        PORT: String(instance.port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...this.env,
        ...instance.spec.env,
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    instance.child = child;
    instance.exited = new Promise((resolveExit) => child.once('exit', () => resolveExit()));
    await this.waitHealthy(instance, child);
  }

  private async waitHealthy(instance: Running, child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.stopping) throw new Error(`The stack stopped while ${instance.spec.name} was starting.`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${instance.spec.name} exited (${child.exitCode ?? child.signalCode}) while starting:\n${tail(instance.log)}`,
        );
      }
      const reply = await request(`http://127.0.0.1:${instance.port}/health`).catch(() => undefined);
      if (reply?.status === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${instance.spec.name} did not report healthy within 30 s:\n${tail(instance.log)}`);
  }
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}

/** Default ports, re-exported for the compose checks. */
export { DEFAULT_PORTS };
