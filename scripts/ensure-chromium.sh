#!/usr/bin/env bash
# Part of `npm test`'s pretest: the browser tests drive Debian's Chromium (no test tool downloads
# a browser of its own). Installs it when missing and this is root on a machine with apt;
# otherwise stops with one line saying what to install.
set -uo pipefail
bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$bin" ] && exit 0
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "npm test: CHROMIUM_PATH=$bin is not an executable; point it at a Chromium or unset it" >&2
  exit 1
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests (apt-get)…"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
    [ -x /usr/bin/chromium ] && exit 0
  fi
fi
echo "npm test needs Chromium for its browser tests: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH" >&2
exit 1
