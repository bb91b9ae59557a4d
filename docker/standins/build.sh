#!/usr/bin/env bash
# Builds stand-ins for the public images the compose file and the test suite
# name, for machines that reach Debian's packages but no image registry.
# Each is made from Debian bookworm and tagged with the official name, so
# compose and testcontainers use it unchanged:
#   debian:bookworm-slim      debootstrap --variant=minbase, docker import
#   node:20-bookworm-slim     the base plus this machine's node and npm, and
#                             its CA bundle, so `npm ci` inside a build
#                             trusts the same registry this machine trusts
#   rabbitmq:3.10-management  Debian's rabbitmq-server, management enabled,
#                             entrypoint honouring RABBITMQ_DEFAULT_USER/PASS
#   haproxy:2.6               Debian's haproxy, config at the official path
# An image already present is kept; FORCE=1 rebuilds all of them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${STANDIN_WORKDIR:-/var/tmp/duplex-standins}"
force="${FORCE:-0}"

have() { [ "$force" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

# The mirror this machine's apt already uses; no host is named here.
debian_mirror() {
  local mirror=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror="$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror="$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)"
  fi
  [ -n "$mirror" ] || { echo "no Debian mirror found in /etc/apt sources" >&2; exit 1; }
  echo "$mirror"
}

build_debian() {
  have debian:bookworm-slim && return
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap
  local root="$work/bookworm"
  rm -rf "$root" && mkdir -p "$root"
  echo "== debootstrap bookworm (minbase)"
  debootstrap --variant=minbase bookworm "$root" "$(debian_mirror)" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  rm -rf "$root"
}

# Images that apt-get inside the build reach the mirror through the host's network.
build_from() {
  local tag="$1" context="$2"
  have "$tag" && return
  echo "== $tag"
  docker build --network host -q -t "$tag" -f "$context/Dockerfile" "$context" >/dev/null
}

build_node() {
  have node:20-bookworm-slim && return
  local context="$work/node"
  rm -rf "$context" && mkdir -p "$context"
  cp "$here/node.Dockerfile" "$context/Dockerfile"
  cp "$(command -v node)" "$context/node"
  cp -r "$(npm root -g)/npm" "$context/npm"
  cp /etc/ssl/certs/ca-certificates.crt "$context/ca-certificates.crt"
  build_from node:20-bookworm-slim "$context"
  rm -rf "$context"
}

mkdir -p "$work"
command -v docker >/dev/null || { echo "docker is not installed (apt-get install docker.io)" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "no Docker engine answers (start dockerd)" >&2; exit 1; }
build_debian
build_node
build_from rabbitmq:3.10-management "$here/rabbitmq"
build_from haproxy:2.6 "$here/haproxy"
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E '^(debian|node|rabbitmq|haproxy):' || true
