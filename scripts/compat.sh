#!/usr/bin/env bash
# Compatibility check of the published package: builds and packs nestjs-redis-streams, installs the tarball into two
# apps outside the monorepo's source tree (test/fixtures/nest11-cjs: NestJS 11, CommonJS, ioredis 5;
# test/fixtures/nest12-esm: NestJS 12, ESM, ioredis 6), type-checks an import of it from each, and runs each against a
# private redis-server: a group handler, a broadcast handler and a request/response handler must all answer. Also: the
# tarball is what \`npm pack\` makes of a fresh clone; the README's install commands resolve for each major; and the
# README's TypeScript blocks compile and run with each Nest CLI template's compiler settings (scripts/readme-app.mjs).
# Fails (exit 1) if anything fails. Usage: npm run test:compat
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURES=(nest11-cjs nest12-esm)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/redis-streams-compat-XXXXXX")"
REDIS_PID=""

cleanup() {
  if [ -n "$REDIS_PID" ]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
die() { printf '\ncompat FAILED: %s\n' "$*" >&2; exit 1; }

bash "$ROOT/scripts/ensure-redis.sh"

step "Packing the library as \`npm pack\` does on a fresh clone (its prepack script builds it)"
# A copy of what a fresh clone holds (tracked and new files, nothing ignored: no dist/, no node_modules/), with the
# repository's installed dependencies. Packing there also keeps the shared libs/redis-streams/dist out of it: it is
# neither wiped under other running tests nor wiped under this pack by a concurrent build.
CLONE="$WORK/clone"
mkdir -p "$CLONE"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - --ignore-failed-read 2>/dev/null) \
  | tar -xf - -C "$CLONE"
