#!/usr/bin/env bash
# The local stack: moto (DynamoDB + Streams on $MOTO_PORT, SQS on $MOTO_SQS_PORT: two processes,
# so they use both cores) + the local gateway (the Lambda handlers).
#   scripts/stack.sh start   builds what is missing, starts them, waits until they answer
#   scripts/stack.sh stop    stops what start started
#   scripts/stack.sh status
#   scripts/stack.sh restart-moto   kills moto and starts it again, empty (chaos scenario): the
#                                   gateway notices and creates the tables and queues again
#   scripts/stack.sh pids    name=pid of each running process (for the idle CPU measurement)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PROFILE="${STACK_PROFILE:-dev}"
target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
bin_dir="$target_dir/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")"

start() {
  "$ROOT/scripts/venv.sh"
  log "building the local gateway ($PROFILE)"
  # STACK_CARGO_ARGS: make test builds the whole workspace once; the same selection here finds
  # it fresh (another selection would resolve other features and rebuild the SDK crates).
  # shellcheck disable=SC2086
  (cd "$ROOT" && cargo build --quiet --profile "$PROFILE" ${STACK_CARGO_ARGS:--p local-gateway})
  if ! curl -s -o /dev/null --max-time 1 "$AWS_ENDPOINT_URL/moto-api/" ||
    ! curl -s -o /dev/null --max-time 1 "$AWS_ENDPOINT_URL_SQS/moto-api/"; then
    log "starting moto: DynamoDB + Streams on $AWS_ENDPOINT_URL, SQS on $AWS_ENDPOINT_URL_SQS"
    stop_moto
    start_moto
  fi
  log "starting the local gateway on $CAMPAIGN_API_URL"
  stop_bg gateway
  start_bg gateway "$bin_dir/local-gateway"
  if ! wait_for "$CAMPAIGN_API_URL/health" 60; then
    tail -n 40 "$RUN_DIR/gateway.log" >&2
    exit 1
  fi
}

# MOTO_SERVER_ARGS: extra arguments of scripts/moto_server.py (e.g. --werkzeug, for comparisons).
start_moto() {
  # shellcheck disable=SC2086
  start_bg moto "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$MOTO_PORT" ${MOTO_SERVER_ARGS:-}
  # shellcheck disable=SC2086
  start_bg moto-sqs "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$MOTO_SQS_PORT" ${MOTO_SERVER_ARGS:-}
  wait_for "$AWS_ENDPOINT_URL/moto-api/" 60
  wait_for "$AWS_ENDPOINT_URL_SQS/moto-api/" 60
}

stop_moto() {
  stop_bg moto
  stop_bg moto-sqs
}

restart_moto() {
  log "restarting moto (its state is in memory and is lost)"
  stop_moto
  start_moto
}

stop() {
  stop_bg gateway
  stop_moto
}

pids() {
  local n out=()
  for n in moto moto-sqs gateway; do
    if [ -f "$RUN_DIR/$n.pid" ] && kill -0 "$(cat "$RUN_DIR/$n.pid")" 2>/dev/null; then
      out+=("$n=$(cat "$RUN_DIR/$n.pid")")
    fi
  done
  (IFS=,; echo "${out[*]}")
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart-moto) restart_moto ;;
  pids) pids ;;
  status)
    for n in moto moto-sqs gateway web; do
      if [ -f "$RUN_DIR/$n.pid" ] && kill -0 "$(cat "$RUN_DIR/$n.pid")" 2>/dev/null; then echo "$n: running"; else echo "$n: stopped"; fi
    done ;;
  *) echo "usage: $0 start|stop|status|restart-moto|pids" >&2; exit 2 ;;
esac
