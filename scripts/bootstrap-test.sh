#!/usr/bin/env bash
# The bootstrap test: builds every function's binary for this host (the dev profile, with the
# same workspace-wide feature resolution as `cargo lambda build --bin <name>` at the root, which
# is what `sam build` runs), then runs each behind the Lambda Runtime API emulator with its
# events/ fixture against moto (tools/lambda-emulator). Needs moto on $AWS_ENDPOINT_URL
# (`scripts/stack.sh start`); arguments go to bootstrap-test (--only FUNCTION,… / --bins DIR).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
bins=()
for d in functions/*/; do
  [ -f "$d/Cargo.toml" ] && bins+=(--bin "$(basename "$d")")
done
log "building ${#bins[@]} function binaries (dev)"
cargo build --quiet "${bins[@]}"
cargo run --quiet -p lambda-emulator --bin bootstrap-test -- "$@"
