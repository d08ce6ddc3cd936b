#!/bin/sh
# One-shot entrypoint of the `kratos-config` compose service (it runs in the service image, see
# webhooks/Dockerfile): renders kratos/kratos.yml from the environment into the volume that
# `kratos-migrate` and `kratos` mount read-only.
#
# It runs as root only to hand the file to Kratos: the rendered config holds the cookie and
# cipher secrets and the webhook API key, so it is mode 0600, and the oryd/kratos image runs as
# uid 10000. Compose drops every capability but CHOWN and gives it no network.
set -eu

OUT="${KRATOS_RENDERED_CONFIG:-/rendered/kratos.yml}"
KRATOS_UID="${KRATOS_UID:-10000}"
KRATOS_GID="${KRATOS_GID:-$KRATOS_UID}"
RENDER="$(dirname "$0")/render-config.js"

fail() {
  echo "kratos-config: $*" >&2
  exit 1
}

# Kratos would refuse these too, but only after the migration ran, with a schema error.
[ "${#KRATOS_SECRET_CIPHER}" -eq 32 ] ||
  fail "KRATOS_SECRET_CIPHER must be exactly 32 characters (openssl rand -hex 16)"
[ "${#KRATOS_SECRET_COOKIE}" -ge 16 ] ||
  fail "KRATOS_SECRET_COOKIE must be at least 16 characters (openssl rand -hex 32)"
[ "${#KRATOS_WEBHOOK_API_KEY}" -ge 32 ] ||
  fail "KRATOS_WEBHOOK_API_KEY must be at least 32 characters (openssl rand -hex 32)"

# The placeholders of .env.example are public: never start a stack with them.
for name in KRATOS_SECRET_CIPHER KRATOS_SECRET_COOKIE KRATOS_WEBHOOK_API_KEY; do
  eval "value=\${$name}"
  case "$value" in
  change-me*) fail "$name still has the .env.example placeholder; generate one (see .env.example)" ;;
  esac
done

tmp="$OUT.tmp"
rm -f "$tmp"
node "$RENDER" "$tmp"
chmod 0600 "$tmp"
chown "$KRATOS_UID:$KRATOS_GID" "$tmp"
mv -f "$tmp" "$OUT"
echo "kratos-config: rendered $OUT"
