// prom-client, @nestjs/terminus and @opentelemetry/api are optional peer dependencies: an app that installs neither must be able to load
// the package's main entry point and its CLI. Walks the static import graph of those entry points in the source.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const SRC = resolve(process.cwd(), 'libs/redis-streams/src');
const OPTIONAL = ['prom-client', '@nestjs/terminus', '@opentelemetry/api'];

/** Every package a module reaches through its relative imports (type-only imports are erased, so they don't count). */
function packagesReachedFrom(entry: string): Map<string, string> {
  const reached = new Map<string, string>(); // package -> first file importing it
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
      const specifier = match[1];
      if (specifier.startsWith('.')) {
        const target = join(dirname(file), specifier.replace(/\.js$/, '.ts'));
        if (!existsSync(target)) throw new Error(`${file} imports ${specifier}, which does not exist`);
        visit(target);
      } else if (!reached.has(specifier)) {
        reached.set(specifier, file);
      }
    }
  };
  visit(entry);
  return reached;
}

describe('optional peer dependencies', () => {
  it.each(['index.ts', 'cli/main.ts'])('are never loaded by %s', (entry) => {
    const reached = packagesReachedFrom(join(SRC, entry));
    expect(reached.size).toBeGreaterThan(0);
    for (const name of OPTIONAL) expect(reached.get(name)).toBeUndefined();
  });

  it('keeps the CLI to ioredis and Node built-ins', () => {
    const packages = [...packagesReachedFrom(join(SRC, 'cli/main.ts')).keys()].filter(
      (name) => !name.startsWith('node:'),
    );
    expect(packages).toEqual(['ioredis']);
  });

  it('are loaded by their own entry points', () => {
    expect(packagesReachedFrom(join(SRC, 'metrics/index.ts')).has('prom-client')).toBe(true);
    expect(packagesReachedFrom(join(SRC, 'health/index.ts')).has('@nestjs/terminus')).toBe(true);
    expect(packagesReachedFrom(join(SRC, 'tracing/index.ts')).has('@opentelemetry/api')).toBe(true);
  });
});
