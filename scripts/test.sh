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
#   users and campaigns). The browser tests ran there too and saved ~100 s, until a slow
#   `subscribed` answer on the shared machine failed one (web/e2e/phases.spec.ts now waits for
#   it): they run alone after them. The load and chaos smoke runs alone at the end
#   (its faults are stack-wide), on a fresh stack: on the moto the tests filled, its delivery
#   latencies were 10× a fresh one's and a moto stall failed one-bad-connection's ratio.
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
kill_tree() { local c; for c in $(pgrep -P "$1"); do kill_tree "$c"; done; kill "$1" 2>/dev/null || true; }
cleanup() {
  local pid
  for pid in "${jobs[@]}"; do kill_tree "$pid"; done
  if $stack; then bash scripts/stack.sh stop; stop_bg web; fi
}
trap cleanup EXIT

python_checks() {
  scripts/venv.sh
  log "SAM template: cfn-lint, infra/resources.json generated from it, the design rules"
  "$VENV/bin/python" scripts/check_template.py
  "$VENV/bin/python" scripts/check_template.py --self-test
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
$web && await web-prepare
step "in the background: smoke script, schemathesis"
job contract contract

step "unit, property and integration tests (cargo test --workspace, against the local stack)"
cargo test --quiet --workspace

step "bootstrap test: every function's real binary behind a Runtime API emulator, its events/ fixture, moto"
scripts/bootstrap-test.sh

step "waiting for the smoke script and schemathesis"
await contract

if $web; then
  step "wizard: browser tests (alone: their waits are for a user's eyes, not for a machine shared with the integration tests)"
  start_bg web scripts/web.sh serve
  wait_for "http://127.0.0.1:$WEB_PORT/" 30
  scripts/web.sh test-e2e
fi

step "a fresh stack for the load and chaos smoke (moto's scans and queries grow with everything the tests stored)"
bash scripts/stack.sh stop
scripts/stack.sh start

step "load and chaos smoke: every load-bench scenario, small (make bench runs them full size)"
LOAD_SMOKE=1 \
  LOAD_SCENARIOS=baseline,seed,ddb-throttle,sqs-send,worker-crash,stream-failure,ws-drop,api-crash-after-write,dispatcher-outage,pause-resume-storm,one-bad-connection,moto-restart \
  LOAD_MOTO_RESTART_CMD="bash scripts/stack.sh restart-moto" \
  "$TARGET_DIR/debug/load-bench"

step "done: every test passed in $(( $(date +%s) - started ))s"
