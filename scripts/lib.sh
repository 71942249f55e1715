# Shared by the project's scripts: paths, the local environment, and process helpers.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

# The local stack's environment: the standard AWS variables point every SDK client at moto.
# moto runs as two processes (scripts/moto_server.py): DynamoDB + DynamoDB Streams on MOTO_PORT
# (AWS_ENDPOINT_URL, which the tests' direct DynamoDB calls use too), SQS on MOTO_SQS_PORT
# (default MOTO_PORT + 1); the SDKs pick each service's endpoint from AWS_ENDPOINT_URL_<SERVICE>.
export MOTO_PORT="${MOTO_PORT:-4566}"
export MOTO_SQS_PORT="${MOTO_SQS_PORT:-$((MOTO_PORT + 1))}"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:$MOTO_PORT}"
export AWS_ENDPOINT_URL_DYNAMODB="${AWS_ENDPOINT_URL_DYNAMODB:-$AWS_ENDPOINT_URL}"
export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="${AWS_ENDPOINT_URL_DYNAMODB_STREAMS:-$AWS_ENDPOINT_URL}"
export AWS_ENDPOINT_URL_SQS="${AWS_ENDPOINT_URL_SQS:-http://127.0.0.1:$MOTO_SQS_PORT}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_EC2_METADATA_DISABLED=true
export LOCAL_HTTP_PORT="${LOCAL_HTTP_PORT:-3000}"
export LOCAL_WS_PORT="${LOCAL_WS_PORT:-3001}"
export WEB_PORT="${WEB_PORT:-8080}"
export CAMPAIGN_API_URL="${CAMPAIGN_API_URL:-http://127.0.0.1:$LOCAL_HTTP_PORT}"
export CAMPAIGN_WS_URL="${CAMPAIGN_WS_URL:-ws://127.0.0.1:$LOCAL_WS_PORT}"
export WS_MANAGEMENT_ENDPOINT="${WS_MANAGEMENT_ENDPOINT:-http://127.0.0.1:$LOCAL_WS_PORT}"
# Short retry backoff locally so retry and dead-letter tests take seconds, not minutes.
export AUTOSTART_BACKOFF_BASE_SECONDS="${AUTOSTART_BACKOFF_BASE_SECONDS:-1}"
export AUTOSTART_BACKOFF_CAP_SECONDS="${AUTOSTART_BACKOFF_CAP_SECONDS:-2}"
# The sweeper re-drives sooner locally (AWS: 300 s / 900 s) so recovery tests take seconds; a
# chunk's time budget stays below the stale threshold (a slow chunk is not a stalled one).
export STALE_PHASE_SECONDS="${STALE_PHASE_SECONDS:-10}"
export STALE_QUEUED_SECONDS="${STALE_QUEUED_SECONDS:-25}"
export PHASE_CHUNK_BUDGET_SECONDS="${PHASE_CHUNK_BUDGET_SECONDS:-5}"
export LOCAL_SWEEP_SECONDS="${LOCAL_SWEEP_SECONDS:-2}"
# The local tests run their DNS and HTTP servers on loopback (API.md "Limits").
export ALLOWED_PRIVATE_CIDRS="${ALLOWED_PRIVATE_CIDRS:-127.0.0.0/8}"
export RUST_LOG="${RUST_LOG:-info}"

# Pids and logs of what the scripts start, per HTTP port, so stacks on other ports (a second
# checkout, CI beside `make dev`) never stop each other.
RUN_DIR="$ROOT/.run/$LOCAL_HTTP_PORT"
mkdir -p "$RUN_DIR"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# wait_for URL SECONDS: polls until URL answers (any HTTP status).
wait_for() {
  local url=$1 secs=${2:-30} i
  for ((i = 0; i < secs * 10; i++)); do
    if curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2
  return 1
}

# start_bg NAME CMD...: starts a process in the background, pid and log in $RUN_DIR (.run/<http port>/NAME.{pid,log}).
start_bg() {
  local name=$1; shift
  "$@" >"$RUN_DIR/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
}

# stop_bg NAME: stops a process started with start_bg (and its children).
stop_bg() {
  local name=$1 pidfile="$RUN_DIR/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}
