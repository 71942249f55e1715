#!/usr/bin/env bash
# `make dev`: installs what is missing, starts moto + the local stack + the wizard, prints the
# URLs, and keeps running until Ctrl-C (then stops everything it started).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
trap 'echo; log "stopping"; bash scripts/stack.sh stop; stop_bg web' EXIT INT TERM
scripts/stack.sh start
if [ -f web/package.json ]; then
  scripts/web.sh install
  scripts/web.sh build
  start_bg web scripts/web.sh serve
  wait_for "http://127.0.0.1:$WEB_PORT/" 30
fi
cat <<MSG

  Campaign Auto-Start is running on this machine:
    wizard          http://127.0.0.1:$WEB_PORT
    HTTP API        $CAMPAIGN_API_URL   (GET /health; POST /_local/token {"sub":"alice"} for a dev JWT)
    WebSocket API   $CAMPAIGN_WS_URL/?token=<JWT>
    moto            $AWS_ENDPOINT_URL   (DynamoDB, DynamoDB Streams, SQS)
    logs            .run/$LOCAL_HTTP_PORT/*.log

  Ctrl-C stops everything.
MSG
while true; do sleep 3600; done
