#!/usr/bin/env bash
# npm test: unit, integration and browser tests against the real Kratos and Postgres (a
# throw-away one when none answers, see with-test-postgres.sh) and Debian's Chromium (the
# pretest installs it). Ends with the line "N passed, N failed" (written by
# test/harness/summary-reporter.js).
set -uo pipefail
cd "$(dirname "$0")/.."
summary=test-output/summary.txt
rm -f "$summary"
bash kratos/build.sh >/dev/null || { echo "Kratos build failed"; echo "0 passed, 1 failed"; exit 1; }
# Two workers, each with a stack of its own (test/harness/global-setup.ts): most of a test's time
# is spent waiting on Kratos, Postgres or Chromium, so two files at once use both cores.
bash scripts/with-test-postgres.sh npx jest --maxWorkers=2 "$@" --selectProjects unit integration e2e
rc=$?
echo
if [ -s "$summary" ]; then cat "$summary"; else echo "0 passed, 1 failed"; rc=${rc/#0/1}; fi
exit $rc
