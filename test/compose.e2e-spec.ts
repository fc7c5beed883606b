// docker-compose.yml and the Dockerfile checked against the apps' own code, without a Docker engine: services, ports,
// environment (run through the apps' real config loader), health checks and build paths. `npm run test:compose`
// deploys them for real (test/deployment.compose-spec.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AppName, DEFAULT_PORTS, ENV_VARS, loadConfig } from '../apps/shared/app-config.js';
import { parseYamlSubset, type YamlValue } from './support/e2e-yaml-subset.js';

const ROOT = process.cwd();
const APPS = Object.keys(DEFAULT_PORTS) as AppName[];
type Map = Record<string, YamlValue>;

function read(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

/** Compose's `${NAME:-default}` with nothing set: the default. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z_]+)(?::?-([^}]*))?\}/g, (_, _name: string, fallback?: string) => fallback ?? '');
}

describe('docker-compose.yml', () => {
  const compose = parseYamlSubset(read('docker-compose.yml')) as Map;
  const services = compose.services as Record<string, Map>;

  function environment(service: string): Record<string, string> {
    const env = (services[service].environment ?? {}) as Record<string, string>;
    return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, interpolate(String(value))]));
  }

  it('declares redis and the four apps', () => {
    expect(Object.keys(services).sort()).toEqual(['bi', 'email', 'gateway', 'push', 'redis']);
  });

  it('runs redis with AOF persistence, a volume, and a redis-cli ping health check', () => {
    const redis = services.redis;
    expect(redis.image as string).toMatch(/^redis:7/);
    expect((redis.command as string[]).join(' ')).toContain('--appendonly yes');
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect((redis.healthcheck as Map).test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(compose.volumes).toEqual({ 'redis-data': null });
  });

  it.each(APPS)('runs %s from the built entry point of its source', (app) => {
    expect(services[app].command).toEqual(['node', `dist/apps/${app}/src/main.js`]);
    expect(existsSync(join(ROOT, 'apps', app, 'src', 'main.ts'))).toBe(true);
    expect(services[app].build).toBe('.');
  });

  it.each(APPS)('gives %s only variables the apps read, loaded as its code expects', (app) => {
    const env = environment(app);
    for (const name of Object.keys(env)) expect(Object.keys(ENV_VARS)).toContain(name);
    const config = loadConfig(app, env);
    expect(config.redisUrl).toBe('redis://redis:6379');
    expect(config.port).toBe(DEFAULT_PORTS[app]);
    expect(config.keyPrefix).toBe('');
  });

  it.each(APPS.filter((app) => app !== 'email'))('publishes %s on the port the app listens on', (app) => {
    const ports = services[app].ports as string[];
    expect(ports).toHaveLength(1);
    const [host, container] = interpolate(ports[0]).split(':');
    expect(Number(container)).toBe(loadConfig(app, environment(app)).port);
    expect(Number(host)).toBe(DEFAULT_PORTS[app]);
  });

  it('runs two email replicas without host ports, each with its own consumer name', () => {
    const email = services.email;
    expect(Number((email.deploy as Map).replicas)).toBeGreaterThanOrEqual(2);
    expect(email.ports).toBeUndefined();
    // A shared CONSUMER_NAME would make the replicas one consumer; without it each takes its container's host name.
    expect(environment('email').CONSUMER_NAME).toBeUndefined();
  });

  it.each(APPS)('checks %s with the health probe, and starts it once redis is healthy', (app) => {
    expect((services[app].healthcheck as Map).test).toEqual(['CMD', 'node', 'dist/apps/shared/health-probe.js']);
    expect(existsSync(join(ROOT, 'apps', 'shared', 'health-probe.ts'))).toBe(true);
    expect(services[app].depends_on).toEqual({ redis: { condition: 'service_healthy' } });
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('copies only files that exist, and builds the library and the apps', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) expect([source, existsSync(join(ROOT, source))]).toEqual([source, true]);
    expect(dockerfile).toMatch(/^RUN npm run build/m);
    expect(JSON.parse(read('package.json')).scripts.build).toBe('npm run build:lib && npm run build:apps');
  });

  it('starts the app named by APP (default a real app) and checks it with the health probe', () => {
    const app = /^ARG APP=(\w+)$/m.exec(dockerfile)?.[1];
    expect(APPS).toContain(app);
    expect(dockerfile).toContain('exec node dist/apps/${APP}/src/main.js');
    expect(dockerfile).toMatch(/^HEALTHCHECK .*"node", "dist\/apps\/shared\/health-probe\.js"/m);
  });

  it('keeps local builds and dependencies out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'libs/redis-streams/dist']));
  });
});

describe('the YAML subset reader used above', () => {
  it('reads nested mappings, block and flow sequences, quotes and comments', () => {
    const doc = parseYamlSubset(
      ['a:', '  b: "x: #1" # note', '  c: [\'p\', q, "r s"]', '  d:', '    - one', '    - "two"', 'e:'].join('\n'),
    );
    expect(doc).toEqual({ a: { b: 'x: #1', c: ['p', 'q', 'r s'], d: ['one', 'two'] }, e: null });
  });

  it('refuses what it does not understand instead of misreading it', () => {
    expect(() => parseYamlSubset('a: &anchor\n  b: 1')).toThrow(/line 1/);
    expect(() => parseYamlSubset('a:\n  - b: 1')).toThrow(/mappings inside sequences/);
    expect(() => parseYamlSubset('a: 1\na: 2')).toThrow(/duplicate key/);
  });
});
