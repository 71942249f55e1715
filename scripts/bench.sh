#!/usr/bin/env bash
# `make bench`: benchmarks against the local stack built with optimizations (profile
# local-release). Targets 127.0.0.1 only; every scenario is bounded in count and time.
#   BENCH_CAMPAIGNS (200), BENCH_CONCURRENCY (10), BENCH_DOMAINS (100000),
#   BENCH_DNS_DOMAINS (10000), BENCH_DNS_CONCURRENCY (64)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
export STACK_PROFILE=local-release RUST_LOG=${BENCH_RUST_LOG:-warn}
trap 'bash scripts/stack.sh stop' EXIT
scripts/stack.sh start
cargo build --quiet --profile local-release -p bench
log "auto-start: create → running latency and discovery throughput"
"${CARGO_TARGET_DIR:-$ROOT/target}/local-release/autostart-bench"
log "validation: DNS throughput, raw hickory vs the phase"
"${CARGO_TARGET_DIR:-$ROOT/target}/local-release/validation-bench"
for b in "${CARGO_TARGET_DIR:-$ROOT/target}"/local-release/ws-bench; do
  [ -x "$b" ] && { log "WebSocket event latency and fan-out"; "$b"; }
done
