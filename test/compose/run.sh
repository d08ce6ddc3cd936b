#!/usr/bin/env bash
# npm run test:compose: `docker compose up` of docker-compose.yml for real, in the test's own
# Docker engine with the stand-in images (README.md here), then the smoke test
# (smoke.compose.test.ts) against the published origin, then `docker compose down -v`.
# Ends with the line "N passed, N failed". Whatever it started (the stack's containers,
# networks and volumes, the engine) is removed again, also when a step fails or it is stopped.
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO="$PWD"
HERE="$REPO/test/compose"
OUT="$REPO/test-output/compose"
PROJECT=kratos-guard-smoke
mkdir -p "$OUT"
rm -f "$REPO/test-output/summary.txt"

t0=$(date +%s)
step() { echo "--- [compose $(($(date +%s) - t0))s] $*"; }
# Cleans up first, so the summary stays the last line.
finish() {
  cleanup
  echo
  echo "compose test took $(($(date +%s) - t0))s"
  echo "$1"
  exit "$2"
}
fail() {
  echo "compose test: $*" >&2
  failed_step="$*"
  finish "0 passed, 1 failed" 1
}

engine_started=0
work="$(mktemp -d)"
compose() {
  "$COMPOSE" --project-name "$PROJECT" --project-directory "$REPO" --env-file "$work/.env" \
    -f "$REPO/docker-compose.yml" -f "$REPO/docker-compose.build-secrets.yml" "$@"
}
cleaned=0
cleanup() {
  ((cleaned)) && return
  cleaned=1
  if [[ -n "${COMPOSE:-}" && -s "$work/.env" ]]; then
    if [[ -n "${failed_step:-}" ]]; then compose logs --no-color --timestamps >"$OUT/stack.log" 2>&1; fi
    compose down --volumes --remove-orphans --timeout 10 >"$OUT/down.log" 2>&1 ||
      echo "compose test: docker compose down failed (see $OUT/down.log)" >&2
    # The anonymous volumes of the images' VOLUME lines (the engine is the test's own, so every
    # unused volume is one this test left).
    docker volume prune --force >>"$OUT/down.log" 2>&1 || true
  fi
  rm -rf "$work"
  if ((engine_started)); then bash "$HERE/engine.sh" stop; fi
}
trap cleanup EXIT
trap 'failed_step=interrupted; finish "0 passed, 1 failed" 130' INT TERM

step "Docker engine"
state="$(bash "$HERE/engine.sh" start)" || fail "the Docker engine did not start"
[[ "$state" == started ]] && engine_started=1
export DOCKER_HOST
DOCKER_HOST="$(bash "$HERE/engine.sh" host)"

step "Docker Compose (built from its Go module once per machine and version)"
COMPOSE="$(bash "$HERE/go-tool.sh" compose)" || fail "building Docker Compose failed"
"$COMPOSE" version

step "stand-in images"
bash "$HERE/stand-ins.sh" >/dev/null || fail "building the stand-in images failed"

step "throw-away .env"
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
public_port="$(free_port)"
mail_port="$(free_port)"
while [[ "$mail_port" == "$public_port" ]]; do mail_port="$(free_port)"; done
npmrc="$(npm config get userconfig 2>/dev/null)"
[[ -f "$npmrc" ]] || npmrc=/dev/null
ca=/etc/ssl/certs/ca-certificates.crt
[[ -f "$ca" ]] || ca=/dev/null
npx --no-install tsx "$HERE/write-env.ts" "$work/.env" \
  "PUBLIC_URL=http://localhost:$public_port" "PUBLIC_PORT=$public_port" PUBLIC_BIND=127.0.0.1 \
  "MAIL_UI_PORT=$mail_port" MAIL_UI_BIND=127.0.0.1 \
  SECURITY_TEAM_EMAILS=security-team@example.com,ciso@example.com \
  "BUILD_CA_CERTIFICATES=$ca" "BUILD_NPMRC=$npmrc" || fail "writing the .env failed"
# A stack of an earlier run that could not be taken down.
compose down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1
compose config --quiet || fail "docker compose config refused the file"

step "docker compose up -d --build --wait"
if ! compose --progress plain up -d --build --wait --wait-timeout 600 >"$OUT/up.log" 2>&1; then
  tail -n 40 "$OUT/up.log"
  compose ps -a
  fail "docker compose up failed (build log: $OUT/up.log, stack log: $OUT/stack.log)"
fi
compose ps -a --format 'table {{.Service}}\t{{.Status}}\t{{.Ports}}'

step "smoke test"
export COMPOSE_SMOKE_PUBLIC_URL="http://localhost:$public_port"
export COMPOSE_SMOKE_MAIL_URL="http://127.0.0.1:$mail_port"
# The compose command line the test runs `exec` and `ps` with, as a JSON array.
COMPOSE_SMOKE_COMMAND="$(node -e 'console.log(JSON.stringify(process.argv.slice(1)))' "$COMPOSE" \
  --project-name "$PROJECT" --project-directory "$REPO" --env-file "$work/.env" \
  -f "$REPO/docker-compose.yml" -f "$REPO/docker-compose.build-secrets.yml")"
export COMPOSE_SMOKE_COMMAND
npx --no-install jest --selectProjects compose
rc=$?
[[ -s "$REPO/test-output/summary.txt" ]] || fail "the smoke test wrote no summary"
((rc == 0)) || failed_step="smoke test"
step "docker compose down -v"
finish "$(cat "$REPO/test-output/summary.txt")" "$rc"
