#!/usr/bin/env node
// Writes the README's TypeScript blocks into an app: `node scripts/readme-app.mjs <app dir>`. Every ```ts block must
// open with a comment naming its file (`// src/main.ts …`); the file is written there, verbatim. The files the README
// leaves to the reader (test/fixtures/readme-app: `mail.ts`) and the check that runs the app are added to src/.
// scripts/compat.sh then compiles the app with each Nest CLI template's settings and runs it.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const app = process.argv[2];
if (!app) {
  console.error('Usage: node scripts/readme-app.mjs <app dir>');
  process.exit(2);
}
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
const written = [];
for (const block of blocks) {
  const file = /^\/\/ (src\/[\w.-]+\.ts)\b/.exec(block)?.[1];
  if (!file) {
    console.error(`A README TypeScript block doesn't open with the file it belongs in (// src/….ts):\n${block}`);
    process.exit(1);
  }
  mkdirSync(dirname(join(app, file)), { recursive: true });
  writeFileSync(join(app, file), block);
  written.push(file);
}
const support = join(ROOT, 'test/fixtures/readme-app');
for (const name of readdirSync(support).filter((n) => n.endsWith('.ts'))) {
  copyFileSync(join(support, name), join(app, 'src', name));
}
console.log(`README blocks: ${written.join(', ')}`);
