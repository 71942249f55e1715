#!/usr/bin/env bash
# Wizard web client (web/): install | build | serve | test-unit | test-e2e
#   install    npm ci when node_modules is missing or older than package-lock.json;
#              Debian chromium (apt-get) when /usr/bin/chromium is missing
#   build      vite build into web/dist (skipped when dist is newer than every source)
#   serve      serve web/dist on 127.0.0.1:${WEB_PORT:-8080} in the foreground; /config.json points
#              at $CAMPAIGN_API_URL / $CAMPAIGN_WS_URL (defaults: the local stack)
#   test-unit  src/api/schema.ts is openapi-typescript's output for docs/openapi.json (regenerate:
#              npm --prefix web run gen:api), then Vitest
#   test-e2e   Playwright + Debian chromium against the running stack ($CAMPAIGN_API_URL,
#              $CAMPAIGN_WS_URL, $WEB_URL); starts `serve` itself when $WEB_URL does not answer
# Quiet on success; on failure the captured output is printed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$ROOT/web"
export CAMPAIGN_API_URL="${CAMPAIGN_API_URL:-http://127.0.0.1:3000}"
export CAMPAIGN_WS_URL="${CAMPAIGN_WS_URL:-ws://127.0.0.1:3001}"
export WEB_PORT="${WEB_PORT:-8080}"
export WEB_URL="${WEB_URL:-http://127.0.0.1:${WEB_PORT}}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
LOG_DIR="$WEB/test-results"
export NO_COLOR=1 FORCE_COLOR=0

die() { echo "web.sh: $*" >&2; exit 1; }

# run LOGNAME CMD...: run quietly, print the log on failure.
run() {
  local name="$1"; shift
  mkdir -p "$LOG_DIR"
  local log="$LOG_DIR/$name.log"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    die "$name failed (log: ${log#$ROOT/})"
  fi
}

need_node() {
  command -v node >/dev/null || die "node is not installed"
  command -v npm >/dev/null || die "npm is not installed"
}

install_npm() {
  need_node
  local stamp="$WEB/node_modules/.package-lock.json"
  if [[ ! -d "$WEB/node_modules" || ! -f "$stamp" || "$WEB/package-lock.json" -nt "$stamp" || "$WEB/package.json" -nt "$stamp" ]]; then
    (cd "$WEB" && run npm-ci npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
}

install_chromium() {
  [[ -x "$CHROMIUM_PATH" ]] && return 0
  [[ "$CHROMIUM_PATH" == /usr/bin/chromium ]] || die "CHROMIUM_PATH=$CHROMIUM_PATH does not exist"
  local sudo=""
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null || die "/usr/bin/chromium is missing and apt-get needs root (install the Debian package 'chromium')"
    sudo="sudo"
  fi
  run apt-get-update $sudo apt-get update -qq
  run apt-get-install env DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium
  [[ -x /usr/bin/chromium ]] || die "chromium installed but /usr/bin/chromium is missing"
}

cmd_install() { install_npm; install_chromium; }

dist_fresh() {
  local idx="$WEB/dist/index.html"
  [[ -f "$idx" ]] || return 1
  local newer
  newer="$(find "$WEB/src" "$WEB/public" "$WEB/index.html" "$WEB/vite.config.ts" "$WEB/tsconfig.json" \
    "$WEB/package-lock.json" -newer "$idx" -print -quit 2>/dev/null)"
  [[ -z "$newer" ]]
}

cmd_build() {
  install_npm
  if ! dist_fresh; then
    (cd "$WEB" && run build npm run build)
  fi
}

cmd_serve() {
  cmd_build
  cd "$WEB"
  WEB_QUIET="${WEB_QUIET:-1}" exec node server/serve.mjs
}

cmd_test_unit() {
  install_npm
  # src/api/schema.ts must be what openapi-typescript makes of docs/openapi.json.
  if ! (cd "$WEB" && run check-api npx openapi-typescript ../docs/openapi.json -o src/api/schema.ts --check); then
    die "web/src/api/schema.ts is not generated from docs/openapi.json: run make openapi (or npm --prefix web run gen:api)"
  fi
  (cd "$WEB" && run test-unit npx vitest run --reporter=dot)
  echo "web: unit tests passed ($(grep -Eo 'Tests +[0-9]+ passed' "$LOG_DIR/test-unit.log" | tr -s ' ' | sed 's/Tests //' | head -1))"
}

cmd_test_e2e() {
  install_npm
  install_chromium
  cmd_build
  curl -fsS -m 5 "$CAMPAIGN_API_URL/health" >/dev/null 2>&1 \
    || die "the API does not answer at $CAMPAIGN_API_URL/health (start the stack: scripts/stack.sh start)"
  (cd "$WEB" && run test-e2e npx playwright test -c e2e/playwright.config.ts --reporter=line)
  local skipped
  skipped="$(grep -Eo '[0-9]+ skipped' "$LOG_DIR/test-e2e.log" | tail -1 || true)"
  echo "web: e2e tests passed ($(grep -Eo '[0-9]+ passed' "$LOG_DIR/test-e2e.log" | tail -1)${skipped:+, $skipped: a feature the backend does not have yet}); screenshots in web/test-results/screenshots"
}

case "${1:-}" in
  install) cmd_install ;;
  build) cmd_build ;;
  serve) cmd_serve ;;
  test-unit) cmd_test_unit ;;
  test-e2e) cmd_test_e2e ;;
  *) echo "usage: $0 {install|build|serve|test-unit|test-e2e}" >&2; exit 2 ;;
esac
