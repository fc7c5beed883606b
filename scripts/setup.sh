#!/usr/bin/env bash
# Set-up for the slower suites (e2e needs chromium): system packages, then a build of what is stale. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-redis.sh
if [ -f scripts/ensure-chromium.sh ]; then bash scripts/ensure-chromium.sh; fi
node scripts/ensure-built.mjs all
