// `npm run test:faults`: the seeded fault-schedule suite (docs/chaos.md). Node 20 can't run TypeScript, so this
// transpiles the suite (test/faults/main.ts and every local file it imports, type-checked by `npm run typecheck`)
// into this run's directory under node_modules/.cache, next to where test/chaos/global-setup.ts builds the library
// for the workers: from there `nestjs-redis-streams` resolves to that build, as it does for the workers.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = join(root, 'node_modules/.cache', `nestjs-redis-streams-chaos-${process.pid}`, 'suite');

function transpile(file, done = new Set()) {
  if (done.has(file)) return;
  done.add(file);
  const source = readFileSync(file, 'utf8');
  // Plain JavaScript modules shared with the scripts (scripts/lib/*.mjs) are copied as they are.
  const outputText = file.endsWith('.mjs')
    ? source
    : ts.transpileModule(source, {
        fileName: file,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, isolatedModules: true },
      }).outputText;
  const out = join(outDir, relative(root, file)).replace(/\.ts$/, '.js');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, outputText);
  for (const [, spec, ext] of source.matchAll(/from '(\.{1,2}\/[^']+)\.(js|mjs)'/g)) {
    transpile(resolve(dirname(file), `${spec}.${ext === 'mjs' ? 'mjs' : 'ts'}`), done);
  }
}

transpile(join(root, 'test/faults/main.ts'));
await import(pathToFileURL(join(outDir, 'test/faults/main.js')).href);
