#!/usr/bin/env python3
"""Check infra/template.yaml: cfn-lint, infra/resources.json generated from it, and the design rules.

Run from the repository root with the project venv:

    .venv/bin/python scripts/check_template.py              # the checks
    .venv/bin/python scripts/check_template.py --self-test  # prove that each check fails on a violation

The template is the one source of tables, queues and event-source mappings (decision 40):
infra/resources.json, which the local stack reads, is generated from it by scripts/gen_resources.py
(`make resources`). Checks (one output line each, PASS or FAIL):
  * cfn-lint reports no error (warnings are printed and allowed);
  * the committed infra/resources.json is byte for byte what gen_resources.py makes of the template
    (otherwise the diff is printed with the command that regenerates it);
  * the rules of scripts/template_rules.py and scripts/template_budgets.py: crates, least
    privilege, storage and retention, mappings, concurrency, visibility vs timeouts, time budgets
    and the functions' environment.

Helpers shared by these scripts live in scripts/cfn_model.py.
The last line is exactly "N passed, M failed"; the exit status is 1 when M > 0.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any, Callable

from cfn_model import RESOURCES, TEMPLATE, Report, function_dirs, load_template
import gen_resources
import template_rules

FRESH = "infra/resources.json is what scripts/gen_resources.py makes of the template"


def check_cfn_lint(report: Report, path: Path) -> None:
    from cfnlint.api import lint_file

    matches = lint_file(path)
    errors = [m for m in matches if m.rule.id.startswith("E")]
    others = [m for m in matches if not m.rule.id.startswith("E")]
    for m in errors + others:
        print(f"  cfn-lint {m.rule.id} {m.message} ({m.filename}:{m.linenumber})")
    report.check(not errors, "cfn-lint", f"{len(errors)} error(s), {len(others)} warning(s)/info")


def run_checks(template: dict[str, Any], committed: str, dirs: list[str], report: Report) -> Report:
    """Everything but cfn-lint: `committed` is the text of infra/resources.json."""
    template_rules.run_on_template(report, template, dirs)
    try:
        spec = gen_resources.derive(template)
    except gen_resources.TemplateError as e:
        report.check(False, FRESH, f"the generator refuses the template: {e}")
        return report
    generated = gen_resources.render(spec)
    if generated != committed and not report.quiet:
        print(gen_resources.diff(committed, generated), end="")
    report.check(generated == committed, FRESH,
                 "" if generated == committed else "regenerate it: make resources (.venv/bin/python scripts/gen_resources.py)")
    template_rules.run_on_spec(report, template, spec)
    return report


# --------------------------------------------------------------------------- self-test


def self_test(template: dict[str, Any], committed: str) -> Report:
    """Mutate in-memory copies of the template (and of resources.json) and assert that the checks
    notice. The crate directories are the template's, so the self-test does not depend on which
    crates exist."""
    dirs = sorted(f["dir"] for f in json.loads(committed)["functions"])
    outer = Report()

    baseline = run_checks(copy.deepcopy(template), committed, dirs, Report(quiet=True))
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

    def second_trigger(t: dict[str, Any]) -> None:
        props(t, "AutoStartWorkerFunction")["Events"] = {
            "Get": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "HttpApi"}, "Method": "GET", "Path": "/x"}}}

    def set_prop(lid: str, path: list[Any], value: Any, top: bool = False) -> Callable[[dict[str, Any]], None]:
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
        # Whatever resources.json holds: a change the committed file does not have yet.
        ("AutoStartQueue maxReceiveCount 10 -> 3", set_prop("AutoStartQueue", ["RedrivePolicy", "maxReceiveCount"], 3), FRESH),
        ("phase-worker BatchSize 1 -> 10", set_prop("PhaseWorkQueueMapping", ["BatchSize"], 10), FRESH),
        ("publisher's on-failure destination -> the auto-start DLQ",
         set_prop("StreamPublisherStreamMapping", ["DestinationConfig", "OnFailure", "Destination"],
                  {"Fn::GetAtt": ["AutoStartDlq", "Arn"]}), FRESH),
        ("dispatcher's on-failure destination -> a table",
         set_prop("PhaseDispatcherStreamMapping", ["DestinationConfig", "OnFailure", "Destination"],
                  {"Fn::GetAtt": ["CampaignsTable", "Arn"]}), FRESH),
        ("ConnectionsTable without TTL", del_prop("ConnectionsTable", ["TimeToLiveSpecification"]), FRESH),
        ("bySweep projected ALL", set_prop("CampaignsTable", ["GlobalSecondaryIndexes", 1, "Projection", "ProjectionType"], "ALL"), FRESH),
        ("byOwner range key -> createdAt (no attribute type)", set_prop("CampaignsTable", ["GlobalSecondaryIndexes", 0, "KeySchema", 1, "AttributeName"], "createdAt"), FRESH),
        ("ping route -> ws-connect", move_ws_route, FRESH),
        ("sweeper every 5 minutes", set_prop("SweeperFunction", ["Events", "EveryMinute", "Properties", "Schedule"], "rate(5 minutes)"), FRESH),
        ("api Timeout 10 -> 20", set_prop("ApiFunction", ["Timeout"], 20), FRESH),
        ("auto-start worker with a second trigger", second_trigger, FRESH),
        ("a TableName not under the stack's name", set_prop("DomainsTable", ["TableName"], "domains"), FRESH),
        # The rules.
        ("remove PhaseWorkerFunction", remove_function, "functions/phase-worker is one template function"),
        ("ws-connect Binary renamed", set_prop("WsConnectFunction", ["Metadata", "BuildProperties", "Binary"], "ws_connect", top=True), "functions/ws-connect is one"),
        ("stream-publisher without ReportBatchItemFailures", del_prop("StreamPublisherStreamMapping", ["FunctionResponseTypes"]), "mapping StreamPublisherStreamMapping"),
        ("dispatcher without bisection", del_prop("PhaseDispatcherStreamMapping", ["BisectBatchOnFunctionError"]), "mapping PhaseDispatcherStreamMapping"),
        ("dispatcher failures to an undrained queue", set_prop("PhaseDispatcherStreamMapping", ["DestinationConfig", "OnFailure", "Destination"], {"Fn::GetAtt": ["PhaseWorkDlq", "Arn"]}), "mapping PhaseDispatcherStreamMapping"),
        ("PhaseWorkQueue VisibilityTimeout 360 -> 30", set_prop("PhaseWorkQueue", ["VisibilityTimeout"], 30), "queue PhaseWorkQueue visibility >= 6"),
        ("AutoStartDlq VisibilityTimeout 60 -> 30", set_prop("AutoStartDlq", ["VisibilityTimeout"], 30), "queue AutoStartDlq visibility >= 6"),
        ("StreamFailureQueue VisibilityTimeout 120 -> 60", set_prop("StreamFailureQueue", ["VisibilityTimeout"], 60), "queue StreamFailureQueue visibility >"),
        ("drop DOMAINS_TABLE from Globals", drop_env, "every table and queue is named"),
        ("AUTOSTART_MAX_RECEIVE_COUNT 10 -> 7", set_env("AUTOSTART_MAX_RECEIVE_COUNT", "7"), "env of"),
        ("an SQS trigger as a SAM event", sam_sqs_event, "no SAM SQS/stream event"),
        ("a grant on Resource '*'", grant_star, "ApiFunction grants inline statements only"),
        ("a managed policy in Policies", managed_policy, "PhaseDlqFunction grants inline statements only"),
        ("phase-worker cannot receive from its queue", drop_statement("PhaseWorkerFunction", "ConsumePhaseWorkQueue"), "PhaseWorkerFunction may consume"),
        ("dispatcher cannot read the stream", drop_statement("PhaseDispatcherFunction", "ReadCampaignsStream"), "PhaseDispatcherFunction may consume"),
        ("publisher cannot send to its OnFailure queue", drop_statement("StreamPublisherFunction", "StreamOnFailure"), "StreamPublisherFunction may consume"),
        ("the api may receive phase work", foreign_receive, "only a queue's consumer"),
        ("sweeper cannot receive stream failures", drop_statement("SweeperFunction", "ConsumeStreamFailures"), "queue StreamFailureQueue has exactly one consumer"),
        ("CampaignsTable without deletion protection", set_prop("CampaignsTable", ["DeletionProtectionEnabled"], False), "table CampaignsTable retention"),
        ("PersonasTable DeletionPolicy Delete", set_prop("PersonasTable", ["DeletionPolicy"], "Delete", top=True), "table PersonasTable retention"),
        ("DomainsTable without point-in-time recovery", del_prop("DomainsTable", ["PointInTimeRecoverySpecification"]), "table DomainsTable retention"),
        ("QuotasTable provisioned", set_prop("QuotasTable", ["BillingMode"], "PROVISIONED"), "table QuotasTable is on demand"),
        ("PhaseWorkDlq without encryption", del_prop("PhaseWorkDlq", ["SqsManagedSseEnabled"]), "queue PhaseWorkDlq is encrypted"),
        ("phase-work MaximumConcurrency 50 -> 100", set_prop("PhaseWorkQueueMapping", ["ScalingConfig", "MaximumConcurrency"], 100), "concurrency of PhaseWorkerFunction"),
        ("auto-start DLQ mapping uncapped", del_prop("AutoStartDlqMapping", ["ScalingConfig"]), "concurrency of AutoStartDlqFunction"),
        ("auto-start worker reserved 10 -> 5", set_prop("AutoStartWorkerFunction", ["ReservedConcurrentExecutions", "Fn::If", 1], 5), "concurrency of AutoStartWorkerFunction"),
        ("auto-start worker reserved whatever ConcurrencyReservations says", set_prop("AutoStartWorkerFunction", ["ReservedConcurrentExecutions"], 10), "concurrency of AutoStartWorkerFunction"),
        ("sweeper without reserved concurrency", del_prop("SweeperFunction", ["ReservedConcurrentExecutions"]), "concurrency of SweeperFunction"),
        ("SDK_OPERATION_TIMEOUT_MS 4000 -> 12000", set_env("SDK_OPERATION_TIMEOUT_MS", "12000"), "SDK_OPERATION_TIMEOUT_MS below"),
        ("backoff base 2 s -> 1 s (budget 255-511 s)", set_env("AUTOSTART_BACKOFF_BASE_SECONDS", "1"), "retry budget"),
        ("STALE_QUEUED_SECONDS 900 -> 600", set_prop("SweeperFunction", ["Environment", "Variables", "STALE_QUEUED_SECONDS"], "600"), "STALE_QUEUED_SECONDS beyond"),
    ]
    for label, mutate, expect in mutations:
        t = copy.deepcopy(template)
        mutate(t)
        r = run_checks(t, committed, dirs, Report(quiet=True))
        caught = [name for name in r.failures if expect in name]
        outer.check(bool(caught), f"self-test catches: {label}", f"{r.failed} check(s) failed: {r.failures}")

    # resources.json edited by hand (the template unchanged).
    edited = committed.replace('"batchSize": 1,', '"batchSize": 5,', 1)
    r = run_checks(copy.deepcopy(template), edited, dirs, Report(quiet=True))
    outer.check(edited != committed and FRESH in r.failures, "self-test catches: resources.json edited by hand", f"{r.failures}")
    # A crate directory the template does not know, and a function without a crate.
    r = run_checks(copy.deepcopy(template), committed, dirs + ["orphan-crate"], Report(quiet=True))
    outer.check(r.failed > 0, "self-test catches: crate dir without template function", f"{r.failures}")
    r = run_checks(copy.deepcopy(template), committed, [d for d in dirs if d != "phase-dlq"], Report(quiet=True))
    outer.check(r.failed > 0, "self-test catches: template function without crate dir", f"{r.failures}")
    return outer


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--self-test", action="store_true", help="mutate the template in memory and check that each check fails")
    ap.add_argument("--template", type=Path, default=TEMPLATE)
    ap.add_argument("--resources", type=Path, default=RESOURCES)
    args = ap.parse_args()

    committed = args.resources.read_text()
    template = load_template(args.template)

    if args.self_test:
        report = self_test(template, committed)
    else:
        report = Report()
        check_cfn_lint(report, args.template)
        run_checks(template, committed, function_dirs(), report)

    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
