#!/usr/bin/env bash
# Makes sure a Docker engine answers (`docker info`) and that Compose is there (v2 `docker compose` or v1
# `docker-compose`), for `npm run test:compose`. An engine that already runs is used as it is. Otherwise, as root on
# Debian: installs docker.io, docker-compose and debootstrap (Debian's packages) and starts dockerd in the background.
# The daemon started here leaves the host's firewall and IP forwarding alone (--iptables=false --ip-forward=false:
# containers talk to each other on their bridge and reach nothing beyond it) and publishes container ports on loopback
# only (--ip=127.0.0.1).
# Idempotent: a second run finds everything in place and returns at once.
set -euo pipefail

compose_ok() { docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; }

if docker info >/dev/null 2>&1 && compose_ok; then exit 0; fi

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "No Docker engine answers, and this is not root on Debian, so none is set up here. Install Docker with Compose" \
    "(https://docs.docker.com/engine/install/), start it, and check that \`docker info\` works." >&2
  exit 1
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing ${missing[*]} from Debian's packages..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log=/var/log/nestjs-redis-streams-dockerd.log
  echo "Starting dockerd in the background (log: $log)..."
  # setsid: the daemon outlives this script and the CI step; it is the machine's engine from now on.
  setsid dockerd --iptables=false --ip6tables=false --ip-forward=false --ip=127.0.0.1 >>"$log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    echo "dockerd did not answer within 60 s; the end of its log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
fi
echo "Docker engine $(docker version --format '{{.Server.Version}}') is up."
