"""Time budgets and the environment of infra/template.yaml (run by scripts/template_rules.py;
scripts/check_template.py --self-test proves each rule fails on a violation). `spec` is what
scripts/gen_resources.py derives from the same template.

  * visibility: a queue an SQS mapping reads stays hidden at least six times as long as its
    function may run (AWS's advice for SQS event sources; dead-letter queues included); a queue a
    scheduled function reads itself stays hidden longer than that function may run, or the next
    run receives it again mid-work;
  * SDK_OPERATION_TIMEOUT_MS is below every function's Timeout (a hung call fails inside the
    invocation); the auto-start retry budget (backoff base/cap with equal jitter over
    maxReceiveCount - 1 waits) rides out at least MIN_OUTAGE_SECONDS even with the shortest
    jitter, and STALE_QUEUED_SECONDS exceeds its longest case;
  * environment: every table and queue (dead-letter queues aside: only their mappings read them) is
    named to the functions by one env variable, every function's environment (Globals merged) has
    all of them, and AUTOSTART_MAX_RECEIVE_COUNT equals the auto-start queue's maxReceiveCount.
"""

from __future__ import annotations

from typing import Any

from cfn_model import FUNCTION_TYPE, Report, merged_resources

MIN_OUTAGE_SECONDS = 300


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in merged_resources(template).items() if r.get("Type") == FUNCTION_TYPE}


def env(r: dict[str, Any]) -> dict[str, Any]:
    return ((r.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}


def check_visibility(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    resources = template.get("Resources") or {}

    def visibility(queue: str) -> Any:
        return ((resources.get(queue) or {}).get("Properties") or {}).get("VisibilityTimeout")

    for f in spec["functions"]:
        timeout = f["timeoutSeconds"]
        if f["trigger"] == "sqs":
            vis = visibility(f["source"])
            report.check(isinstance(vis, int) and vis >= 6 * timeout,
                         f"queue {f['source']} visibility >= 6 x {f['logicalId']} Timeout", f"{vis} vs 6 x {timeout}")
        for q in f.get("consumes") or []:
            vis = visibility(q)
            report.check(isinstance(vis, int) and vis > timeout, f"queue {q} visibility > {f['logicalId']} Timeout",
                         f"{vis} vs {timeout}")


def check_env(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    named = spec["tables"] + spec["queues"]
    unnamed = [x["logicalId"] for x in named if not x.get("env")]
    report.check(not unnamed, "every table and queue is named to the functions by an env variable (!Ref)", f"none for {unnamed}")
    wanted = sorted(x["env"] for x in named if x.get("env"))
    # Settings that restate a template value must agree with it.
    autostart = next((q for q in spec["queues"] if q["logicalId"] == "AutoStartQueue"), None)
    pinned = {}
    if autostart and autostart.get("deadLetter"):
        pinned["AUTOSTART_MAX_RECEIVE_COUNT"] = str(autostart["deadLetter"]["maxReceiveCount"])
    for lid, r in sorted(functions(template).items()):
        variables = env(r)
        missing = [v for v in wanted if v not in variables]
        wrong = [f"{k}={variables[k]!r} (want {v!r})" for k, v in pinned.items() if k in variables and str(variables[k]) != v]
        problems = ([f"missing {missing}"] if missing else []) + wrong
        report.check(not problems, f"env of {lid} names every table and queue", "; ".join(problems) or f"{len(wanted)} names")


def retry_budget(base: float, cap: float, max_receive_count: int) -> tuple[float, float]:
    """(shortest, longest) total wait before the DLQ: the waits after receives 1 .. N-1, each
    between half and all of min(cap, base * 2^(n-1)) ("equal jitter")."""
    ceilings = [min(cap, base * 2 ** (n - 1)) for n in range(1, max_receive_count)]
    return sum(ceilings) / 2, float(sum(ceilings))


def check_time_budgets(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    fns = functions(template)
    for lid, r in sorted(fns.items()):
        timeout_ms = int((r.get("Properties") or {}).get("Timeout") or 3) * 1000
        sdk = env(r).get("SDK_OPERATION_TIMEOUT_MS")
        ok = sdk is not None and 0 < int(sdk) < timeout_ms
        report.check(ok, f"{lid}: SDK_OPERATION_TIMEOUT_MS below its Timeout", f"{sdk} ms vs {timeout_ms} ms")

    worker = next((f for f in spec["functions"] if f["logicalId"] == "AutoStartWorkerFunction"), None)
    queue = next((q for q in spec["queues"] if q["logicalId"] == "AutoStartQueue"), None)
    if not worker or not queue or not queue.get("deadLetter"):
        report.check(False, "auto-start retry budget", "no AutoStartWorkerFunction / AutoStartQueue with a DLQ")
        return
    e = env(fns.get(worker["logicalId"], {}))
    base, cap = float(e.get("AUTOSTART_BACKOFF_BASE_SECONDS", 0)), float(e.get("AUTOSTART_BACKOFF_CAP_SECONDS", 0))
    lo, hi = retry_budget(base, cap, queue["deadLetter"]["maxReceiveCount"])
    detail = f"base {base:g} s, cap {cap:g} s, maxReceiveCount {queue['deadLetter']['maxReceiveCount']}: {lo:g}-{hi:g} s"
    report.check(lo >= MIN_OUTAGE_SECONDS, f"auto-start retry budget rides out {MIN_OUTAGE_SECONDS} s", detail)
    for lid, r in sorted(fns.items()):
        stale = env(r).get("STALE_QUEUED_SECONDS")
        if stale is not None:
            report.check(float(stale) > hi, f"{lid}: STALE_QUEUED_SECONDS beyond the longest retry budget", f"{stale} s vs {hi:g} s")


def run(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    check_visibility(report, template, spec)
    check_env(report, template, spec)
    check_time_budgets(report, template, spec)
