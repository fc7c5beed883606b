#!/usr/bin/env bash
# `npm run test:compose`: the e2e suites against docker-compose.yml deployed for real. Sets up what it needs first
# (idempotent): a Docker engine with Compose, the base images (stand-ins built offline when no registry answers), and
# the project's image. Every container it starts is removed at the end of each suite (`docker compose down -v`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-docker.sh
bash scripts/ensure-base-images.sh
echo "Building the project's image nestjs-redis-streams-apps:local..."
# Host networking for npm ci in the build: the build needs the registry, and containers are given no other way out.
docker build -q --network host -t nestjs-redis-streams-apps:local . >/dev/null
E2E_COMPOSE=1 NODE_OPTIONS=--experimental-vm-modules npx jest --config test/jest-compose.config.js "$@"
# Images left by rebuilds are dangling: drop them so that repeated runs don't fill the disk.
docker image prune -f >/dev/null
