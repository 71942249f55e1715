#!/usr/bin/env bash
# `make bench`: benchmarks against the local stack built with optimizations (profile
# local-release). Targets 127.0.0.1 only; every scenario is bounded in count and time.
#   load-bench:       LOAD_CAMPAIGNS (1000), LOAD_WIZARDS (50), LOAD_DOMAINS (20),
#                     LOAD_SEED_CAMPAIGNS (200), LOAD_CHAOS_CAMPAIGNS (200 per chaos scenario),
#                     LOAD_SCENARIOS (all of them, below)
#   autostart-bench:  BENCH_CAMPAIGNS (200), BENCH_CONCURRENCY (10), BENCH_DOMAINS (100000)
#   validation-bench: BENCH_DNS_DOMAINS (10000), BENCH_DNS_CONCURRENCY (64)
# Results: target/bench/*.json, and the load/chaos report in target/bench/load.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
export STACK_PROFILE=local-release RUST_LOG=${BENCH_RUST_LOG:-warn}
trap 'bash scripts/stack.sh stop' EXIT
scripts/stack.sh start
cargo build --quiet --profile local-release -p bench
bin="${CARGO_TARGET_DIR:-$ROOT/target}/local-release"
log "auto-start: create → running latency and discovery throughput"
"$bin/autostart-bench"
log "validation: DNS throughput, raw hickory vs the phase"
"$bin/validation-bench"
log "WebSocket event latency and fan-out"
"$bin/ws-bench"
log "load: ${LOAD_CAMPAIGNS:-1000} wizards' campaigns at ${LOAD_WIZARDS:-50} concurrent, the seed's 3-call flow, then the chaos scenarios"
export LOAD_SCENARIOS=${LOAD_SCENARIOS:-baseline,seed,ddb-throttle,sqs-send,worker-crash,stream-failure,ws-drop,moto-restart}
export LOAD_CHAOS_CAMPAIGNS=${LOAD_CHAOS_CAMPAIGNS:-200}
export LOAD_MOTO_RESTART_CMD=${LOAD_MOTO_RESTART_CMD:-bash scripts/stack.sh restart-moto}
"$bin/load-bench"
