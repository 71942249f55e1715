#!/usr/bin/env bash
# Smoke test of a running stack, deployed or local: the whole Full Auto flow with a check at
# every step (health, WebSocket subscribe, create a full_sequence campaign, phase_auto_started
# over the socket, status until discovery completed, the exact domain list, delete). See
# scripts/smoke.py for the steps.
#
#   scripts/smoke.sh HTTP_URL WS_URL TOKEN
#
# After `sam deploy`: HTTP_URL = the stack's ApiUrl output, WS_URL = WebSocketUrl, TOKEN = a JWT
# of the stack's issuer (docs/DEPLOY.md, "Getting a token"). Against the local stack:
#   scripts/smoke.sh "$CAMPAIGN_API_URL" "$CAMPAIGN_WS_URL" "$(curl -s -X POST \
#     "$CAMPAIGN_API_URL/_local/token" -d '{"sub":"smoke-me"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
# SMOKE_DOMAINS (default 40) sets the campaign's size, SMOKE_TIMEOUT (default 120) each wait in
# seconds. Exits 1 with a FAIL line on the first failed check. Uses the project venv (.venv, made
# by scripts/venv.sh, which this runs: Python with the pinned `websockets`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -ne 3 ]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
"$ROOT/scripts/venv.sh" >&2
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/smoke.py" "$@"
