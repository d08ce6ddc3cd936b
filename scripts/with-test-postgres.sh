#!/usr/bin/env bash
# `bash scripts/with-test-postgres.sh CMD…`: runs CMD with TEST_POSTGRES_URL set to a Postgres
# the tests may create and drop databases on. The one at TEST_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/postgres) when it answers; else, with the server
# binaries installed (as root on a machine with apt, they are installed from Debian's
# packages when missing), a throw-away server of its own on a free port, stopped and removed
# when CMD ends. TEST_POSTGRES=own always starts the throw-away one; TEST_POSTGRES=prefer-own
# does when the server binaries are installed and TEST_POSTGRES_URL is unset. Otherwise it
# stops at once with one line, before any test runs.
set -uo pipefail
cd "$(dirname "$0")/.."

default_url="postgres://postgres@127.0.0.1:5432/postgres"
url="${TEST_POSTGRES_URL:-$default_url}"

answers() {
  node -e '
    const sql = require("postgres")(process.argv[1], { max: 1, connect_timeout: 3, onnotice: () => {} })
    sql`select 1`.then(() => sql.end().then(() => process.exit(0)), () => process.exit(1))
  ' "$1" 2>/dev/null
}

server_bin() {
  if [ -n "${PG_BIN_DIR:-}" ]; then
    [ -x "$PG_BIN_DIR/pg_ctl" ] && [ -x "$PG_BIN_DIR/initdb" ] && echo "$PG_BIN_DIR"
    return
  fi
  local v
  v=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
  if [ -n "$v" ] && [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then
    echo "/usr/lib/postgresql/$v/bin"
  elif command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
  fi
}

# Read once here: the command's own children (a test of this script) see none of it.
mode="${TEST_POSTGRES:-}"
unset TEST_POSTGRES
# prefer-own (npm test's default): the throw-away server when its binaries are here and no
# TEST_POSTGRES_URL is set; else as without it.
if [ "$mode" = "prefer-own" ]; then
  if [ -z "${TEST_POSTGRES_URL:-}" ] && [ -n "$(server_bin)" ]; then mode=own; else mode=""; fi
fi
if [ "$mode" != "own" ] && answers "$url"; then
  export TEST_POSTGRES_URL="$url"
  exec "$@"
fi
if [ -n "${TEST_POSTGRES_URL:-}" ] && [ "$mode" != "own" ]; then
  echo "npm test: no Postgres answers at TEST_POSTGRES_URL; start it, or unset TEST_POSTGRES_URL to let npm test start one" >&2
  exit 1
fi

bin=$(server_bin)
if [ -z "$bin" ] && [ -n "${PG_BIN_DIR:-}" ]; then
  echo "npm test: PG_BIN_DIR=$PG_BIN_DIR has no pg_ctl and initdb; point it at Postgres's server binaries or unset it" >&2
  exit 1
fi
if [ -z "$bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's postgresql for the integration tests (apt-get)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  bin=$(server_bin)
fi
if [ -z "$bin" ]; then
  echo "npm test needs PostgreSQL: start one at 127.0.0.1:5432 (or set TEST_POSTGRES_URL), or install the server (Debian: apt-get install postgresql) and npm test starts its own" >&2
  exit 1
fi

# Postgres refuses to run as root: then the server runs as the postgres user.
run=()
dir=$(mktemp -d "${TMPDIR:-/tmp}/kg-test-pg.XXXXXX")
if [ "$(id -u)" = 0 ]; then
  if ! id -u postgres >/dev/null 2>&1; then
    echo "npm test: Postgres can't run as root and there is no postgres user to run it as; create one or run npm test as another user" >&2
    rm -rf "$dir"
    exit 1
  fi
  chown postgres: "$dir"
  run=(runuser -u postgres --)
fi
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })')
stop() {
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM
if ! "${run[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
  ! "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null; then
  echo "npm test: the throw-away Postgres did not start:" >&2
  tail -5 "$dir"/*.log >&2
  exit 1
fi
echo "Started a throw-away Postgres for this run on 127.0.0.1:$port (removed when the tests end)"
export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
"$@"
exit $?
