#!/usr/bin/env bash
# Builds the pinned Ory Kratos from its Go module source, with SQLite support, and caches
# the binary per machine and version. Prints the binary's path on stdout; progress goes to stderr.
#
# Why not `go install github.com/ory/kratos@VERSION`: Kratos's go.mod has replace directives,
# which `go install pkg@version` refuses, and one of them points at a nested module
# (./internal/client-go) that the module zip does not contain. So we copy the module source,
# drop that replace (only Kratos's examples import ory/client-go) and build the copy.
set -euo pipefail

KRATOS_VERSION="${KRATOS_VERSION:-v1.3.1}"
CACHE_DIR="${KRATOS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kratos-guard}"
BIN="$CACHE_DIR/kratos-$KRATOS_VERSION"

log() { echo "[kratos-build] $*" >&2; }

check() {
  local out
  out="$("$1" version 2>&1)" || return 1
  grep -q "$KRATOS_VERSION" <<<"$out"
}

if [[ -x "$BIN" ]] && check "$BIN"; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { log "Go is required to build Kratos (https://go.dev/dl/)"; exit 1; }
command -v gcc >/dev/null || { log "gcc is required (cgo, for SQLite support)"; exit 1; }

mkdir -p "$CACHE_DIR"
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"

log "downloading github.com/ory/kratos@$KRATOS_VERSION module source"
src="$(go mod download -json "github.com/ory/kratos@$KRATOS_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -d "$src" ]] || { log "module download did not give a source directory"; exit 1; }

work="$(mktemp -d "$CACHE_DIR/build-$KRATOS_VERSION.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -R "$src/." "$work/"
chmod -R u+w "$work"

cd "$work"
go mod edit -dropreplace github.com/ory/client-go
log "building (cgo + sqlite; a cold build takes several minutes)"
start=$(date +%s)
CGO_ENABLED=1 go build -tags sqlite \
  -ldflags "-s -w -X github.com/ory/kratos/driver/config.Version=$KRATOS_VERSION" \
  -o "$BIN.tmp" .
mv "$BIN.tmp" "$BIN"
log "built in $(( $(date +%s) - start ))s: $BIN"

check "$BIN" || { log "built binary does not report $KRATOS_VERSION"; "$BIN" version >&2 || true; exit 1; }
echo "$BIN"
