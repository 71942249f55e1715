#!/usr/bin/env bash
# `make test`: installs what is missing, then runs every test. Starts the local stack for the
# integration and browser tests and stops it again on exit, whatever happens.
#
# Where the time goes (docs/LOCAL_SPEED.md "make test"): compiling, then the stack's tests.
# - One cargo build for everything the tests run (`--workspace --all-targets`): every later
#   cargo call (the stack's gateway, `cargo test --workspace`, the load bench) finds it fresh.
#   A call with another package selection (`-p local-gateway`, `--exclude …`) resolves other
#   features and builds its own copy of the SDK crates; only the bootstrap test keeps its own
#   (it builds the functions the way `sam build` does, on purpose).
# - What does not need the Rust build runs beside it: the Python tools and the template checks,
#   the wizard's npm install, unit tests and build.
# - The smoke script and schemathesis run beside the Rust integration tests (each test owns its
#   users and campaigns). The load and chaos smoke runs beside them too, on a stack of its own
#   (other ports, `chaos_env`): its faults are stack-wide, and on the moto the other tests
#   filled its delivery latencies were ~10× a fresh one's. The browser tests ran beside the
#   integration tests once and a slow `subscribed` answer failed one (web/e2e/phases.spec.ts now
#   waits for it): they have their stack to themselves after the integration tests, with the
#   wizard's event silence shortened to 8 s (users get 20 s) so the polling test waits less.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
started=$(date +%s)
step() { log "$1 (+$(( $(date +%s) - started ))s)"; }
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# The stack's gateway build uses the one selection this script builds with (scripts/stack.sh).
export STACK_CARGO_ARGS="--workspace --all-targets"
LOGS="$RUN_DIR/test"
rm -rf "$LOGS" && mkdir -p "$LOGS"

command -v cargo >/dev/null || { echo "cargo is required (the Rust toolchain)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }

# job NAME CMD...: runs CMD in the background, its output in $LOGS/NAME.log.
# await NAME...: waits for each, prints its output, and stops here when one failed.
declare -A jobs=()
job() { local name=$1; shift; ("$@") >"$LOGS/$name.log" 2>&1 & jobs[$name]=$!; }
await() {
  local name rc
  for name in "$@"; do
    rc=0; wait "${jobs[$name]}" || rc=$?
    cat "$LOGS/$name.log"
    if [ "$rc" != 0 ]; then log "FAILED: $name (exit $rc; log above, also in $LOGS/$name.log)"; exit "$rc"; fi
    log "$name: passed (+$(( $(date +%s) - started ))s)"
  done
}
web=false; [ -f web/package.json ] && web=true
stack=false
chaos_stack=false
kill_tree() { local c; for c in $(pgrep -P "$1"); do kill_tree "$c"; done; kill "$1" 2>/dev/null || true; }
cleanup() {
  local pid
  for pid in "${jobs[@]}"; do kill_tree "$pid"; done
  if $stack; then bash scripts/stack.sh stop; fi
  if $chaos_stack; then chaos_env scripts/stack.sh stop; fi
}
trap cleanup EXIT

python_checks() {
  scripts/venv.sh
  log "SAM template: cfn-lint, infra/resources.json generated from it, the design rules"
  "$VENV/bin/python" scripts/check_template.py
  "$VENV/bin/python" scripts/check_template.py --self-test
  log "moto patches: transactions, queries, SQS queues, expressions, items (scripts/moto_server.py --self-test)"
  "$VENV/bin/python" scripts/moto_server.py --self-test
  log "infrastructure scan: checkov over infra/template.yaml (0 unexplained findings)"
  scripts/checkov.sh
  scripts/checkov.sh --self-test
}
web_prepare() { scripts/web.sh install && scripts/web.sh test-unit && scripts/web.sh build; }

step "in the background: Python tools (moto, cfn-lint, checkov) and the template checks; the wizard's install, unit tests and build"
job python python_checks
$web && job web-prepare web_prepare

step "rustfmt and clippy"
cargo fmt --all -- --check
cargo clippy --quiet --workspace --all-targets -- -D warnings

step "building the workspace, every target (one feature resolution for all that follows)"
cargo build --quiet --workspace --all-targets

await python
step "local stack (moto + local gateway)"
stack=true
scripts/stack.sh start

contract() {
  log "smoke: scripts/smoke.sh, the Full Auto flow a deployed stack is checked with"
  local token
  token=$(curl -fsS -X POST "$CAMPAIGN_API_URL/_local/token" -H 'content-type: application/json' \
    -d "{\"sub\":\"smoke-$(date +%s)\"}" | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  scripts/smoke.sh "$CAMPAIGN_API_URL" "$CAMPAIGN_WS_URL" "$token"
  log "schemathesis: docs/openapi.json against the local stack"
  scripts/schemathesis.sh
}
# The load and chaos smoke on a stack of its own (its faults are stack-wide, and on the moto the
# other tests filled its delivery latencies were ~10× a fresh one's): other ports, and every
# variable lib.sh derives from them unset so that it derives them again.
chaos_env() {
  env -u MOTO_SQS_PORT -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB \
    -u AWS_ENDPOINT_URL_DYNAMODB_STREAMS -u AWS_ENDPOINT_URL_SQS -u CAMPAIGN_API_URL \
    -u CAMPAIGN_WS_URL -u WS_MANAGEMENT_ENDPOINT \
    MOTO_PORT=$((MOTO_PORT + 20)) LOCAL_HTTP_PORT=$((LOCAL_HTTP_PORT + 20)) \
    LOCAL_WS_PORT=$((LOCAL_WS_PORT + 20)) \
    bash -c 'source scripts/lib.sh && exec "$@"' chaos "$@"
}
chaos() {
  chaos_env scripts/stack.sh start
  log "load and chaos smoke: every load-bench scenario, small (make bench runs them full size)"
  chaos_env env LOAD_SMOKE=1 \
    LOAD_SCENARIOS=baseline,seed,ddb-throttle,sqs-send,worker-crash,stream-failure,ws-drop,api-crash-after-write,dispatcher-outage,pause-resume-storm,one-bad-connection,moto-restart \
    LOAD_MOTO_RESTART_CMD="bash scripts/stack.sh restart-moto" \
    "$TARGET_DIR/debug/load-bench"
}
$web && await web-prepare
step "in the background: smoke script, schemathesis; the load and chaos smoke on its own stack"
job contract contract
chaos_stack=true
job chaos chaos

step "unit, property and integration tests (cargo test --workspace, against the local stack)"
cargo test --quiet --workspace

step "bootstrap test: every function's real binary behind a Runtime API emulator, its events/ fixture, moto"
scripts/bootstrap-test.sh

step "waiting for the smoke script and schemathesis"
await contract

if $web; then
  step "wizard: browser tests (no other test on their stack: their waits are for a user's eyes)"
  # Playwright serves the wizard itself, with the test timings of web/e2e/playwright.config.ts.
  scripts/web.sh test-e2e
fi

step "waiting for the load and chaos smoke (its own stack)"
await chaos

step "done: every test passed in $(( $(date +%s) - started ))s"
