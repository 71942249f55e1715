#!/usr/bin/env bash
# `make test`: installs what is missing, then runs every test. Starts the local stack for the
# integration and browser tests and stops it again on exit, whatever happens.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
started=$(date +%s)
step() { log "$1 (+$(( $(date +%s) - started ))s)"; }

command -v cargo >/dev/null || { echo "cargo is required (the Rust toolchain)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }

step "Python tools (moto, cfn-lint) in .venv"
scripts/venv.sh

step "rustfmt and clippy"
cargo fmt --all -- --check
cargo clippy --quiet --workspace --all-targets -- -D warnings

step "unit and property tests"
cargo test --quiet --workspace --exclude integration-tests

step "SAM template: cfn-lint, infra/resources.json generated from it, the design rules"
"$VENV/bin/python" scripts/check_template.py
"$VENV/bin/python" scripts/check_template.py --self-test

step "infrastructure scan: checkov over infra/template.yaml (0 unexplained findings)"
scripts/checkov.sh
scripts/checkov.sh --self-test

trap 'bash scripts/stack.sh stop; stop_bg web' EXIT
step "local stack (moto + local gateway)"
scripts/stack.sh start

step "integration tests against the local stack"
cargo test --quiet -p integration-tests

step "bootstrap test: every function's real binary behind a Runtime API emulator, its events/ fixture, moto"
scripts/bootstrap-test.sh

step "smoke: scripts/smoke.sh, the Full Auto flow a deployed stack is checked with, against the local stack"
smoke_token=$(curl -fsS -X POST "$CAMPAIGN_API_URL/_local/token" -H 'content-type: application/json' \
  -d "{\"sub\":\"smoke-$(date +%s)\"}" | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
scripts/smoke.sh "$CAMPAIGN_API_URL" "$CAMPAIGN_WS_URL" "$smoke_token"

step "schemathesis: docs/openapi.json against the local stack"
scripts/schemathesis.sh

if [ -f web/package.json ]; then
  step "wizard: unit tests, build, browser tests"
  scripts/web.sh install
  scripts/web.sh test-unit
  scripts/web.sh build
  start_bg web scripts/web.sh serve
  wait_for "http://127.0.0.1:$WEB_PORT/" 30
  scripts/web.sh test-e2e
fi

step "load and chaos smoke: every load-bench scenario, small (make bench runs them full size)"
LOAD_SMOKE=1 \
  LOAD_SCENARIOS=baseline,seed,ddb-throttle,sqs-send,worker-crash,stream-failure,ws-drop,api-crash-after-write,dispatcher-outage,pause-resume-storm,one-bad-connection,moto-restart \
  LOAD_MOTO_RESTART_CMD="bash scripts/stack.sh restart-moto" \
  cargo run --quiet -p bench --bin load-bench

step "done: every test passed in $(( $(date +%s) - started ))s"
