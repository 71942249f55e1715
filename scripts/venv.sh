#!/usr/bin/env bash
# Creates the project venv (.venv) with the pinned Python tools (moto server, cfn-lint, checkov,
# schemathesis), once per version of scripts/requirements.txt.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
stamp="$VENV/.requirements.sha"
want=$(sha256sum "$ROOT/scripts/requirements.txt" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then exit 0; fi
log "creating the Python venv (.venv) with the pinned tools"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements.txt"
echo "$want" >"$stamp"
