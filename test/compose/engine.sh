#!/usr/bin/env bash
# The compose test's own Docker engine: Debian's dockerd with its data and exec roots and its
# socket under the project's cache folder, so the stand-in images (README.md here) never reach
# another engine on the machine, and the build cache survives between runs.
#
#   engine.sh start   # starts it unless it answers already; prints "started" or "running"
#   engine.sh stop    # stops the dockerd whose pid file is ours
#   engine.sh host    # prints the DOCKER_HOST value
#
# daemon.json lowers the containers' default nofile/nproc limits below the hard limits of the
# machine: dockerd's defaults are higher, and a sandbox that may not raise rlimits makes every
# container fail with "setrlimit ... operation not permitted".
set -euo pipefail

CACHE_DIR="${KRATOS_GUARD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kratos-guard}"
ROOT="$CACHE_DIR/engine"
SOCK="$ROOT/docker.sock"
PIDFILE="$ROOT/dockerd.pid"
LOG="$ROOT/dockerd.log"

log() { echo "[engine] $*" >&2; }
answers() { DOCKER_HOST="unix://$SOCK" docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# At most the hard limit (a container may not raise it) and at most dockerd's own choice.
limit() {
  local hard=$1 cap=$2
  if [[ "$hard" == unlimited ]] || ((hard > cap)); then echo "$cap"; else echo "$hard"; fi
}

case "${1:-}" in
host)
  echo "unix://$SOCK"
  ;;
start)
  if answers; then
    echo running
    exit 0
  fi
  command -v dockerd >/dev/null || { log "dockerd is missing (apt-get install docker.io)"; exit 1; }
  [[ "$(id -u)" == 0 ]] || { log "dockerd needs root"; exit 1; }
  mkdir -p "$ROOT/data" "$ROOT/exec"
  nofile=$(limit "$(ulimit -Hn)" 20000)
  nproc=$(limit "$(ulimit -Hu)" 4096)
  cat >"$ROOT/daemon.json" <<JSON
{
  "data-root": "$ROOT/data",
  "exec-root": "$ROOT/exec",
  "pidfile": "$PIDFILE",
  "hosts": ["unix://$SOCK"],
  "features": { "buildkit": true },
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "2" },
  "default-ulimits": {
    "nofile": { "Name": "nofile", "Soft": $nofile, "Hard": $nofile },
    "nproc": { "Name": "nproc", "Soft": $nproc, "Hard": $nproc }
  }
}
JSON
  # setsid: the engine outlives neither the test's process group signals nor waits on them.
  setsid dockerd --config-file "$ROOT/daemon.json" >"$LOG" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    if answers; then
      echo started
      exit 0
    fi
    sleep 1
  done
  log "dockerd did not answer within 60 s; its log ($LOG) ends:"
  tail -n 20 "$LOG" >&2 || true
  exit 1
  ;;
stop)
  [[ -s "$PIDFILE" ]] || exit 0
  pid=$(cat "$PIDFILE")
  kill "$pid" 2>/dev/null || exit 0
  for _ in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || exit 0
    sleep 1
  done
  log "dockerd $pid did not stop in 30 s; killing it"
  kill -9 "$pid" 2>/dev/null || true
  ;;
*)
  log "usage: engine.sh start|stop|host"
  exit 2
  ;;
esac
