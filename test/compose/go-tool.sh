#!/usr/bin/env bash
# Builds a Go command from its module source, as kratos/build.sh builds Kratos, and caches the
# binary per machine and version. Prints the binary's path on stdout; progress goes to stderr.
#
#   go-tool.sh compose   # Docker Compose v2, github.com/docker/compose/v2 ./cmd
#   go-tool.sh mailpit   # Mailpit (static), for the axllent/mailpit stand-in image
#
# Why not `go install module@version`: Compose's go.mod has exclude directives, which
# `go install pkg@version` refuses. So the module source is copied writable and built in place.
set -euo pipefail

COMPOSE_VERSION="${COMPOSE_VERSION:-v2.40.3}"
MAILPIT_VERSION="${MAILPIT_VERSION:-v1.30.5}"
CACHE_DIR="${KRATOS_GUARD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kratos-guard}"

log() { echo "[go-tool] $*" >&2; }

case "${1:-}" in
compose)
  module=github.com/docker/compose/v2 version=$COMPOSE_VERSION pkg=./cmd cgo=0
  ldflags="-s -w -X github.com/docker/compose/v2/internal.Version=$version"
  bin="$CACHE_DIR/docker-compose-$version"
  check() { "$1" version 2>&1 | grep -q "${version#v}"; }
  ;;
mailpit)
  module=github.com/axllent/mailpit version=$MAILPIT_VERSION pkg=. cgo=0
  ldflags="-s -w -X github.com/axllent/mailpit/config.Version=$version"
  bin="$CACHE_DIR/mailpit-$version"
  check() { "$1" version --no-release-check 2>&1 | grep -q "${version#v}"; }
  ;;
*)
  log "usage: go-tool.sh compose|mailpit"
  exit 2
  ;;
esac

if [[ -x "$bin" ]] && check "$bin"; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { log "Go is required to build $module (https://go.dev/dl/)"; exit 1; }
mkdir -p "$CACHE_DIR"
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"

log "downloading $module@$version module source"
src="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -d "$src" ]] || { log "module download did not give a source directory"; exit 1; }

work="$(mktemp -d "$CACHE_DIR/build-$(basename "$bin").XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -R "$src/." "$work/"
chmod -R u+w "$work"

cd "$work"
log "building $(basename "$bin") (a cold build takes several minutes)"
start=$(date +%s)
CGO_ENABLED=$cgo go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" "$pkg"
mv "$bin.tmp" "$bin"
log "built in $(( $(date +%s) - start ))s: $bin"

check "$bin" || { log "built binary does not report $version"; "$bin" version >&2 || true; exit 1; }
echo "$bin"
