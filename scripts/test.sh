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
# Three workers, each with a stack of its own (test/harness/global-setup.ts): a test waits on
# Kratos, Postgres, Chromium and its own polls, so on two cores three files at once finish
# sooner than two (jest 775 s with two workers, 516 s with three, same machine). Three stacks and their private ones can pass the 100 connections of a stock
# Postgres, so the run prefers a throw-away server of its own (300 connections, no fsync: a
# test's durability promises are about the service and Kratos, never Postgres's own disk).
TEST_POSTGRES="${TEST_POSTGRES:-prefer-own}" bash scripts/with-test-postgres.sh \
  npx jest --maxWorkers="${TEST_WORKERS:-3}" "$@" --selectProjects unit integration e2e
rc=$?
echo
if [ -s "$summary" ]; then cat "$summary"; else echo "0 passed, 1 failed"; rc=${rc/#0/1}; fi
exit $rc
