#!/usr/bin/env bash
# Builds the compose test's stand-in images in its own engine (engine.sh), under the exact tags
# docker-compose.yml and webhooks/Dockerfile name: no image registry is reachable here. Each
# keeps the upstream image's contract the compose file relies on; README.md here lists how
# each differs. An image is rebuilt only when its recipe or its binary changed (a label holds
# the hash of both), and the debootstrap base is made once per machine.
set -euo pipefail
cd "$(dirname "$0")"
HERE="$PWD"
REPO="$(cd ../.. && pwd)"
CACHE_DIR="${KRATOS_GUARD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kratos-guard}"
export DOCKER_HOST="${DOCKER_HOST:-$(bash engine.sh host)}"
SUITE=bookworm
BASE="kratos-guard-test/debian:$SUITE-minbase"
LABEL=org.kratos-guard.stand-in

log() { echo "[stand-ins] $*" >&2; }

# The tags, read from the files that name them.
image_of() { sed -n "s|^    image: \\($1:[^[:space:]]*\\)\$|\\1|p" "$REPO/docker-compose.yml" | head -1; }
POSTGRES_TAG="$(image_of postgres)"
KRATOS_TAG="$(image_of oryd/kratos)"
MAILPIT_TAG="$(image_of axllent/mailpit)"
NODE_TAG="$(sed -n 's/^ARG NODE_IMAGE=\(.*\)$/\1/p' "$REPO/webhooks/Dockerfile")"
for t in "$POSTGRES_TAG" "$KRATOS_TAG" "$MAILPIT_TAG" "$NODE_TAG"; do
  [[ -n "$t" ]] || { log "could not read an image tag from docker-compose.yml or webhooks/Dockerfile"; exit 1; }
done

base() {
  if docker image inspect "$BASE" >/dev/null 2>&1; then return; fi
  local tarball="$CACHE_DIR/debian-$SUITE-minbase.tar"
  if [[ ! -s "$tarball" ]]; then
    command -v debootstrap >/dev/null || { log "debootstrap is missing (apt-get install debootstrap)"; exit 1; }
    local root
    root="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
    log "debootstrap --variant=minbase $SUITE (about 90 s)"
    debootstrap --variant=minbase "$SUITE" "$root" >"$CACHE_DIR/debootstrap.log" 2>&1 ||
      { tail -n 20 "$CACHE_DIR/debootstrap.log" >&2; rm -rf "$root"; exit 1; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
  fi
  log "importing $BASE"
  docker import --change 'CMD ["bash"]' "$tarball" "$BASE" >/dev/null
}

# build TAG DIR [FILE...]: DIR's recipe plus the given files, as a build context.
build() {
  local tag=$1 dir=$2
  shift 2
  local ctx
  ctx="$(mktemp -d "$CACHE_DIR/context.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$ctx'" RETURN
  cp -R "$HERE/stand-ins/$dir/." "$ctx/"
  local f
  for f in "$@"; do cp -R "$f" "$ctx/"; done
  local hash
  hash="$( (docker image inspect -f '{{.Id}}' "$BASE"; cd "$ctx" && find . -type f -print0 | sort -z |
    xargs -0 sha256sum) | sha256sum | cut -c1-16)"
  if [[ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$tag" 2>/dev/null)" == "$hash" ]]; then
    return
  fi
  log "building $tag"
  docker build -q --label "$LABEL=$hash" --build-arg "BASE=$BASE" "${BUILD_ARGS[@]}" -t "$tag" "$ctx" >/dev/null
}

mkdir -p "$CACHE_DIR"
base

BUILD_ARGS=()
build "$POSTGRES_TAG" postgres

kratos_bin="$(KRATOS_VERSION="${KRATOS_TAG##*:}" bash "$REPO/kratos/build.sh")"
kratos_ctx="$(mktemp -d "$CACHE_DIR/kratos-bin.XXXXXX")"
cp "$kratos_bin" "$kratos_ctx/kratos"
build "$KRATOS_TAG" kratos "$kratos_ctx/kratos"
rm -rf "$kratos_ctx"

mailpit_bin="$(MAILPIT_VERSION="${MAILPIT_TAG##*:}" bash "$HERE/go-tool.sh" mailpit)"
mailpit_ctx="$(mktemp -d "$CACHE_DIR/mailpit-bin.XXXXXX")"
cp "$mailpit_bin" "$mailpit_ctx/mailpit"
build "$MAILPIT_TAG" mailpit "$mailpit_ctx/mailpit"
rm -rf "$mailpit_ctx"

# The build machine's Node and its npm (Debian's nodejs layout: /usr/bin/node, /usr/lib/node_modules).
node_bin="$(readlink -f "$(command -v node)")"
node_lib="$(dirname "$(dirname "$node_bin")")/lib/node_modules"
[[ -d "$node_lib/npm" ]] || { log "npm not found next to $node_bin"; exit 1; }
node_version="$("$node_bin" --version)"
want="${NODE_TAG#*:}"
want="v${want%%-*}"
[[ "$node_version" == "$want" ]] || log "note: this machine's Node is $node_version, the tag names $want"
node_ctx="$(mktemp -d "$CACHE_DIR/node-bin.XXXXXX")"
mkdir -p "$node_ctx/lib"
cp "$node_bin" "$node_ctx/node"
cp -R "$node_lib/npm" "$node_ctx/lib/npm"
if [[ -d "$node_lib/corepack" ]]; then cp -R "$node_lib/corepack" "$node_ctx/lib/corepack"; fi
BUILD_ARGS=(--build-arg "NODE_VERSION=${node_version#v}")
build "$NODE_TAG" node "$node_ctx/node" "$node_ctx/lib"
rm -rf "$node_ctx"

echo "$POSTGRES_TAG $KRATOS_TAG $MAILPIT_TAG $NODE_TAG"
