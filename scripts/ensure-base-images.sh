#!/usr/bin/env bash
# Makes sure the base images of the Dockerfile and docker-compose.yml exist in the local engine: pulled when a
# registry answers, otherwise built offline as stand-ins with the same tags (scripts/docker-standins/):
#   - a Debian bookworm root file system from `debootstrap --variant=minbase` (cached as a tarball), imported;
#   - node:20-bookworm-slim: that, plus this machine's Node and npm, its CA bundle, and a `node` user;
#   - redis:7-alpine: that, plus Debian's redis-server and an entry point like the official image's.
# Images already in the engine are kept, so later runs cost nothing. Needs root for debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_IMAGE=node:20-bookworm-slim
REDIS_IMAGE=redis:7-alpine
ROOTFS_IMAGE=nestjs-redis-streams/bookworm-minbase:local
CACHE="${NESTJS_REDIS_STREAMS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nestjs-redis-streams}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

have() { docker image inspect "$1" >/dev/null 2>&1; }
pulled() { timeout 60 docker pull -q "$1" >/dev/null 2>&1; }

rootfs_image() {
  have "$ROOTFS_IMAGE" && return 0
  local tarball="$CACHE/bookworm-minbase.tar.gz"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null 2>&1 || { echo "debootstrap is missing: run scripts/ensure-docker.sh" >&2; exit 1; }
    local dir
    dir="$(mktemp -d)"
    echo "Building a Debian bookworm root file system with debootstrap (about a minute)..."
    debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >/dev/null
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    mkdir -p "$CACHE"
    tar -C "$dir" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  docker import "$tarball" "$ROOTFS_IMAGE" >/dev/null
}

node_standin() {
  local ctx ca
  ctx="$(mktemp -d)"
  cp scripts/docker-standins/node.Dockerfile "$ctx/Dockerfile"
  cp "$(readlink -f "$(command -v node)")" "$ctx/node"
  cp -r "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$ctx/npm"
  ca=/etc/ssl/certs/ca-certificates.crt
  if [ -s "$ca" ]; then cp "$ca" "$ctx/ca-certificates.crt"; else : >"$ctx/ca-certificates.crt"; fi
  docker build -q --network host --build-arg BASE="$ROOTFS_IMAGE" -t "$NODE_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
}

redis_standin() {
  local ctx
  ctx="$(mktemp -d)"
  cp scripts/docker-standins/redis.Dockerfile "$ctx/Dockerfile"
  cp scripts/docker-standins/redis-entrypoint.sh "$ctx/"
  docker build -q --network host --build-arg BASE="$ROOTFS_IMAGE" -t "$REDIS_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
}

for image in "$NODE_IMAGE" "$REDIS_IMAGE"; do
  if have "$image"; then continue; fi
  if pulled "$image"; then echo "Pulled $image."; continue; fi
  echo "$image can't be pulled (no registry reachable): building a stand-in with that tag..."
  rootfs_image
  if [ "$image" = "$NODE_IMAGE" ]; then node_standin; else redis_standin; fi
  echo "Built the stand-in $image."
done
