// The npm registry mirror this project is built against does not serve other platforms' optional native packages
// (e.g. @unrs/resolver-binding-darwin-arm64, used by Jest), so `npm install` leaves them out of package-lock.json and
// `npm ci` then rejects the lock. This records them as optional entries for their platform; npm never fetches them here.
// Run after any `npm install`: node scripts/fix-lock-optional.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORM = [
  [/android/, 'android'], [/darwin/, 'darwin'], [/freebsd/, 'freebsd'], [/win32/, 'win32'], [/openharmony/, 'openharmony'],
  [/linux/, 'linux'], [/wasm32/, null],
];
const CPU = [[/arm64/, 'arm64'], [/arm-/, 'arm'], [/x64/, 'x64'], [/ia32/, 'ia32'], [/loong64/, 'loong64'], [/ppc64/, 'ppc64'], [/riscv64/, 'riscv64'], [/s390x/, 's390x'], [/wasm32/, 'wasm32']];
const LIBC = [[/-musl/, 'musl'], [/-gnu/, 'glibc']];

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
let added = 0;
for (const [location, pkg] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    const nested = `${location}/node_modules/${name}`;
    if (lock.packages[key] || lock.packages[nested]) continue;
    const entry = { version, dev: pkg.dev, optional: true };
    const os = PLATFORM.find(([re]) => re.test(name))?.[1];
    const cpu = CPU.find(([re]) => re.test(name))?.[1];
    const libc = LIBC.find(([re]) => re.test(name))?.[1];
    if (os) entry.os = [os];
    if (cpu) entry.cpu = [cpu];
    if (libc && os === 'linux') entry.libc = [libc];
    if (!entry.dev) delete entry.dev;
    lock.packages[key] = entry;
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`fix-lock-optional: recorded ${added} optional platform packages`);
