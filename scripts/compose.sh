#!/usr/bin/env bash
# Docker Compose, whichever this machine has, on this repository's
# docker-compose.yml (it runs from the repository root):
#   `docker compose` (the Compose v2 plugin) when `docker compose version` succeeds,
#   else `docker-compose` (Compose v1, 1.29 in Debian bookworm, whose docker.io
#   ships no v2 plugin); both read the same file.
#
#   scripts/compose.sh up -d --build --scale node=3
#   scripts/compose.sh down -v
#   scripts/compose.sh --which      prints the command it would use, or fails saying what to install
set -euo pipefail

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1 && docker-compose version >/dev/null 2>&1; then
  compose=(docker-compose)
else
  {
    echo 'Neither "docker compose" (the Compose v2 plugin) nor "docker-compose" (Compose v1) runs here.'
    command -v docker >/dev/null 2>&1 || echo 'There is no docker command either.'
    echo 'On Debian: apt-get install docker.io docker-compose (bookworm'"'"'s docker.io has no v2 plugin);'
    echo 'elsewhere: install Docker Engine with its Compose plugin (docker-compose-plugin).'
  } >&2
  exit 127
fi

if [ "${1:-}" = --which ]; then
  echo "${compose[*]}"
  exit 0
fi

cd "$(dirname "$0")/.."
exec "${compose[@]}" "$@"
