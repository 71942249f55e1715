#!/usr/bin/env bash
# The bootstrap test: builds every function's binary for this host (the dev profile, with the
# same workspace-wide feature resolution as `cargo lambda build --bin <name>` at the root, which
# is what `sam build` runs), then runs each behind the Lambda Runtime API emulator with its
# events/ fixture against moto (tools/lambda-emulator). Needs moto on $AWS_ENDPOINT_URL
# (`scripts/stack.sh start`); arguments go to bootstrap-test (--only FUNCTION,… / --bins DIR).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
bins=() n=0
for d in functions/*/; do
  [ -f "$d/Cargo.toml" ] && bins+=(--bin "$(basename "$d")") && n=$((n + 1))
done
# One cargo run for the functions and the test tool: the tool shares the functions' build of
# every dependency instead of compiling its own feature set.
log "building $n function binaries and the emulator (dev)"
cargo build --quiet "${bins[@]}" --bin bootstrap-test
"${CARGO_TARGET_DIR:-$ROOT/target}/debug/bootstrap-test" "$@"
