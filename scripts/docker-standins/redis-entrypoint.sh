#!/bin/sh
# Like the official redis image's entry point: options alone mean redis-server, and a server started without a config
# file gets `--protected-mode no` (otherwise Redis refuses the other containers, which connect without a password).
set -e
case "$1" in -*) set -- redis-server "$@" ;; esac
if [ "$1" = "redis-server" ]; then
  shift
  if [ -f "${1:-}" ]; then
    config="$1"
    shift
    if grep -q '^protected-mode' "$config"; then set -- "$config" "$@"; else set -- "$config" --protected-mode no "$@"; fi
  else
    set -- --protected-mode no "$@"
  fi
  exec redis-server "$@"
fi
exec "$@"
