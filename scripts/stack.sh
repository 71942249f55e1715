#!/usr/bin/env bash
# The local stack: moto (DynamoDB, Streams, SQS) + the local gateway (the Lambda handlers).
#   scripts/stack.sh start   builds what is missing, starts both, waits until they answer
#   scripts/stack.sh stop    stops what start started
#   scripts/stack.sh status
#   scripts/stack.sh restart-moto   kills moto and starts it again, empty (chaos scenario): the
#                                   gateway notices and creates the tables and queues again
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PROFILE="${STACK_PROFILE:-dev}"
target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
bin_dir="$target_dir/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")"

start() {
  "$ROOT/scripts/venv.sh"
  log "building the local gateway ($PROFILE)"
  (cd "$ROOT" && cargo build --quiet --profile "$PROFILE" -p local-gateway)
  if ! curl -s -o /dev/null --max-time 1 "$AWS_ENDPOINT_URL/moto-api/"; then
    log "starting moto on $AWS_ENDPOINT_URL"
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

start_moto() {
  start_bg moto "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$MOTO_PORT"
  wait_for "$AWS_ENDPOINT_URL/moto-api/" 60
}

restart_moto() {
  log "restarting moto (its state is in memory and is lost)"
  stop_bg moto
  start_moto
}

stop() {
  stop_bg gateway
  stop_bg moto
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart-moto) restart_moto ;;
  status)
    for n in moto gateway web; do
      if [ -f "$RUN_DIR/$n.pid" ] && kill -0 "$(cat "$RUN_DIR/$n.pid")" 2>/dev/null; then echo "$n: running"; else echo "$n: stopped"; fi
    done ;;
  *) echo "usage: $0 start|stop|status|restart-moto" >&2; exit 2 ;;
esac
