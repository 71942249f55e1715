"""Rules infra/template.yaml must keep (scripts/check_template.py runs them; its --self-test proves
that each one fails on a violation). `spec` is what scripts/gen_resources.py derives from the same
template, used here as a convenient view of it: these rules judge the design, they never compare
two hand-written sources.

  * crates: every crate under functions/ is exactly one template function (Binary = its directory,
    BuildMethod rust-cargolambda) and every template function has a crate;
  * least privilege: no SQS / DynamoDB-stream trigger is a SAM `Events` entry (SAM would attach
    AWSLambdaSQSQueueExecutionRole / AWSLambdaDynamoDBExecutionRole, which allow receive/delete
    on every queue and reading every table stream of the account); every function's Policies are
    inline statements only, none on Resource "*"; each mapping's function may consume its own
    source (and send to its OnFailure queue), a scheduled function may receive and delete on the
    queues it reads; every queue has exactly one consumer and nobody else may receive from it;
  * storage: tables on demand (the local stack creates them so), queues encrypted at rest;
    retention all or nothing: Retain deletion/replacement policies, deletion protection and
    point-in-time recovery together (user data) or none of them (caches);
  * mappings: every SQS/stream mapping reports batch item failures (the handlers answer with them);
    stream mappings bisect failed batches and send what still fails to a queue a scheduled
    function drains;
  * concurrency: every SQS mapping is capped by ScalingConfig.MaximumConcurrency, at most the
    function's reserved concurrency where both are set; reservations only through the
    ReserveConcurrency condition; a scheduled function runs one at a time (reserved 1).
Time budgets and the environment: scripts/template_budgets.py.
"""

from __future__ import annotations

from typing import Any

from cfn_model import (
    FUNCTION_TYPE,
    Report,
    allows,
    as_list,
    function_statements,
    getatt,
    merged_resources,
    ref_target,
    sub_string,
)
import template_budgets

SQS_CONSUME = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")
SAM_POLLED_EVENTS = ("SQS", "DynamoDB", "Kinesis", "MSK", "MQ", "SelfManagedKafka", "DocumentDB")


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in merged_resources(template).items() if r.get("Type") == FUNCTION_TYPE}


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in (template.get("Resources") or {}).items() if r.get("Type") == kind}


def is_arn_of(logical_id: str):
    return lambda r: getatt(r) == (logical_id, "Arn")


def is_stream_of(table: str):
    def ok(r: Any) -> bool:
        return getatt(r) == (table, "StreamArn") or sub_string(r) == "${" + table + ".Arn}/stream/*"

    return ok


