#!/usr/bin/env python3
"""Check infra/template.yaml: cfn-lint, then agreement with infra/resources.json.

Run from the repository root with the project venv:

    .venv/bin/python scripts/check_template.py              # lint + drift checks
    .venv/bin/python scripts/check_template.py --self-test  # prove the checks catch drift

Checks (one output line each, PASS or FAIL):
  * cfn-lint reports no error (warnings are printed and allowed);
  * every crate directory under functions/ (one with a Cargo.toml) has exactly one
    AWS::Serverless::Function whose Metadata.BuildProperties.Binary is the directory
    name and whose logical id is the one resources.json gives, and no template
    function lacks a directory; every resources.json function is in the template;
  * every resources.json table exists with the same name suffix, key schema,
    attribute types, GSIs, stream view type and TTL attribute, on demand;
  * every queue exists with the same VisibilityTimeout, and its dead-letter queue
    with the same maxReceiveCount (queues without one have no RedrivePolicy); a queue a
    function reads itself ("consumes") stays hidden longer than that function may run;
  * every SQS / DynamoDB-stream trigger of resources.json exists with the same
    source, BatchSize, MaximumBatchingWindowInSeconds, MaximumRetryAttempts and
    ReportBatchItemFailures, and the template has no other such trigger;
  * HTTP, WebSocket route and WebSocket authorizer triggers point at the right function
    (schedule triggers: scripts/template_rules.py);
  * every function's environment (Globals merged) has every `env` name of resources.json,
    and AUTOSTART_MAX_RECEIVE_COUNT, where set, equals the auto-start queue's maxReceiveCount;
  * the rules of scripts/template_rules.py: least privilege (no SAM SQS/stream events, inline
    grants only, none on "*", each consumer granted exactly its own queue/stream), durability of
    the "retain" tables, concurrency, schedules, SDK time-outs and the auto-start retry budget.

Helpers shared with template_rules.py live in scripts/cfn_model.py.

The last line is exactly "N passed, M failed"; the exit status is 1 when M > 0.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable

from cfn_model import (
    FUNCTION_TYPE,
    NAME_PREFIX,
    RESOURCES,
    TEMPLATE,
    Report,
    expected_keys,
    function_dirs,
    getatt,
    key_schema,
    load_template,
    mentions,
    merged_resources,
    ref_target,
    sub_string,
)
import template_rules


def check_cfn_lint(report: Report, path: Path) -> None:
    from cfnlint.api import lint_file

    matches = lint_file(path)
    errors = [m for m in matches if m.rule.id.startswith("E")]
    others = [m for m in matches if not m.rule.id.startswith("E")]
    for m in errors + others:
        print(f"  cfn-lint {m.rule.id} {m.message} ({m.filename}:{m.linenumber})")
    report.check(
        not errors,
        "cfn-lint",
        f"{len(errors)} error(s), {len(others)} warning(s)/info",
    )


def check_functions(report: Report, template: dict[str, Any], spec: dict[str, Any], dirs: list[str]) -> None:
    resources = template.get("Resources", {})
    functions = {lid: r for lid, r in resources.items() if r.get("Type") == FUNCTION_TYPE}
    by_binary: dict[str, list[str]] = {}
    for lid, r in functions.items():
        binary = ((r.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        by_binary.setdefault(str(binary), []).append(lid)
    spec_by_dir = {f["dir"]: f for f in spec["functions"]}

    for d in dirs:
        lids = by_binary.get(d, [])
        want = spec_by_dir.get(d, {}).get("logicalId")
        ok = len(lids) == 1 and want is not None and lids[0] == want
        detail = f"template {lids or 'none'}, resources.json {want or 'no entry'}"
        report.check(ok, f"function dir functions/{d} -> one template function", detail)

    for lid, r in sorted(functions.items()):
        binary = ((r.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        build_ok = (r.get("Metadata") or {}).get("BuildMethod") == "rust-cargolambda"
        report.check(
            binary in dirs and build_ok,
            f"template function {lid} has a crate dir",
            f"Binary={binary!r}, BuildMethod rust-cargolambda={build_ok}",
        )

    for f in spec["functions"]:
        lids = by_binary.get(f["dir"], [])
        report.check(
            lids == [f["logicalId"]],
            f"resources.json function {f['dir']} in template as {f['logicalId']}",
            f"found {lids or 'none'}",
        )

    # Timeouts: the local stack enforces resources.json's; a queue must stay hidden at least six
    # times as long as its consumer may run (AWS's advice for SQS event sources).
    merged = merged_resources(template)
    queues = {q["logicalId"]: q for q in spec["queues"]}
    for dl in [q["deadLetter"] for q in spec["queues"] if q.get("deadLetter")]:
        queues.setdefault(dl["logicalId"], {"visibilityTimeoutSeconds": None})
    for f in spec["functions"]:
        props = (merged.get(f["logicalId"]) or {}).get("Properties") or {}
        timeout = props.get("Timeout")
        report.check(
            timeout == f.get("timeoutSeconds"),
            f"function {f['logicalId']} Timeout = resources.json timeoutSeconds",
            f"template {timeout}, resources.json {f.get('timeoutSeconds')}",
        )
        vis = (queues.get(f.get("source") or "") or {}).get("visibilityTimeoutSeconds")
        if f.get("trigger") == "sqs" and vis is not None and timeout is not None:
            report.check(vis >= 6 * timeout, f"queue {f['source']} visibility >= 6 x {f['logicalId']} Timeout", f"{vis} < 6 x {timeout}")
        # A queue a function reads itself (the sweeper) must keep a received message hidden
        # longer than that function may run, or the next run gets it again mid-work.
        for q in f.get("consumes") or []:
            vis = (queues.get(q) or {}).get("visibilityTimeoutSeconds")
            ok = vis is not None and timeout is not None and vis > timeout
            report.check(ok, f"queue {q} visibility > {f['logicalId']} Timeout", f"{vis} vs {timeout}")


def check_tables(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    resources = template.get("Resources", {})
    for t in spec["tables"]:
        lid = t["logicalId"]
        r = resources.get(lid)
        name = f"table {lid}"
        if not r or r.get("Type") != "AWS::DynamoDB::Table":
            report.check(False, name, "missing")
            continue
        p = r.get("Properties", {})
        problems: list[str] = []
        suffix = t["name"][len(NAME_PREFIX):] if t["name"].startswith(NAME_PREFIX) else t["name"]
        if sub_string(p.get("TableName")) != "${AWS::StackName}-" + suffix:
            problems.append(f"TableName {p.get('TableName')!r} is not ${{AWS::StackName}}-{suffix}")
        if p.get("BillingMode") != "PAY_PER_REQUEST":
            problems.append("not PAY_PER_REQUEST")
        if key_schema(p) != expected_keys(t):
            problems.append(f"keys {key_schema(p)} != {expected_keys(t)}")
        attrs = {a.get("AttributeName"): a.get("AttributeType") for a in p.get("AttributeDefinitions", [])}
        want_attrs = {t["hashKey"]["name"]: t["hashKey"]["type"]}
        if t.get("rangeKey"):
            want_attrs[t["rangeKey"]["name"]] = t["rangeKey"]["type"]
        for g in t.get("gsis", []):
            want_attrs[g["hashKey"]["name"]] = g["hashKey"]["type"]
            if g.get("rangeKey"):
                want_attrs[g["rangeKey"]["name"]] = g["rangeKey"]["type"]
        if attrs != want_attrs:
            problems.append(f"attributes {attrs} != {want_attrs}")
        gsis = {g.get("IndexName"): g for g in p.get("GlobalSecondaryIndexes", [])}
        want_gsis = {g["name"]: g for g in t.get("gsis", [])}
        if set(gsis) != set(want_gsis):
            problems.append(f"GSIs {sorted(gsis)} != {sorted(want_gsis)}")
        for gname, g in want_gsis.items():
            tg = gsis.get(gname)
            if not tg:
                continue
            if key_schema(tg) != expected_keys(g):
                problems.append(f"GSI {gname} keys {key_schema(tg)} != {expected_keys(g)}")
            proj = (tg.get("Projection") or {}).get("ProjectionType")
            if proj != g.get("projection", "ALL"):
                problems.append(f"GSI {gname} projection {proj} != {g.get('projection')}")
        stream = (p.get("StreamSpecification") or {}).get("StreamViewType")
        if stream != t.get("stream"):
            problems.append(f"stream {stream} != {t.get('stream')}")
        ttl = p.get("TimeToLiveSpecification")
        ttl_attr = ttl.get("AttributeName") if ttl and ttl.get("Enabled") is True else None
        if ttl_attr != t.get("ttlAttribute"):
            problems.append(f"TTL attribute {ttl_attr} != {t.get('ttlAttribute')}")
        report.check(not problems, name, "; ".join(problems))


def check_queues(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    resources = template.get("Resources", {})

    def queue_name_ok(props: dict[str, Any], name: str) -> bool:
        suffix = name[len(NAME_PREFIX):] if name.startswith(NAME_PREFIX) else name
        return sub_string(props.get("QueueName")) == "${AWS::StackName}-" + suffix

    for q in spec["queues"]:
        lid = q["logicalId"]
        r = resources.get(lid)
        if not r or r.get("Type") != "AWS::SQS::Queue":
            report.check(False, f"queue {lid}", "missing")
            continue
        p = r.get("Properties", {})
        problems = []
        if not queue_name_ok(p, q["name"]):
            problems.append(f"QueueName {p.get('QueueName')!r}")
        if p.get("VisibilityTimeout") != q["visibilityTimeoutSeconds"]:
            problems.append(f"VisibilityTimeout {p.get('VisibilityTimeout')} != {q['visibilityTimeoutSeconds']}")
        if p.get("SqsManagedSseEnabled") is not True:
            problems.append("SqsManagedSseEnabled is not true")
        dl = q.get("deadLetter")
        redrive = p.get("RedrivePolicy")
        if not dl and redrive:
            problems.append("has a RedrivePolicy but resources.json gives no dead-letter queue")
        report.check(not problems, f"queue {lid} (VisibilityTimeout {q['visibilityTimeoutSeconds']})", "; ".join(problems))
        if not dl:
            continue
        problems = []
        dr = resources.get(dl["logicalId"])
        if not dr or dr.get("Type") != "AWS::SQS::Queue":
            problems.append(f"dead-letter queue {dl['logicalId']} missing")
        else:
            dp = dr.get("Properties", {})
            if not queue_name_ok(dp, dl["name"]):
                problems.append(f"DLQ QueueName {dp.get('QueueName')!r}")
            if dp.get("SqsManagedSseEnabled") is not True:
                problems.append("DLQ SqsManagedSseEnabled is not true")
        if not isinstance(redrive, dict):
            problems.append("no RedrivePolicy")
        else:
            if getatt(redrive.get("deadLetterTargetArn")) != (dl["logicalId"], "Arn"):
                problems.append(f"deadLetterTargetArn {redrive.get('deadLetterTargetArn')}")
            if redrive.get("maxReceiveCount") != dl["maxReceiveCount"]:
                problems.append(f"maxReceiveCount {redrive.get('maxReceiveCount')} != {dl['maxReceiveCount']}")
        report.check(
            not problems,
            f"queue {lid} -> DLQ {dl['logicalId']} (maxReceiveCount {dl['maxReceiveCount']})",
            "; ".join(problems),
        )


def template_mappings(template: dict[str, Any]) -> list[dict[str, Any]]:
    """SQS / DynamoDB-stream triggers: SAM events and plain EventSourceMappings, normalised."""
    resources = template.get("Resources", {})
    out: list[dict[str, Any]] = []
    for lid, r in resources.items():
        p = r.get("Properties") or {}
        if r.get("Type") == FUNCTION_TYPE:
            for ename, e in (p.get("Events") or {}).items():
                etype = e.get("Type")
                ep = e.get("Properties") or {}
                if etype == "SQS":
                    src, attr = getatt(ep.get("Queue")) or (None, None)
                    out.append({"function": lid, "kind": "sqs", "source": src, "attr": attr, "props": ep, "where": f"{lid}.Events.{ename}"})
                elif etype in ("DynamoDB", "Kinesis"):
                    src, attr = getatt(ep.get("Stream")) or (None, None)
                    out.append({"function": lid, "kind": "stream", "source": src, "attr": attr, "props": ep, "where": f"{lid}.Events.{ename}"})
        elif r.get("Type") == "AWS::Lambda::EventSourceMapping":
            src, attr = getatt(p.get("EventSourceArn")) or (None, None)
            kind = "stream" if attr == "StreamArn" else "sqs"
            out.append({"function": ref_target(p.get("FunctionName")), "kind": kind, "source": src, "attr": attr, "props": p, "where": lid})
    return out


def check_mappings(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    mappings = template_mappings(template)
    expected = [f for f in spec["functions"] if f["trigger"] in ("sqs", "stream")]
    seen: set[int] = set()
    for f in expected:
        lid = f["logicalId"]
        cands = [i for i, m in enumerate(mappings) if m["function"] == lid and m["kind"] == f["trigger"] and m["source"] == f["source"]]
        name = f"{f['trigger']} mapping {f['source']} -> {lid}"
        if len(cands) != 1:
            report.check(False, name, f"{len(cands)} matching trigger(s) in the template")
            continue
        seen.add(cands[0])
        m = mappings[cands[0]]
        p = m["props"]
        problems = []
        want_attr = "Arn" if f["trigger"] == "sqs" else "StreamArn"
        if m["attr"] != want_attr:
            problems.append(f"source attribute {m['attr']} != {want_attr}")
        if p.get("BatchSize") != f.get("batchSize"):
            problems.append(f"BatchSize {p.get('BatchSize')} != {f.get('batchSize')}")
        window = p.get("MaximumBatchingWindowInSeconds", 0)
        if window != f.get("maximumBatchingWindowSeconds", 0):
            problems.append(f"MaximumBatchingWindowInSeconds {window} != {f.get('maximumBatchingWindowSeconds', 0)}")
        if p.get("MaximumRetryAttempts") != f.get("maximumRetryAttempts"):
            problems.append(f"MaximumRetryAttempts {p.get('MaximumRetryAttempts')} != {f.get('maximumRetryAttempts')}")
        if "ReportBatchItemFailures" not in (p.get("FunctionResponseTypes") or []):
            problems.append("no ReportBatchItemFailures")
        if f["trigger"] == "stream":
            if p.get("BisectBatchOnFunctionError") is not True:
                problems.append("BisectBatchOnFunctionError is not true")
            if not ((p.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"):
                problems.append("no OnFailure destination")
        report.check(not problems, name, "; ".join(problems))
    extra = [m["where"] for i, m in enumerate(mappings) if i not in seen]
    report.check(not extra, "no SQS/stream trigger outside resources.json", ", ".join(extra))


def check_api_triggers(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    resources = template.get("Resources", {})
    integrations = {lid: r for lid, r in resources.items() if r.get("Type") == "AWS::ApiGatewayV2::Integration"}
    routes = [r.get("Properties", {}) for r in resources.values() if r.get("Type") == "AWS::ApiGatewayV2::Route"]

    def route_function(route: dict[str, Any]) -> str | None:
        target = route.get("Target")
        s = sub_string(target)
        integ = None
        if s:
            mt = re.fullmatch(r"integrations/\$\{(\w+)\}", s)
            integ = mt.group(1) if mt else None
        elif isinstance(target, dict) and "Fn::Join" in target:
            parts = target["Fn::Join"][1]
            integ = next((ref_target(x) for x in parts if ref_target(x)), None)
        ir = integrations.get(integ or "")
        if not ir:
            return None
        for lid in resources:
            if resources[lid].get("Type") == FUNCTION_TYPE and mentions(ir.get("Properties", {}).get("IntegrationUri"), lid):
                return lid
        return None

    for f in spec["functions"]:
        lid = f["logicalId"]
        trig = f["trigger"]
        fn = resources.get(lid, {})
        if trig == "http":
            events = (fn.get("Properties") or {}).get("Events") or {}
            http = [e for e in events.values() if e.get("Type") == "HttpApi"]
            report.check(bool(http), f"http trigger -> {lid}", f"{len(http)} HttpApi event(s)")
        elif trig == "ws":
            want = f.get("routes") or [f["route"]]
            got = sorted(r.get("RouteKey") for r in routes if route_function(r) == lid)
            report.check(sorted(want) == got, f"ws routes {want} -> {lid}", f"template {got}")
        elif trig == "ws-authorizer":
            auths = [
                r for r in resources.values()
                if r.get("Type") == "AWS::ApiGatewayV2::Authorizer"
                and mentions(r.get("Properties", {}).get("AuthorizerUri"), lid)
            ]
            connect = [r for r in routes if r.get("RouteKey") == "$connect" and r.get("AuthorizationType") == "CUSTOM"]
            report.check(len(auths) == 1 and len(connect) == 1, f"ws $connect authorizer -> {lid}", f"{len(auths)} authorizer(s), {len(connect)} authorized $connect route(s)")


def check_env(report: Report, template: dict[str, Any], spec: dict[str, Any]) -> None:
    wanted = sorted({x["env"] for x in spec["tables"] + spec["queues"] if x.get("env")})
    # Settings that restate a resources.json value must agree with it.
    autostart = next((q for q in spec["queues"] if q["logicalId"] == "AutoStartQueue"), None)
    pinned = {}
    if autostart and autostart.get("deadLetter"):
        pinned["AUTOSTART_MAX_RECEIVE_COUNT"] = str(autostart["deadLetter"]["maxReceiveCount"])
    for lid, r in sorted(merged_resources(template).items()):
        if r.get("Type") != FUNCTION_TYPE:
            continue
        variables = ((r.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        missing = [v for v in wanted if v not in variables]
        wrong = [f"{k}={variables[k]!r} (want {v!r})" for k, v in pinned.items() if k in variables and str(variables[k]) != v]
        problems = ([f"missing {missing}"] if missing else []) + wrong
        report.check(not problems, f"env of {lid} covers resources.json", "; ".join(problems) or f"{len(wanted)} names")


def run_checks(template: dict[str, Any], spec: dict[str, Any], dirs: list[str], report: Report) -> Report:
    check_functions(report, template, spec, dirs)
    check_tables(report, template, spec)
    check_queues(report, template, spec)
    check_mappings(report, template, spec)
    check_api_triggers(report, template, spec)
    check_env(report, template, spec)
    template_rules.run(report, template, spec)
    return report


# --------------------------------------------------------------------------- self-test


def self_test(template: dict[str, Any], spec: dict[str, Any]) -> Report:
    """Mutate an in-memory copy of the template and assert that the checks notice.

    The crate directories are taken from resources.json here, so the self-test does
    not depend on which crates exist yet."""
    dirs = sorted(f["dir"] for f in spec["functions"])
    outer = Report()

    baseline = run_checks(copy.deepcopy(template), spec, dirs, Report(quiet=True))
    outer.check(baseline.failed == 0, "self-test baseline: unmodified template passes", f"{baseline.failed} failure(s): {baseline.failures}")

    res = lambda t, lid: t["Resources"][lid]  # noqa: E731
    props = lambda t, lid: t["Resources"][lid]["Properties"]  # noqa: E731
    env = lambda t: t["Globals"]["Function"]["Environment"]["Variables"]  # noqa: E731

    def statements(t: dict[str, Any], lid: str) -> list[dict[str, Any]]:
        return props(t, lid)["Policies"][0]["Statement"]

    def drop_statement(lid: str, sid: str) -> Callable[[dict[str, Any]], None]:
        def mutate(t: dict[str, Any]) -> None:
            props(t, lid)["Policies"][0]["Statement"] = [st for st in statements(t, lid) if st.get("Sid") != sid]

        return mutate

    def sam_sqs_event(t: dict[str, Any]) -> None:
        del t["Resources"]["AutoStartQueueMapping"]
        props(t, "AutoStartWorkerFunction")["Events"] = {
            "Queue": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["AutoStartQueue", "Arn"]}, "BatchSize": 10,
                                                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                                                    "ScalingConfig": {"MaximumConcurrency": 10}}}}

    def grant_star(t: dict[str, Any]) -> None:
        statements(t, "ApiFunction").append({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"})

    def managed_policy(t: dict[str, Any]) -> None:
        props(t, "PhaseDlqFunction")["Policies"].append("AWSLambdaSQSQueueExecutionRole")

    def foreign_receive(t: dict[str, Any]) -> None:
        statements(t, "ApiFunction").append(
            {"Effect": "Allow", "Action": ["sqs:ReceiveMessage"], "Resource": {"Fn::GetAtt": ["PhaseWorkQueue", "Arn"]}})

    def set_prop(lid: str, path: list[str], value: Any, top: bool = False) -> Callable[[dict[str, Any]], None]:
        def mutate(t: dict[str, Any]) -> None:
            node = res(t, lid) if top else props(t, lid)
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value

        return mutate

    def del_prop(lid: str, path: list[str]) -> Callable[[dict[str, Any]], None]:
        def mutate(t: dict[str, Any]) -> None:
            node = props(t, lid)
            for key in path[:-1]:
                node = node[key]
            del node[path[-1]]

        return mutate

    def set_env(name: str, value: str) -> Callable[[dict[str, Any]], None]:
        def mutate(t: dict[str, Any]) -> None:
            env(t)[name] = value

        return mutate

    def drop_env(t: dict[str, Any]) -> None:
        del env(t)["DOMAINS_TABLE"]

    def move_ws_route(t: dict[str, Any]) -> None:
        props(t, "WsPingRoute")["Target"] = {"Fn::Sub": "integrations/${WsConnectIntegration}"}

    def remove_function(t: dict[str, Any]) -> None:
        del t["Resources"]["PhaseWorkerFunction"]

    # (what is changed, the mutation, a text that must appear in the name of a failing check)
    mutations: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
        ("remove PhaseWorkerFunction", remove_function, "phase-worker in template"),
        ("AutoStartQueue maxReceiveCount 10 -> 3", set_prop("AutoStartQueue", ["RedrivePolicy", "maxReceiveCount"], 3), "DLQ AutoStartDlq"),
        ("phase-worker BatchSize 1 -> 10", set_prop("PhaseWorkQueueMapping", ["BatchSize"], 10), "sqs mapping PhaseWorkQueue"),
        ("stream-publisher without ReportBatchItemFailures", del_prop("StreamPublisherStreamMapping", ["FunctionResponseTypes"]), "stream mapping CampaignsTable -> StreamPublisher"),
        ("PhaseWorkQueue VisibilityTimeout 360 -> 30", set_prop("PhaseWorkQueue", ["VisibilityTimeout"], 30), "queue PhaseWorkQueue"),
        ("drop DOMAINS_TABLE from Globals", drop_env, "env of"),
        ("AUTOSTART_MAX_RECEIVE_COUNT 10 -> 7", set_env("AUTOSTART_MAX_RECEIVE_COUNT", "7"), "env of"),
        ("byOwner range key -> createdAt", set_prop("CampaignsTable", ["GlobalSecondaryIndexes", 0, "KeySchema", 1, "AttributeName"], "createdAt"), "table CampaignsTable"),  # type: ignore[list-item]
        ("ConnectionsTable without TTL", del_prop("ConnectionsTable", ["TimeToLiveSpecification"]), "table ConnectionsTable"),
        ("ws-connect Binary renamed", set_prop("WsConnectFunction", ["Metadata", "BuildProperties", "Binary"], "ws_connect", top=True), "ws-connect in template"),
        ("ping route -> ws-connect", move_ws_route, "ws routes"),
        ("an SQS trigger as a SAM event", sam_sqs_event, "no SAM SQS/stream event"),
        ("a grant on Resource '*'", grant_star, "ApiFunction grants inline statements only"),
        ("a managed policy in Policies", managed_policy, "PhaseDlqFunction grants inline statements only"),
        ("phase-worker cannot receive from its queue", drop_statement("PhaseWorkerFunction", "ConsumePhaseWorkQueue"), "PhaseWorkerFunction may consume"),
        ("dispatcher cannot read the stream", drop_statement("PhaseDispatcherFunction", "ReadCampaignsStream"), "PhaseDispatcherFunction may consume"),
        ("publisher cannot send to its OnFailure queue", drop_statement("StreamPublisherFunction", "StreamOnFailure"), "StreamPublisherFunction may consume"),
        ("the api may receive phase work", foreign_receive, "only a queue's consumer"),
        ("CampaignsTable without deletion protection", set_prop("CampaignsTable", ["DeletionProtectionEnabled"], False), "CampaignsTable is retained"),
        ("PersonasTable DeletionPolicy Delete", set_prop("PersonasTable", ["DeletionPolicy"], "Delete", top=True), "PersonasTable is retained"),
        ("DomainsTable without point-in-time recovery", del_prop("DomainsTable", ["PointInTimeRecoverySpecification"]), "DomainsTable is retained"),
        ("phase-work MaximumConcurrency 50 -> 100", set_prop("PhaseWorkQueueMapping", ["ScalingConfig", "MaximumConcurrency"], 100), "concurrency of PhaseWorkerFunction"),
        ("auto-start worker reserved 10 -> 5", set_prop("AutoStartWorkerFunction", ["ReservedConcurrentExecutions"], 5), "concurrency of AutoStartWorkerFunction"),
        ("SDK_OPERATION_TIMEOUT_MS 4000 -> 12000", set_env("SDK_OPERATION_TIMEOUT_MS", "12000"), "SDK_OPERATION_TIMEOUT_MS below"),
        ("backoff base 2 s -> 1 s (budget 255-511 s)", set_env("AUTOSTART_BACKOFF_BASE_SECONDS", "1"), "retry budget"),
        ("sweeper every 5 minutes", set_prop("SweeperFunction", ["Events", "EveryMinute", "Properties", "Schedule"], "rate(5 minutes)"), "schedule rate(1 minute)"),
        ("sweeper cannot receive stream failures", drop_statement("SweeperFunction", "ConsumeStreamFailures"), "SweeperFunction may consume"),
        ("sweeper without reserved concurrency", del_prop("SweeperFunction", ["ReservedConcurrentExecutions"]), "concurrency of SweeperFunction"),
        ("STALE_QUEUED_SECONDS 900 -> 600", set_prop("SweeperFunction", ["Environment", "Variables", "STALE_QUEUED_SECONDS"], "600"), "STALE_QUEUED_SECONDS beyond"),
        ("bySweep projected ALL", set_prop("CampaignsTable", ["GlobalSecondaryIndexes", 1, "Projection", "ProjectionType"], "ALL"), "table CampaignsTable"),  # type: ignore[list-item]
    ]
    for label, mutate, expect in mutations:
        t = copy.deepcopy(template)
        mutate(t)
        r = run_checks(t, spec, dirs, Report(quiet=True))
        caught = [name for name in r.failures if expect in name]
        outer.check(bool(caught), f"self-test catches: {label}", f"{r.failed} check(s) failed: {r.failures}")

    # A crate directory the template does not know, and a function without a crate.
    r = run_checks(copy.deepcopy(template), spec, dirs + ["orphan-crate"], Report(quiet=True))
    outer.check(r.failed > 0, "self-test catches: crate dir without template function", f"{r.failures}")
    r = run_checks(copy.deepcopy(template), spec, [d for d in dirs if d != "phase-dlq"], Report(quiet=True))
    outer.check(r.failed > 0, "self-test catches: template function without crate dir", f"{r.failures}")
    return outer


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--self-test", action="store_true", help="mutate the template in memory and check that drift is caught")
    ap.add_argument("--template", type=Path, default=TEMPLATE)
    ap.add_argument("--resources", type=Path, default=RESOURCES)
    args = ap.parse_args()

    spec = json.loads(args.resources.read_text())
    template = load_template(args.template)

    if args.self_test:
        report = self_test(template, spec)
    else:
        report = Report()
        check_cfn_lint(report, args.template)
        run_checks(template, spec, function_dirs(), report)

    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
