"""Rules the template must keep beyond agreeing with infra/resources.json (scripts/check_template.py
runs them and proves in --self-test that each one fails on a violation):

  * least privilege: no SQS / DynamoDB-stream trigger is a SAM `Events` entry (SAM would attach
    AWSLambdaSQSQueueExecutionRole / AWSLambdaDynamoDBExecutionRole, which allow receive/delete
    on every queue and reading every table stream of the account); every function's Policies are
    inline statements only, none on Resource "*"; each mapping's function may consume its own
    source (and send to its OnFailure queue), each "consumes" queue is granted to its function;
  * durability: tables with "retain" have Retain deletion/replacement policies, deletion
    protection and point-in-time recovery;
  * concurrency: ScalingConfig.MaximumConcurrency and ReservedConcurrentExecutions as
    resources.json says, and maximum <= reserved where both are set;
  * schedules: a function with trigger "schedule" has exactly that one schedule event;
  * time budgets: SDK_OPERATION_TIMEOUT_MS below every function's Timeout; the auto-start retry
    budget (backoff base/cap with equal jitter over maxReceiveCount - 1 waits) rides out at least
    MIN_OUTAGE_SECONDS even with the shortest jitter; STALE_QUEUED_SECONDS exceeds its longest case.
"""

from __future__ import annotations

from typing import Any

from cfn_model import (
    FUNCTION_TYPE,
    Report,
    allows,
    as_list,
    fn_if_value,
    function_statements,
    getatt,
    merged_resources,
    ref_target,
    sub_string,
)

MIN_OUTAGE_SECONDS = 300
SQS_CONSUME = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")
SAM_POLLED_EVENTS = ("SQS", "DynamoDB", "Kinesis", "MSK", "MQ", "SelfManagedKafka", "DocumentDB")


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in merged_resources(template).items() if r.get("Type") == FUNCTION_TYPE}


def is_arn_of(logical_id: str):
    return lambda r: getatt(r) == (logical_id, "Arn")


def is_stream_of(table: str):
    def ok(r: Any) -> bool:
        return getatt(r) == (table, "StreamArn") or sub_string(r) == "${" + table + ".Arn}/stream/*"

    return ok


