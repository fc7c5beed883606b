#!/usr/bin/env bash
# Makes sure redis-server and redis-cli (Debian's packages) are on this machine; tests, demo and bench start their own.
set -euo pipefail
# openssl makes the certificates of the TLS tests.
if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "redis-server, redis-cli or openssl is missing. Install Debian's packages as root: apt-get install -y redis-server redis-tools openssl" >&2
  exit 1
fi
echo "Installing redis-server, redis-tools and openssl from Debian's packages..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq redis-server redis-tools openssl >/dev/null
# The package's own service is not ours to start: tests and the demo spawn private servers.
