#!/usr/bin/env bash
# Makes sure Debian's chromium is on this machine: the dashboard's e2e test drives it headless with playwright-core
# (which downloads no browser of its own). Skipped quietly when it is there already.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  # Only the dashboard's e2e test needs it, so set-up carries on; that test says the same thing if it runs without it.
  echo "warning: chromium is missing and can't be installed here (not root, or no apt-get)." >&2
  echo "  The dashboard e2e test needs it: apt-get install -y chromium (as root), or set CHROMIUM_PATH." >&2
  exit 0
fi
echo "Installing chromium from Debian's packages (for the dashboard e2e test)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
