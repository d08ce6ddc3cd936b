#!/bin/sh
# npm inside an image build (webhooks/Dockerfile), with the optional build secrets: a CA bundle
# mounted at /etc/ssl/certs/ca-certificates.crt joins Node's own roots, and an npm config
# mounted at /root/.npmrc is npm's user config already. Neither is kept in the image.
set -e
ca=/etc/ssl/certs/ca-certificates.crt
if [ -s "$ca" ]; then
  NODE_EXTRA_CA_CERTS="$ca"
  export NODE_EXTRA_CA_CERTS
fi
exec npm "$@"
