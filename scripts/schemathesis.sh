#!/usr/bin/env bash
# Property-based fuzzing of the HTTP API against its OpenAPI document (docs/openapi.json) with
# schemathesis, against the running local stack at $CAMPAIGN_API_URL (127.0.0.1 only).
#
# Every response must be: no 5xx (not_a_server_error), a status the document lists for the
# operation (status_code_conformance), the documented content type (content_type_conformance),
# a body matching the documented schema (response_schema_conformance), and the documented
# response headers (X-Correlation-Id, ETag, Location, …: response_headers_conformance). Any
# violation fails the script. Bounded: at most $SCHEMATHESIS_MAX_EXAMPLES (25) generated cases
# per operation and phase (examples, coverage, fuzzing, stateful via the document's links),
# about a minute on two cores.
#
# Before the run it seeds a campaign whose discovery has completed and points the campaign
# operations that cannot delete or reset it (GET campaign, status and domains, PUT config and
# mode) at it, and the phase starts at a second, fresh one, so their 200/202/304/409/412/422
# answers are checked on real data, not only the 404 of a random id.
#
#   scripts/schemathesis.sh            (the stack must be running: scripts/stack.sh start)
#   SCHEMATHESIS_SEED=123 scripts/schemathesis.sh    reproduce a run (the seed is printed)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
sub="${SCHEMATHESIS_SUB:-schemathesis}"
spec="$ROOT/docs/openapi.json"
out="$RUN_DIR/schemathesis"

# Loopback only: this fuzzer sends thousands of requests.
case "$CAMPAIGN_API_URL" in
  http://127.*|http://localhost:*|http://localhost|http://\[::1\]*) ;;
  *) echo "schemathesis.sh: refusing to fuzz $CAMPAIGN_API_URL (loopback addresses only)" >&2; exit 2 ;;
esac

"$ROOT/scripts/venv.sh"
[ -x "$VENV/bin/schemathesis" ] || { echo "schemathesis is missing from $VENV (scripts/requirements.txt)" >&2; exit 2; }
rm -rf "$out" && mkdir -p "$out"

# json FIELD < JSON: one field of a JSON document on stdin ("" when absent).
json() {
  "$VENV/bin/python" -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print("" if v is None else v)' "$1"
}
# api METHOD PATH [BODY]: an authenticated call; prints the body, fails on a non-2xx status.
api() {
  curl -sS --fail-with-body --max-time 10 -X "$1" "$CAMPAIGN_API_URL$2" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${3:+-d "$3"}
}

token=$(curl -sS --fail-with-body --max-time 10 -X POST "$CAMPAIGN_API_URL/_local/token" \
  -H 'Content-Type: application/json' -d "{\"sub\":\"$sub\"}" | json token 2>/dev/null) || {
  echo "schemathesis.sh: no token from $CAMPAIGN_API_URL/_local/token (is the local stack running?)" >&2
  exit 2
}

# A campaign whose discovery has completed (60 domains). Its config cannot change any more and
# discovery cannot restart, and without a dns persona validation cannot start.
seed_body='{"name":"schemathesis seed","config":{"discovery":{"patternType":"prefix","constantString":"seed","variableLength":2,"characterSet":"abcdefghijklmnopqrstuvwxyz0123456789","tlds":[".com",".net"],"numDomains":60}}}'
campaign=$(api POST /campaigns "$seed_body" | json id)
api POST "/campaigns/$campaign/phases/discovery/start" >/dev/null
for ((i = 0; ; i++)); do
  status=$(api GET "/campaigns/$campaign/status" | json phases.0.status)
  [ "$status" = completed ] && break
  if [ "$status" = failed ] || ((i >= 600)); then
    echo "schemathesis.sh: the seed campaign's discovery did not complete (status: $status)" >&2
    exit 2
  fi
  sleep 0.1
done

# And one not started yet, for the phase controls: a start 202 once, then 409 (running,
# completed, order) and 422 (validation without a dns persona); pause, resume and stop 202 or
# 409 (`PHASE_NOT_RUNNING` / `PHASE_NOT_PAUSED`) depending on where discovery is.
fresh=$(api POST /campaigns "${seed_body/schemathesis seed/schemathesis fresh}" | json id)

cat >"$out/schemathesis.toml" <<EOF
[[operations]]
include-operation-id = ["getCampaign", "getCampaignStatus", "listDomains", "replaceCampaignConfig", "changeCampaignMode"]
parameters = { "path.id" = "$campaign" }

[[operations]]
include-operation-id = ["startPhase", "pausePhase", "resumePhase", "stopPhase"]
parameters = { "path.id" = "$fresh" }
EOF

log "schemathesis over docs/openapi.json against $CAMPAIGN_API_URL (max $max_examples examples per operation)"
started=$(date +%s)
rc=0
# Run from $out so nothing (e.g. a .hypothesis folder) lands in the work tree.
(cd "$out" && "$VENV/bin/schemathesis" --config-file "$out/schemathesis.toml" --no-color run "$spec" \
  --url "$CAMPAIGN_API_URL" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "$max_examples" \
  --workers 2 \
  --request-timeout 10 \
  --generation-database none \
  --generation-with-security-parameters false \
  ${SCHEMATHESIS_SEED:+--seed "$SCHEMATHESIS_SEED"} \
  --report json --report-json-path "$out/report.json") || rc=$?
elapsed=$(( $(date +%s) - started ))

# Exit codes: 0 no failures, 1 failures found, 2 the run could not do its job (schema,
# configuration or internal error, nothing tested), 130 interrupted; anything else is a crash.
summary=$("$VENV/bin/python" - "$out/report.json" <<'EOF' 2>/dev/null || true
import json, sys
r = json.load(open(sys.argv[1]))
ops, cases = r["operations"], r["test_cases"]
failures = sum(f["count"] for f in r["failures"])
errors = sum(e["count"] for e in r["errors"])
print(f'{ops["tested"]}/{ops["selected"]} operations, {cases["generated"]} test cases, '
      f'{failures} failures ({cases["unique_failures"]} unique), {errors} errors, seed {r["seed"]}')
EOF
)
# Belt and braces: a clean exit must come with a report of no failures and no errors.
if [ "$rc" = 0 ] && [[ "$summary" != *" 0 failures "*", 0 errors,"* ]]; then rc=1; fi
case "$rc" in
  0) verdict="OK" ;;
  1) verdict="FAILED (see the failures and errors above)" ;;
  2) verdict="ERROR (schemathesis could not run: see above)" ;;
  130) verdict="INTERRUPTED" ;;
  *) verdict="CRASHED (exit code $rc)" ;;
esac
echo "schemathesis $verdict: ${summary:-no report} in ${elapsed}s"
exit "$rc"
