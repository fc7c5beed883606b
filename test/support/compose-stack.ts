// docker-compose.yml as the e2e stack (E2E_COMPOSE=1): the project's image (built beforehand by
// scripts/test-compose.sh), Redis with AOF, the gateway, two email replicas, push and BI, on free host ports. The apps
// read KEY_PREFIX and the published ports from the environment every Compose command gets.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { composeCommand, type ContainerState, docker, lastHealthCheck, projectContainers } from './docker-cli.js';
import { type HttpReply, request } from './http-request.js';
import { freePort, randomName } from './redis-server.js';

const run = promisify(execFile);
const ROOT = resolve(process.cwd());
/** Containers of docker-compose.yml per service. */
const REPLICAS: Record<string, number> = { redis: 1, gateway: 1, email: 2, push: 1, bi: 1 };
const TOTAL = Object.values(REPLICAS).reduce((a, b) => a + b, 0);
const APPS = ['gateway', 'email', 'push', 'bi'];

/** An `E2eStack` (checked where `startStack` returns it; not imported here, which would make an import cycle). */
export class ComposeStack {
  readonly keyPrefix = `${randomName('e2e')}:`;
  readonly emailReplicas = ['email-1', 'email-2'];
  readonly project = randomName('rse2e').replace(/-/g, '');
  private readonly cli = composeCommand();
  /** Consumer names of the email replicas, read when they start: a kill must be quick to catch mails in flight. */
  private readonly consumers = new Map<string, string>();

  private constructor(
    private readonly ports: Record<'redis' | 'gateway' | 'push' | 'bi', number>,
    private readonly env: Record<string, string>,
  ) {}

  static async start(env: Record<string, string>): Promise<ComposeStack> {
    const ports = { redis: await freePort(), gateway: await freePort(), push: await freePort(), bi: await freePort() };
    const stack = new ComposeStack(ports, env);
    try {
      await stack.up();
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  get redisUrl(): string {
    return `redis://127.0.0.1:${this.ports.redis}`;
  }

  url(name: string): string {
    const port = this.ports[name as keyof ComposeStack['ports']];
    if (!port || name === 'redis') throw new Error(`${name} publishes no port in docker-compose.yml; use get().`);
    return `http://127.0.0.1:${port}`;
  }

  /** Email replicas publish no port: they are asked from inside their container. */
  async get<T>(name: string, path: string): Promise<HttpReply<T>> {
    if (!name.startsWith('email-')) return request<T>(`${this.url(name)}${path}`);
    const script =
      `fetch('http://127.0.0.1:'+process.env.PORT+${JSON.stringify(path)})` +
      '.then(async r=>console.log(JSON.stringify({status:r.status,body:await r.json()})))';
    return JSON.parse(await docker('exec', await this.container(name), 'node', '-e', script)) as HttpReply<T>;
  }

  post<T>(name: string, path: string, body: unknown): Promise<HttpReply<T>> {
    return request<T>(`${this.url(name)}${path}`, body);
  }

  async kill(name: string): Promise<string> {
    const consumer = this.consumers.get(name) ?? (await this.consumerOf(name));
    await docker('kill', '--signal', 'KILL', await this.container(name));
    this.consumers.delete(name);
    return consumer;
  }

  async restart(name: string): Promise<void> {
    const id = await this.container(name);
    await docker('start', id);
    await this.waitHealthy((c) => c.id === id, 1);
    this.consumers.set(name, await this.consumerOf(name));
  }

  /** `docker restart` of the Redis container (SIGTERM, then a new start reading the append-only file). */
  async restartRedis(): Promise<void> {
    const id = await this.container('redis');
    await docker('restart', id);
    await this.waitHealthy((c) => c.id === id, 1);
  }

  /** Brings every service up (again) and waits until each container is healthy. */
  async up(): Promise<void> {
    await this.compose('up', '-d', '--no-build');
    await this.waitHealthy(() => true);
    for (const name of this.emailReplicas) this.consumers.set(name, await this.consumerOf(name));
  }

  /** `docker compose stop`: SIGTERM to every container (apps before Redis), SIGKILL after `timeout` s. */
  async stopServices(timeout = 30): Promise<void> {
    await this.compose('stop', '-t', String(timeout));
  }

  /** Starts Redis alone (after stopServices), to look at what the apps left in it. */
  async startRedis(): Promise<void> {
    await this.compose('start', 'redis');
    await this.waitHealthy((c) => c.service === 'redis', 1);
  }

  containers(): Promise<ContainerState[]> {
    return projectContainers(this.project);
  }

  async logs(service: string): Promise<string> {
    const { stdout } = await this.compose('logs', '--no-color', service);
    return stdout;
  }

  async stop(): Promise<void> {
    await this.compose('down', '-v', '--remove-orphans', '-t', '30');
  }

  /** The id of a container: `redis`, `gateway`, `push`, `bi`, or `email-N` for replica N. */
  private async container(name: string): Promise<string> {
    const [service, index] = name.startsWith('email-') ? ['email', Number(name.slice(6))] : [name, 1];
    const found = (await this.containers()).find((c) => c.service === service && c.index === index);
    if (!found) throw new Error(`No container ${name} in Compose project ${this.project}.`);
    return found.id;
  }

  private async consumerOf(name: string): Promise<string> {
    return (await this.get<{ consumer: string }>(name, '/stats')).body.consumer;
  }

  /** Waits until the `expected` containers chosen by `which` (all of the deployment's by default) are healthy. */
  private async waitHealthy(which: (c: ContainerState) => boolean, expected = TOTAL, timeoutMs = 240_000) {
    const deadline = Date.now() + timeoutMs;
    let containers: ContainerState[] = [];
    while (Date.now() < deadline) {
      containers = (await this.containers()).filter(which);
      if (containers.length === expected && containers.every((c) => c.health === 'healthy')) return;
      const exited = containers.find((c) => c.status === 'exited' && APPS.includes(c.service));
      if (exited && exited.exitCode !== 137) break; // crashed on its own (not killed by a test): no point waiting
      await new Promise((r) => setTimeout(r, 500));
    }
    const report = await Promise.all(
      containers.map(async (c) => {
        const check = c.health === 'healthy' ? '' : await lastHealthCheck(c.id).catch(() => '');
        return `${c.service}-${c.index}: ${c.status} ${c.health}${check ? ` (last check: ${check})` : ''}`;
      }),
    );
    const logs = await Promise.all(
      [...new Set(containers.filter((c) => c.health !== 'healthy').map((c) => c.service))].map(
        async (service) =>
          `--- ${service}\n${(await this.logs(service).catch(() => '')).split('\n').slice(-30).join('\n')}`,
      ),
    );
    throw new Error(`Containers not healthy in time (${report.join(', ')}):\n${logs.join('\n')}`);
  }

  private compose(...args: string[]): Promise<{ stdout: string }> {
    const { command, args: base } = this.cli;
    return run(command, [...base, '-p', this.project, '-f', join(ROOT, 'docker-compose.yml'), ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...this.env,
        KEY_PREFIX: this.keyPrefix,
        REDIS_PORT: String(this.ports.redis),
        GATEWAY_PORT: String(this.ports.gateway),
        PUSH_PORT: String(this.ports.push),
        BI_PORT: String(this.ports.bi),
      },
      maxBuffer: 16 * 1024 * 1024,
    });
  }
}
