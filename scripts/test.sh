#!/usr/bin/env bash
# npm test: unit and integration tests against the real Kratos and Postgres.
# jest prints the closing "N passed, N failed" line (test/harness/summary-reporter.js).
set -euo pipefail
cd "$(dirname "$0")/.."
bash kratos/build.sh >/dev/null
exec npx jest --selectProjects unit integration e2e "$@"
