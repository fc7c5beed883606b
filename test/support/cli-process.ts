// The nestjs-redis-streams CLI as a real process: compiled from source (as `npm run build:lib` does) into a private
// directory, so a concurrent `rm -rf dist` of a build can't pull it away mid-test.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BuiltCli {
  main: string;
  dir: string;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Compiles the CLI into a fresh directory under node_modules/.cache; the caller removes `dir`. */
export function buildCli(): BuiltCli {
  const cache = join(process.cwd(), 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'redis-streams-cli-'));
  execFileSync(process.execPath, [
    'node_modules/typescript/bin/tsc',
    'libs/redis-streams/src/cli/main.ts',
    '--outDir',
    dir,
    '--rootDir',
    'libs/redis-streams/src',
    '--module',
    'NodeNext',
    '--moduleResolution',
    'NodeNext',
    '--target',
    'ES2022',
    '--strict',
    '--skipLibCheck',
    '--types',
    'node',
  ]);
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return { main: join(dir, 'cli', 'main.js'), dir };
}

/** Runs the CLI with only PATH (plus `env`) in its environment; never rejects. */
export function runCli(main: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}
