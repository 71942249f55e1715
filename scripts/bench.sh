#!/usr/bin/env bash
# `make bench`: benchmarks against the local stack. Targets 127.0.0.1 only; every scenario is
# bounded in count and time.
#   latency-profile:  idle create → phase_auto_started cut into hops with the floor (moto's own
#                     time on the path), and the idle stack's CPU — on `make dev`'s build (profile
#                     dev) and on local-release; PROFILE_CAMPAIGNS (60), PROFILE_IDLE_SECONDS (30),
#                     BENCH_PROFILE_BUILDS ("dev local-release")
#   then on the optimized build (profile local-release):
#   autostart-bench:  BENCH_CAMPAIGNS (200), BENCH_CONCURRENCY (10), BENCH_DOMAINS (100000)
#   validation-bench: BENCH_DNS_DOMAINS (10000), BENCH_DNS_CONCURRENCY (64)
#   keywords bench:   the fetcher vs a raw loop with the same HTTP client, concurrency 64 against
#                     a local page server (shared/src/phases/keywords/fetch/bench.rs);
#                     BENCH_DOMAINS, BENCH_PAGE_ITEMS (30)
#   load-bench:       the chaos scenarios (target/bench/chaos.md), then the load and the seed's
#                     3-call flow (target/bench/load.md); LOAD_CAMPAIGNS (1000), LOAD_WIZARDS (50),
#                     LOAD_DOMAINS (20), LOAD_SEED_CAMPAIGNS (200), LOAD_CHAOS_CAMPAIGNS (200 per
#                     chaos scenario), LOAD_STORM_DOMAINS (5000 per pause-resume-storm campaign),
#                     LOAD_OUTAGE_SECONDS (120, dispatcher-outage's longest),
#                     LOAD_BAD_CONNECTION_SUBSCRIBERS (1000 sockets of one-bad-connection, 10 per
#                     user), LOAD_BAD_CONNECTION_RATE (1 create/s); LOAD_SCENARIOS runs just
#                     those, in one report (load.md)
#                     then `cost`: what Full Auto campaigns of 1,000 domains cost in AWS by phase
#                     (target/bench/cost.md; LOAD_COST_CAMPAIGNS (20 per run), LOAD_COST_DOMAINS
#                     (1000), LOAD_COST_RESOLVED_PERCENT (50)), priced with the memory sizes of
#                     infra/template.yaml (target/bench/functions.json)
#   bench-summary:    the figures of issue 19 side by side (target/bench/summary.md)
# Results: target/bench/*.json and *.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
export RUST_LOG=${BENCH_RUST_LOG:-warn}
trap 'bash scripts/stack.sh stop' EXIT
cargo build --quiet --profile local-release -p bench
bin="${CARGO_TARGET_DIR:-$ROOT/target}/local-release"
mkdir -p target/bench
rm -f target/bench/latency-*.json target/bench/latency-*.md target/bench/summary.md
bash scripts/venv.sh
"$VENV/bin/python" scripts/function_memory.py >target/bench/functions.json

for build in ${BENCH_PROFILE_BUILDS:-dev local-release}; do
  STACK_PROFILE=$build scripts/stack.sh start
  log "latency profile: idle create → phase_auto_started and idle CPU, gateway built with profile $build"
  PROFILE_LABEL=$build PROFILE_PIDS="$(scripts/stack.sh pids)" "$bin/latency-profile"
done

export STACK_PROFILE=local-release
scripts/stack.sh start
log "auto-start: create → running latency and discovery throughput"
"$bin/autostart-bench"
log "validation: DNS throughput, raw hickory vs the phase"
"$bin/validation-bench"
log "keywords: fetch throughput, raw HTTP/1.1 loop vs the fetcher (with and without the page scan)"
cargo test --quiet --profile local-release -p campaign-shared --lib keywords::fetch::bench -- --ignored --nocapture
log "WebSocket event latency and fan-out"
"$bin/ws-bench"
export LOAD_CHAOS_CAMPAIGNS=${LOAD_CHAOS_CAMPAIGNS:-200}
export LOAD_MOTO_RESTART_CMD=${LOAD_MOTO_RESTART_CMD:-bash scripts/stack.sh restart-moto}
status=0
if [ -n "${LOAD_SCENARIOS:-}" ]; then
  log "load: scenarios $LOAD_SCENARIOS"
  "$bin/load-bench" || status=$?
else
  # The chaos scenarios first (the last one restarts moto), then the load and the seed's flow on
  # the fresh moto, so their campaigns are still there for the summary's completion times.
  log "chaos: ${LOAD_CHAOS_CAMPAIGNS} campaigns per scenario (report: target/bench/chaos.md)"
  LOAD_SCENARIOS=ddb-throttle,sqs-send,worker-crash,stream-failure,ws-drop,api-crash-after-write,dispatcher-outage,pause-resume-storm,one-bad-connection,moto-restart \
    "$bin/load-bench" || status=$?
  for ext in json md; do
    [ ! -f "target/bench/load.$ext" ] || mv "target/bench/load.$ext" "target/bench/chaos.$ext"
  done
  log "load: ${LOAD_CAMPAIGNS:-1000} wizards' campaigns at ${LOAD_WIZARDS:-50} concurrent, then the seed's 3-call flow, then the cost runs"
  LOAD_SCENARIOS=baseline,seed,cost "$bin/load-bench" || status=$?
fi

log "summary (target/bench/summary.md)"
"$bin/bench-summary"
exit "$status"
