#!/usr/bin/env node
// The `nestjs-redis-streams` command. A launcher that exists before the build, so that npm links the command on
// `npm ci` in the repository (a bin pointing into dist/ is skipped while dist/ doesn't exist yet).
try {
  await import('../dist/esm/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('/dist/esm/cli/main.js')) throw err;
  console.error('nestjs-redis-streams is not built yet: run `npm run build` (in its repository), then try again.');
  process.exit(1);
}