def esm_by_function(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in of_type(template, "AWS::Lambda::EventSourceMapping").values():
        p = r.get("Properties") or {}
        out.setdefault(ref_target(p.get("FunctionName")) or "", []).append(p)
    return out


def on_failure(mapping: dict[str, Any]) -> tuple[str, str] | None:
    return getatt(((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"))


def consumers(spec: dict[str, Any]) -> dict[str, set[str]]:
    """Queue -> the functions that read it: its mapping's function, or a scheduled reader."""
    out: dict[str, set[str]] = {}
    for f in spec["functions"]:
        for q in ([f["source"]] if f["trigger"] == "sqs" else []) + list(f.get("consumes") or []):
            out.setdefault(q, set()).add(f["logicalId"])
    return out


def check_crates(report: Report, template: dict[str, Any], dirs: list[str]) -> None:
    fns = of_type(template, FUNCTION_TYPE)
    by_binary: dict[str, list[str]] = {}
    for lid, r in fns.items():
        by_binary.setdefault(str(((r.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")), []).append(lid)
    for d in dirs:
        lids = by_binary.get(d, [])
        report.check(len(lids) == 1, f"functions/{d} is one template function", f"template {lids or 'none'}")
    for lid, r in sorted(fns.items()):
        binary = ((r.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        build_ok = (r.get("Metadata") or {}).get("BuildMethod") == "rust-cargolambda"
        report.check(binary in dirs and build_ok, f"template function {lid} has a crate dir",
                     f"Binary={binary!r}, BuildMethod rust-cargolambda={build_ok}")


def check_grants(report: Report, template: dict[str, Any]) -> None:
    fns = functions(template)
    sam_polled = [
        f"{lid}.Events.{name} ({e.get('Type')})"
        for lid, r in fns.items()
        for name, e in ((r.get("Properties") or {}).get("Events") or {}).items()
        if e.get("Type") in SAM_POLLED_EVENTS
    ]
    report.check(not sam_polled, "no SAM SQS/stream event (SAM would attach account-wide managed SQS/stream policies)",
                 ", ".join(sam_polled))
    for lid, r in sorted(fns.items()):
        statements, others = function_statements(r)
        wide = [
            f"{st.get('Sid') or '?'}: {st.get('Action')}"
            for st in statements
            if any(res == "*" or (isinstance(res, str) and res.endswith(":*")) for res in as_list(st.get("Resource")))
        ]
        problems = ([f"managed/template policies {others}"] if others else []) + ([f"Resource '*' in {wide}"] if wide else [])
        report.check(not problems, f"{lid} grants inline statements only, none on '*'", "; ".join(problems))


def check_consumers(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    fns = functions(template)
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
                dest = on_failure(m)
                if dest and not allows(statements, "sqs:SendMessage", is_arn_of(dest[0])):
                    missing.append(f"sqs:SendMessage on OnFailure {dest[0]}")
        for q in f.get("consumes") or []:
            missing += [f"{a} on {q}" for a in ("sqs:ReceiveMessage", "sqs:DeleteMessage") if not allows(statements, a, is_arn_of(q))]
        if f["trigger"] in ("sqs", "stream") or f.get("consumes"):
            report.check(not missing, f"{lid} may consume exactly what it reads", "missing " + ", ".join(missing) if missing else "")

    readers = consumers(spec)
    queues = list(of_type(template, "AWS::SQS::Queue"))
    for q in queues:
        got = sorted(readers.get(q, set()))
        report.check(len(got) == 1, f"queue {q} has exactly one consumer (a mapping or a scheduled reader)", f"{got}")
    extra = []
    for lid, r in sorted(fns.items()):
        statements, _ = function_statements(r)
        extra += [f"{lid} on {q}" for q in queues
                  if lid not in readers.get(q, set()) and allows(statements, "sqs:ReceiveMessage", is_arn_of(q))]
    report.check(not extra, "only a queue's consumer may receive from it", ", ".join(extra))


def check_storage(report: Report, template: dict[str, Any]) -> None:
    for lid, r in of_type(template, "AWS::DynamoDB::Table").items():
        p = r.get("Properties") or {}
        report.check(p.get("BillingMode") == "PAY_PER_REQUEST", f"table {lid} is on demand", f"BillingMode {p.get('BillingMode')}")
        guards = {
            "DeletionPolicy Retain": r.get("DeletionPolicy") == "Retain",
            "UpdateReplacePolicy Retain": r.get("UpdateReplacePolicy") == "Retain",
            "deletion protection": p.get("DeletionProtectionEnabled") is True,
            "point-in-time recovery": (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is True,
        }
        have = [g for g, ok in guards.items() if ok]
        report.check(len(have) in (0, len(guards)), f"table {lid} retention is all or nothing (Retain policies, protection, backups)",
                     f"has {have}, lacks {[g for g, ok in guards.items() if not ok]}")
    for lid, r in of_type(template, "AWS::SQS::Queue").items():
        sse = (r.get("Properties") or {}).get("SqsManagedSseEnabled")
        report.check(sse is True, f"queue {lid} is encrypted at rest (SqsManagedSseEnabled)", f"{sse}")


def check_mappings(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    drained = {q for f in spec["functions"] if f["trigger"] == "schedule" for q in f.get("consumes") or []}
    for lid, r in sorted(of_type(template, "AWS::Lambda::EventSourceMapping").items()):
        p = r.get("Properties") or {}
        problems = []
        if "ReportBatchItemFailures" not in (p.get("FunctionResponseTypes") or []):
            problems.append("no ReportBatchItemFailures")
        if (getatt(p.get("EventSourceArn")) or ("", ""))[1] == "StreamArn":
            if p.get("BisectBatchOnFunctionError") is not True:
                problems.append("BisectBatchOnFunctionError is not true")
            dest = on_failure(p)
            if not dest or dest[1] != "Arn" or dest[0] not in drained:
                problems.append(f"OnFailure destination {dest} is not a queue a scheduled function drains ({sorted(drained)})")
        report.check(not problems, f"mapping {lid} reports batch item failures (stream: bisects, failures drained)", "; ".join(problems))


def check_concurrency(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    fns = functions(template)
    for f in spec["functions"]:
        lid = f["logicalId"]
        raw = (fns.get(lid, {}).get("Properties") or {}).get("ReservedConcurrentExecutions")
        reserved, maximum = f.get("reservedConcurrency"), f.get("maximumConcurrency")
        problems = []
        if raw is not None and (not isinstance(raw, dict) or (raw.get("Fn::If") or [None])[0] != "ReserveConcurrency"):
            problems.append(f"ReservedConcurrentExecutions {raw} is not !If [ReserveConcurrency, n, !Ref AWS::NoValue]")
        if f["trigger"] == "sqs" and maximum is None:
            problems.append("no ScalingConfig.MaximumConcurrency on its mapping")
        if reserved is not None and maximum is not None and maximum > reserved:
            problems.append(f"MaximumConcurrency {maximum} > reserved {reserved} (throttles burn receives)")
        if f["trigger"] == "schedule" and reserved != 1:
            problems.append(f"a scheduled function runs one at a time: reserved {reserved}, want 1")
        if raw is not None or f["trigger"] in ("sqs", "schedule"):
            report.check(not problems, f"concurrency of {lid}", "; ".join(problems) or f"reserved {reserved}, maximum {maximum}")


def run_on_template(report: Report, template: dict[str, Any], dirs: list[str]) -> None:
    """The rules that need nothing derived (they run even when the generator refuses the template)."""
    check_crates(report, template, dirs)
    check_grants(report, template)
    check_storage(report, template)


def run_on_spec(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    check_consumers(report, template, spec)
    check_mappings(report, template, spec)
    check_concurrency(report, template, spec)
    template_budgets.run(report, template, spec)
