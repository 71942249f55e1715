#!/usr/bin/env bash
# Builds the Lambda bootstraps the way `sam build` does (cargo-lambda, zig as the linker) and
# measures them.
#
#   scripts/lambda.sh build   arm64 release bootstraps of every crate under functions/ and of
#                             bench/hello-lambda (a minimal Rust Lambda, for comparison);
#                             prints their sizes
#   scripts/lambda.sh bench   x86_64 release bootstraps of the same (arm64 ones cannot run on an
#                             x86_64 host), started under a local Lambda Runtime API emulator
#                             (bench/lambda-init/lambda_init.py): cold init time (median),
#                             RSS at init; prints a markdown table, also written to
#                             target/bench/lambda.md
#   scripts/lambda.sh test    the bootstrap test (tools/lambda-emulator) against the x86_64
#                             release bootstraps that `bench` built: the release profile's
#                             binaries take their fixtures and answer as the dev ones do (needs
#                             moto: scripts/stack.sh start)
#
# Needs python3 (3.10+) and rustup. Installs, once: a venv .venv-lambda with cargo-lambda and
# zig from PyPI (pinned below), and the rustup target aarch64-unknown-linux-gnu.
# Environment: CARGO_TARGET_DIR (default target/), LAMBDA_BUILD_NICE (nice level of the cargo
# builds, default 0; use 19 on a shared machine), LAMBDA_BENCH_RUNS (default 10).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-lambda"
PINS=(cargo-lambda==1.9.2 ziglang==0.17.1)
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
HELLO="$ROOT/bench/hello-lambda"
NICE="${LAMBDA_BUILD_NICE:-0}"
RUNS="${LAMBDA_BENCH_RUNS:-10}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The venv with cargo-lambda and zig, created or refreshed when the pins change.
setup_tools() {
  local stamp="$VENV/.pins" want="${PINS[*]}"
  if ! [ -x "$VENV/bin/cargo-lambda" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing ${PINS[*]} into .venv-lambda"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
    echo "$want" >"$stamp"
  fi
  # cargo finds the `cargo-lambda` subcommand on PATH; cargo-lambda finds zig via `python3 -m ziglang`.
  export PATH="$VENV/bin:$PATH"
}

ensure_target() {
  local triple=$1
  if ! rustup target list --installed | grep -qx "$triple"; then
    log "rustup target add $triple"
    rustup target add "$triple"
  fi
}

# Binaries are named like their crate directories under functions/.
functions() {
  local d
  for d in "$ROOT"/functions/*/; do
    [ -f "$d/Cargo.toml" ] && basename "$d"
  done
}

# cargo_lambda ARCH_FLAG LAMBDA_DIR: builds every function (one cargo run, the same feature
# resolution as SAM's one `--bin` at a time at the workspace root) and hello-world, and copies
# each bootstrap to LAMBDA_DIR/<bin>/bootstrap.
cargo_lambda() {
  local arch=$1 dir=$2 bins=() b
  for b in $(functions); do bins+=(--bin "$b"); done
  log "cargo lambda build --release $arch ($(functions | wc -l) functions)"
  (cd "$ROOT" && nice -n "$NICE" cargo lambda build --release "$arch" --lambda-dir "$dir" "${bins[@]}")
  log "cargo lambda build --release $arch (bench/hello-lambda)"
  # (cargo-lambda 1.9.2 passes --target-dir on to `cargo metadata`, which refuses it: use the variable.)
  (cd "$HELLO" && CARGO_TARGET_DIR="$TARGET_DIR" nice -n "$NICE" cargo lambda build --release "$arch" \
    --lambda-dir "$dir")
}

size_table() {
  local dir=$1 b f bytes
  printf '| binary | bytes | MB | MiB |\n|---|---:|---:|---:|\n'
  for b in $(functions) hello-lambda; do
    f="$dir/$b/bootstrap"
    if [ -f "$f" ]; then
      bytes=$(stat -c %s "$f")
      printf '| %s | %s | %s | %s |\n' "$b" "$bytes" "$(awk -v n="$bytes" 'BEGIN { printf "%.2f", n / 1000000 }')" \
        "$(awk -v n="$bytes" 'BEGIN { printf "%.2f", n / 1048576 }')"
    else
      printf '| %s | missing | | |\n' "$b"
    fi
  done
}

build() {
  setup_tools
  ensure_target aarch64-unknown-linux-gnu
  cargo_lambda --arm64 "$TARGET_DIR/lambda"
  echo
  echo "arm64 bootstraps ($TARGET_DIR/lambda/<binary>/bootstrap):"
  echo
  size_table "$TARGET_DIR/lambda"
}

# events/<name>.json, or the first events/<name>-*.json.
event_for() {
  local f
  for f in "$ROOT/events/$1.json" "$ROOT"/events/"$1"-*.json; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  echo -
}

bench() {
  setup_tools
  ensure_target x86_64-unknown-linux-gnu
  local x86="$TARGET_DIR/lambda-x86_64" args=() b
  cargo_lambda --x86-64 "$x86"
  for b in $(functions); do
    args+=(--function "$b" "$x86/$b/bootstrap" "$(event_for "$b")" "$TARGET_DIR/lambda/$b/bootstrap")
  done
  # ws-authorizer again with a shared secret: its init without the JWKS fetch.
  [ -d "$ROOT/functions/ws-authorizer" ] && args+=(--function "ws-authorizer+JWT_SECRET=bench" \
    "$x86/ws-authorizer/bootstrap" "$(event_for ws-authorizer)" "$TARGET_DIR/lambda/ws-authorizer/bootstrap")
  args+=(--function hello-lambda "$x86/hello-lambda/bootstrap" - "$TARGET_DIR/lambda/hello-lambda/bootstrap")
  mkdir -p "$ROOT/target/bench"
  log "cold starts under the Runtime API emulator ($RUNS runs each)"
  python3 "$ROOT/bench/lambda-init/lambda_init.py" --runs "$RUNS" \
    --out "$ROOT/target/bench/lambda.md" --json "$ROOT/target/bench/lambda.json" \
    --log-dir "$ROOT/target/bench/lambda-logs" "${args[@]}"
}

release_test() {
  local x86="$TARGET_DIR/lambda-x86_64"
  [ -x "$x86/api/bootstrap" ] || { echo "no x86_64 bootstraps in $x86: run scripts/lambda.sh bench first" >&2; exit 1; }
  # shellcheck source=lib.sh
  source "$ROOT/scripts/lib.sh"
  (cd "$ROOT" && cargo build --quiet --bin bootstrap-test)
  "$TARGET_DIR/debug/bootstrap-test" --bins "$x86"
}

case "${1:-}" in
  build) build ;;
  bench) bench ;;
  test) release_test ;;
  *)
    echo "usage: scripts/lambda.sh build|bench|test" >&2
    exit 2
    ;;
esac