ln -s "$ROOT/node_modules" "$CLONE/node_modules"
TARBALL="$(cd "$CLONE/libs/redis-streams" && npm pack --silent --pack-destination "$WORK" | tail -n 1)" || die "npm pack failed"
TARBALL="$WORK/$TARBALL"
[ -f "$TARBALL" ] || die "npm pack produced no tarball"
PKG="$WORK/package"
tar -xzf "$TARBALL" -C "$WORK"
# Every file package.json points at (exports for import and require, with their types; bin) must be in the tarball.
SHIPPED="$(node -e '
  const pkg = require(process.argv[1]);
  const files = new Set(["README.md", "dist/cjs/package.json"]);
  const walk = (v) => (typeof v === "string" ? files.add(v.replace(/^\.\//, "")) : v && Object.values(v).forEach(walk));
  walk(pkg.exports); walk(pkg.bin); walk(pkg.main); walk(pkg.types);
  console.log([...files].filter((f) => f !== "package.json").join("\n"));
' "$CLONE/libs/redis-streams/package.json")"
for shipped in $SHIPPED; do
  tar -tzf "$TARBALL" "package/$shipped" >/dev/null 2>&1 || die "the package does not ship $shipped (named in its package.json)"
done
# Every source map must point at sources the package ships (a debugger or a stack trace would find nothing else).
node -e '
  const { readdirSync, readFileSync, existsSync, statSync } = require("fs");
  const { join, dirname, resolve } = require("path");
  const root = process.argv[1];
  let maps = 0;
  const walk = (dir) => readdirSync(dir).forEach((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    if (!name.endsWith(".map")) return;
    maps++;
    for (const source of JSON.parse(readFileSync(path, "utf8")).sources) {
      if (!existsSync(resolve(dirname(path), source))) throw new Error(`${path.slice(root.length + 1)} points at ${source}, which the package does not ship`);
    }
  });
  walk(join(root, "dist"));
  if (maps === 0) throw new Error("no source maps in the package");
' "$PKG" || die "the package's source maps point at files it does not ship"
echo "packed $(basename "$TARBALL") ($(du -k "$TARBALL" | cut -f1) KiB), with all $(echo "$SHIPPED" | wc -l) files its package.json names"

for fixture in "${FIXTURES[@]}"; do
  step "Installing the tarball into test/fixtures/$fixture"
  dir="$ROOT/test/fixtures/$fixture"
  # The fixture's own dependencies stay cached in its node_modules (gitignored); only the library is replaced.
  rm -rf "$dir/node_modules/nestjs-redis-streams"
  (cd "$dir" && npm install --no-save --no-package-lock --no-audit --no-fund --ignore-scripts --loglevel=error "$TARBALL") \
    || die "npm install into $fixture failed"
done

step "The README's install command for each NestJS major, in a new app's package.json (npm resolves it, installs nothing)"
# The dependencies of \`nest new\` (@nestjs/schematics 11.1.0 and 12.0.6, application templates).
declare -A TEMPLATE_DEPS=(
  [11]='{"@nestjs/common":"^11.0.1","@nestjs/core":"^11.0.1","@nestjs/platform-express":"^11.0.1","reflect-metadata":"^0.2.2","rxjs":"^7.8.1"}'
  [12]='{"@nestjs/common":"^12.0.1","@nestjs/core":"^12.0.1","@nestjs/platform-express":"^12.0.1","reflect-metadata":"^0.2.2","rxjs":"^7.8.1"}'
)
for major in 11 12; do
  if [ "$major" = 11 ]; then pattern='@nestjs/microservices@11'; else pattern='@nestjs/microservices$'; fi
  command="$(grep -E "^npm install nestjs-redis-streams .*${pattern}" "$ROOT/README.md" | head -n 1)"
  [ -n "$command" ] || die "the README has no install command for NestJS $major"
  app="$WORK/install-nest$major"
  mkdir -p "$app"
  printf '{"name":"app","version":"0.0.0","private":true,"dependencies":%s}\n' "${TEMPLATE_DEPS[$major]}" > "$app/package.json"
  # shellcheck disable=SC2086 # the README's arguments, word-split as a shell would
  set -- ${command#npm install }
  args=("${@/#nestjs-redis-streams/$TARBALL}")
  (cd "$app" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund --loglevel=error "${args[@]}") \
    || die "the README's install command for NestJS $major fails: $command"
  echo "NestJS $major: $command resolves"
done

step "The README's code in apps with each Nest CLI template's compiler settings (scripts/readme-app.mjs)"
for fixture in "${FIXTURES[@]}"; do
  dir="$ROOT/test/fixtures/$fixture"
  app="$dir/readme-app"
  rm -rf "$app"
  mkdir -p "$app"
  node "$ROOT/scripts/readme-app.mjs" "$app"
  cp "$dir/tsconfig.readme.json" "$app/tsconfig.json"
  (cd "$app" && node "$dir/node_modules/typescript/bin/tsc" -p tsconfig.json) \
    || die "the README's code does not compile with $fixture's template settings ($(node "$dir/node_modules/typescript/bin/tsc" --version))"
  echo "$fixture: the README's code compiles ($(node "$dir/node_modules/typescript/bin/tsc" --version))"
done

step "Type-checking imports of the package (require and import conditions)"
for fixture in "${FIXTURES[@]}"; do
  dir="$ROOT/test/fixtures/$fixture"
  check="$(ls "$dir"/types-check.*ts)"
  node "$ROOT/node_modules/typescript/bin/tsc" --noEmit --strict --skipLibCheck --module node16 --moduleResolution node16 \
    --target es2022 --experimentalDecorators --emitDecoratorMetadata "$check" \
    || die "the package's types don't resolve from $fixture ($check)"
  echo "$fixture: types resolve"
done

step "Starting a private redis-server"
PORT="$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --daemonize no --loglevel warning \
  >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 100); do
  if redis-cli -p "$PORT" ping >/dev/null 2>&1; then break; fi
  sleep 0.05
done
redis-cli -p "$PORT" ping >/dev/null 2>&1 || die "redis-server did not start on port $PORT: $(cat "$WORK/redis.log")"
echo "redis-server on port $PORT"

failed=()
for fixture in "${FIXTURES[@]}"; do
  step "Running test/fixtures/$fixture"
  if ! (cd "$ROOT/test/fixtures/$fixture" && REDIS_URL="redis://127.0.0.1:$PORT" npm start --silent); then
    failed+=("$fixture")
  fi
done

for fixture in "${FIXTURES[@]}"; do
  step "Running the README's code as test/fixtures/$fixture's template builds it"
  check="$(find "$ROOT/test/fixtures/$fixture/readme-app/dist" -name check.js | head -n 1)"
  if ! (cd "$ROOT/test/fixtures/$fixture/readme-app" && REDIS_URL="redis://127.0.0.1:$PORT" node "$check"); then
    failed+=("$fixture (README app)")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then die "${failed[*]}"; fi
printf '\ncompat OK: %s\n' "${FIXTURES[*]}"
