#!/usr/bin/env bash
# One-time set-up after `npm ci`: system packages the project runs against, then a build of the library and apps.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-redis.sh
if [ -f scripts/ensure-chromium.sh ]; then bash scripts/ensure-chromium.sh; fi
npm run build