def esm_by_function(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in (template.get("Resources") or {}).values():
        if r.get("Type") == "AWS::Lambda::EventSourceMapping":
            p = r.get("Properties") or {}
            out.setdefault(ref_target(p.get("FunctionName")) or "", []).append(p)
    return out


def check_least_privilege(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    fns = functions(template)
    sam_polled = [
        f"{lid}.Events.{name} ({e.get('Type')})"
        for lid, r in fns.items()
        for name, e in ((r.get("Properties") or {}).get("Events") or {}).items()
        if e.get("Type") in SAM_POLLED_EVENTS
    ]
    report.check(
        not sam_polled,
        "no SAM SQS/stream event (SAM would attach account-wide managed SQS/stream policies)",
        ", ".join(sam_polled),
    )
    for lid, r in sorted(fns.items()):
        statements, others = function_statements(r)
        wide = [
            f"{st.get('Sid') or '?'}: {st.get('Action')}"
            for st in statements
            if any(res == "*" or (isinstance(res, str) and res.endswith(":*")) for res in as_list(st.get("Resource")))
        ]
        problems = ([f"managed/template policies {others}"] if others else []) + ([f"Resource '*' in {wide}"] if wide else [])
        report.check(not problems, f"{lid} grants inline statements only, none on '*'", "; ".join(problems))

    mappings = esm_by_function(template)
    for f in spec["functions"]:
        lid = f["logicalId"]
        statements, _ = function_statements(fns.get(lid, {}))
        missing: list[str] = []
        if f["trigger"] == "sqs":
            missing += [f"{a} on {f['source']}" for a in SQS_CONSUME if not allows(statements, a, is_arn_of(f["source"]))]
        elif f["trigger"] == "stream":
            missing += [f"{a} on {f['source']} stream" for a in STREAM_READ if not allows(statements, a, is_stream_of(f["source"]))]
            for m in mappings.get(lid, []):
                dest = getatt((((m.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")))
                if dest and not allows(statements, "sqs:SendMessage", is_arn_of(dest[0])):
                    missing.append(f"sqs:SendMessage on OnFailure {dest[0]}")
        for q in f.get("consumes") or []:
            missing += [f"{a} on {q}" for a in ("sqs:ReceiveMessage", "sqs:DeleteMessage") if not allows(statements, a, is_arn_of(q))]
        if f["trigger"] in ("sqs", "stream") or f.get("consumes"):
            report.check(not missing, f"{lid} may consume exactly what it reads", "missing " + ", ".join(missing) if missing else "")
    # Nobody else may receive or delete on a queue (producers only send).
    consumers: dict[str, set[str]] = {}
    for f in spec["functions"]:
        for q in ([f["source"]] if f["trigger"] == "sqs" else []) + list(f.get("consumes") or []):
            consumers.setdefault(q, set()).add(f["logicalId"])
    queues = [q["logicalId"] for q in spec["queues"]] + [q["deadLetter"]["logicalId"] for q in spec["queues"] if q.get("deadLetter")]
    extra = []
    for lid, r in sorted(fns.items()):
        statements, _ = function_statements(r)
        for q in queues:
            if lid not in consumers.get(q, set()) and allows(statements, "sqs:ReceiveMessage", is_arn_of(q)):
                extra.append(f"{lid} on {q}")
    report.check(not extra, "only a queue's consumer may receive from it", ", ".join(extra))


def check_durability(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    resources = template.get("Resources") or {}
    for t in spec["tables"]:
        if not t.get("retain"):
            continue
        r = resources.get(t["logicalId"]) or {}
        p = r.get("Properties") or {}
        problems = []
        for attr in ("DeletionPolicy", "UpdateReplacePolicy"):
            if r.get(attr) != "Retain":
                problems.append(f"{attr} {r.get(attr)}")
        if p.get("DeletionProtectionEnabled") is not True:
            problems.append("no DeletionProtectionEnabled")
        if (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is not True:
            problems.append("no point-in-time recovery")
        report.check(not problems, f"table {t['logicalId']} is retained, protected and backed up", "; ".join(problems))


def check_concurrency(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    fns = functions(template)
    mappings = esm_by_function(template)
    for f in spec["functions"]:
        lid = f["logicalId"]
        reserved = fn_if_value((fns.get(lid, {}).get("Properties") or {}).get("ReservedConcurrentExecutions"))
        problems = []
        if reserved != f.get("reservedConcurrency"):
            problems.append(f"ReservedConcurrentExecutions {reserved} != {f.get('reservedConcurrency')}")
        if f["trigger"] == "sqs":
            maxima = [(m.get("ScalingConfig") or {}).get("MaximumConcurrency") for m in mappings.get(lid, [])]
            if maxima != [f.get("maximumConcurrency")]:
                problems.append(f"MaximumConcurrency {maxima} != [{f.get('maximumConcurrency')}]")
            elif reserved is not None and maxima[0] is not None and maxima[0] > reserved:
                problems.append(f"MaximumConcurrency {maxima[0]} > reserved {reserved} (throttles burn receives)")
        if reserved is not None or f.get("maximumConcurrency") is not None or f.get("reservedConcurrency") is not None:
            report.check(not problems, f"concurrency of {lid}", "; ".join(problems) or f"reserved {reserved}, maximum {f.get('maximumConcurrency')}")


def check_schedules(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    fns = functions(template)
    for f in spec["functions"]:
        if f["trigger"] != "schedule":
            continue
        events = ((fns.get(f["logicalId"], {}).get("Properties") or {}).get("Events") or {}).values()
        got = [(e.get("Properties") or {}).get("Schedule") or (e.get("Properties") or {}).get("ScheduleExpression")
               for e in events if e.get("Type") in ("Schedule", "ScheduleV2")]
        report.check(got == [f["schedule"]], f"schedule {f['schedule']} -> {f['logicalId']}", f"template {got}")


def retry_budget(base: float, cap: float, max_receive_count: int) -> tuple[float, float]:
    """(shortest, longest) total wait before the DLQ: the waits after receives 1 .. N-1, each
    between half and all of min(cap, base * 2^(n-1)) ("equal jitter")."""
    ceilings = [min(cap, base * 2 ** (n - 1)) for n in range(1, max_receive_count)]
    return sum(ceilings) / 2, float(sum(ceilings))


def check_time_budgets(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    fns = functions(template)

    def env(r: dict[str, Any]) -> dict[str, Any]:
        return ((r.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}

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
    check_least_privilege(report, template, spec)
    check_durability(report, template, spec)
    check_concurrency(report, template, spec)
    check_schedules(report, template, spec)
    check_time_budgets(report, template, spec)
