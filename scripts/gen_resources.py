#!/usr/bin/env python3
"""Generate infra/resources.json from infra/template.yaml (the one source of tables, queues and
event-source mappings; decision 40).

    .venv/bin/python scripts/gen_resources.py          # rewrite infra/resources.json (make resources)
    .venv/bin/python scripts/gen_resources.py --check  # exit 1 with a diff when it is out of date

The local gateway (local/src/resources.rs), the lambda emulator's sandbox and the load audit read
the generated file at build time; scripts/check_template.py fails when the committed file is not
what this script makes of the template.

Invariants: every field is read from the template, nothing is hand-kept here: names are the
template's `${AWS::StackName}-…` names at samconfig.toml's default stack name; a resource's env
variable is the one the functions' Environment `!Ref`s it by; a function's trigger is whatever
invokes it (HttpApi event, event-source mapping, WebSocket route or authorizer, schedule). What
cannot be derived unambiguously (no TableName, a resource named by two env variables, a function
with two triggers or none, a key without an attribute type, …) is a TemplateError, never a guess.
Output: JSON with two-space indent, keys in a fixed order, a trailing newline.
"""

from __future__ import annotations

import argparse
import json
import difflib
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from cfn_model import (
    FUNCTION_TYPE,
    RESOURCES,
    ROOT,
    TEMPLATE,
    allows,
    fn_if_value,
    function_statements,
    getatt,
    load_template,
    mentions,
    merged_resources,
    ref_target,
    sub_string,
)

SAMCONFIG = ROOT / "samconfig.toml"
TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"
MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"
SAM_POLLED_EVENTS = ("SQS", "DynamoDB", "Kinesis", "MSK", "MQ", "SelfManagedKafka", "DocumentDB")

COMMENT = (
    "Generated from infra/template.yaml by scripts/gen_resources.py (`make resources`): do not edit"
    " by hand; scripts/check_template.py fails when this file differs from what the generator makes"
    " of the template. The tables, queues and event-source mappings of the template: the local stack"
    " creates exactly these (local-gateway reads this file at build time). Names are the template's"
    " names at the default stack name (samconfig.toml); in AWS they carry the stack's name and reach"
    " the functions through the env vars named here. Template-only settings (the local stack ignores"
    " them): a table's \"retain\" (DeletionPolicy Retain), a function's \"maximumConcurrency\" (its SQS"
    " mapping's ScalingConfig) \"reservedConcurrency\" (ReservedConcurrentExecutions while"
    " ConcurrencyReservations=enabled). A function with trigger \"schedule\" runs on its \"schedule\""
    " expression in AWS (the local gateway runs it on its own short interval) and reads the queues in"
    " \"consumes\" (those it may sqs:ReceiveMessage from) itself, without an event-source mapping. A"
    " stream mapping's \"onFailure\" is the queue its DestinationConfig.OnFailure names."
)


class TemplateError(Exception):
    """The template says something resources.json cannot hold, or not unambiguously."""


def default_stack_name(path: Path = SAMCONFIG) -> str:
    """`stack_name` of samconfig.toml's default deploy parameters: the stack the local names mimic."""
    config = tomllib.loads(path.read_text())
    name = ((config.get("default") or {}).get("deploy") or {}).get("parameters", {}).get("stack_name")
    if not isinstance(name, str) or not name:
        raise TemplateError(f"{path.name} has no [default.deploy.parameters] stack_name")
    return name


def local_name(lid: str, value: Any, stack: str, what: str) -> str:
    """The name `!Sub "${AWS::StackName}-suffix"` takes at the default stack name."""
    s = sub_string(value)
    if s is None or not s.startswith("${AWS::StackName}-") or "${" in s[len("${AWS::StackName}") :]:
        raise TemplateError(f'{lid}: {what} must be !Sub "${{AWS::StackName}}-<name>", not {value!r}')
    return stack + s[len("${AWS::StackName}") :]


def env_names(resources: dict[str, Any]) -> dict[str, str]:
    """Table or queue logical id -> the one env variable the functions' Environment `!Ref`s it by."""
    wanted = {lid for lid, r in resources.items() if r.get("Type") in (TABLE_TYPE, QUEUE_TYPE)}
    names: dict[str, set[str]] = {}
    for r in resources.values():
        if r.get("Type") != FUNCTION_TYPE:
            continue
        variables = ((r.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        for var, value in variables.items():
            target = ref_target(value)
            if target in wanted and list(value) == ["Ref"]:
                names.setdefault(target, set()).add(var)
    several = {lid: sorted(v) for lid, v in names.items() if len(v) > 1}
    if several:
        raise TemplateError(f"a resource named by several env variables: {several}")
    return {lid: v.pop() for lid, v in names.items()}


def key(lid: str, attrs: dict[str, str], name: str) -> dict[str, str]:
    if name not in attrs:
        raise TemplateError(f"{lid}: key {name!r} has no AttributeDefinitions entry")
    return {"name": name, "type": attrs[name]}


def keys(lid: str, attrs: dict[str, str], schema: list[dict[str, Any]]) -> dict[str, Any]:
    by_type = {k.get("KeyType"): k.get("AttributeName") for k in schema}
    if len(schema) != len(by_type) or "HASH" not in by_type or set(by_type) - {"HASH", "RANGE"}:
        raise TemplateError(f"{lid}: KeySchema must be one HASH and at most one RANGE key: {schema}")
    out = {"hashKey": key(lid, attrs, by_type["HASH"])}
    if "RANGE" in by_type:
        out["rangeKey"] = key(lid, attrs, by_type["RANGE"])
    return out


def table(lid: str, r: dict[str, Any], stack: str, env: dict[str, str]) -> dict[str, Any]:
    p = r.get("Properties") or {}
    attrs = {a.get("AttributeName"): a.get("AttributeType") for a in p.get("AttributeDefinitions") or []}
    out: dict[str, Any] = {"logicalId": lid, "name": local_name(lid, p.get("TableName"), stack, "TableName")}
    if lid in env:
        out["env"] = env[lid]
    if r.get("DeletionPolicy") == "Retain":
        out["retain"] = True
    out.update(keys(lid, attrs, p.get("KeySchema") or []))
    stream = (p.get("StreamSpecification") or {}).get("StreamViewType")
    if stream:
        out["stream"] = stream
    gsis = []
    for g in p.get("GlobalSecondaryIndexes") or []:
        projection = (g.get("Projection") or {}).get("ProjectionType")
        if projection not in ("ALL", "KEYS_ONLY"):
            raise TemplateError(f"{lid}: GSI {g.get('IndexName')} projection {projection!r} (resources.json knows ALL, KEYS_ONLY)")
        gsis.append({"name": g.get("IndexName"), **keys(f"{lid} GSI {g.get('IndexName')}", attrs, g.get("KeySchema") or []),
                     "projection": projection})
    if gsis:
        out["gsis"] = gsis
    ttl = p.get("TimeToLiveSpecification") or {}
    if ttl.get("Enabled") is True:
        out["ttlAttribute"] = ttl.get("AttributeName")
    return out


def queues(resources: dict[str, Any], stack: str, env: dict[str, str]) -> list[dict[str, Any]]:
    def visibility(lid: str) -> int:
        vis = (resources[lid].get("Properties") or {}).get("VisibilityTimeout")
        if not isinstance(vis, int):
            raise TemplateError(f"{lid}: VisibilityTimeout must be set explicitly (a number), not {vis!r}")
        return vis

    all_queues = [lid for lid, r in resources.items() if r.get("Type") == QUEUE_TYPE]
    redrive: dict[str, dict[str, Any]] = {}
    for lid in all_queues:
        policy = (resources[lid].get("Properties") or {}).get("RedrivePolicy")
        if policy is None:
            continue
        target = getatt((policy or {}).get("deadLetterTargetArn"))
        if not target or target[1] != "Arn" or target[0] not in all_queues:
            raise TemplateError(f"{lid}: RedrivePolicy deadLetterTargetArn must be !GetAtt <queue>.Arn, not {policy!r}")
        if not isinstance(policy.get("maxReceiveCount"), int):
            raise TemplateError(f"{lid}: RedrivePolicy maxReceiveCount must be a number")
        redrive[lid] = {"logicalId": target[0], "maxReceiveCount": policy["maxReceiveCount"]}
    dead_letters = {d["logicalId"] for d in redrive.values()}
    out = []
    for lid in all_queues:
        if lid in dead_letters:
            continue
        p = resources[lid].get("Properties") or {}
        q: dict[str, Any] = {"logicalId": lid, "name": local_name(lid, p.get("QueueName"), stack, "QueueName")}
        if lid in env:
            q["env"] = env[lid]
        q["visibilityTimeoutSeconds"] = visibility(lid)
        if lid in redrive:
            dl = redrive[lid]["logicalId"]
            if dl in redrive:
                raise TemplateError(f"{dl}: a dead-letter queue with a dead-letter queue of its own")
            dp = resources[dl].get("Properties") or {}
            q["deadLetter"] = {"logicalId": dl, "name": local_name(dl, dp.get("QueueName"), stack, "QueueName"),
                               "maxReceiveCount": redrive[lid]["maxReceiveCount"]}
        out.append(q)
    return out


def routes_of(resources: dict[str, Any], fn: str) -> list[str]:
    """WebSocket route keys whose integration invokes `fn`, in template order."""
    out = []
    for r in resources.values():
        if r.get("Type") != "AWS::ApiGatewayV2::Route":
            continue
        m = re.fullmatch(r"integrations/\$\{(\w+)\}", sub_string((r.get("Properties") or {}).get("Target")) or "")
        integ = resources.get(m.group(1)) if m else None
        if integ and mentions((integ.get("Properties") or {}).get("IntegrationUri"), fn):
            out.append(r["Properties"]["RouteKey"])
    return out


def triggers(resources: dict[str, Any], lid: str, fn: dict[str, Any]) -> list[dict[str, Any]]:
    """Every way `lid` is invoked, each as the resources.json fields it makes."""
    props = fn.get("Properties") or {}
    events = props.get("Events") or {}
    found: list[dict[str, Any]] = []
    polled = [name for name, e in events.items() if e.get("Type") in SAM_POLLED_EVENTS]
    if polled:
        raise TemplateError(f"{lid}: SQS/stream triggers must be AWS::Lambda::EventSourceMapping resources, not Events {polled}"
                            " (least privilege: see the template's header)")
    if events and all(e.get("Type") == "HttpApi" for e in events.values()):
        found.append({"trigger": "http"})
    schedules = [e for e in events.values() if e.get("Type") in ("Schedule", "ScheduleV2")]
    for e in schedules:
        ep = e.get("Properties") or {}
        found.append({"trigger": "schedule", "schedule": ep.get("Schedule") or ep.get("ScheduleExpression")})
    other = [n for n, e in events.items() if e.get("Type") not in ("HttpApi", "Schedule", "ScheduleV2")]
    if other or (schedules and len(schedules) != len(events)):
        raise TemplateError(f"{lid}: Events resources.json cannot describe: {sorted(events)}")
    for r in resources.values():
        p = r.get("Properties") or {}
        if r.get("Type") == MAPPING_TYPE and ref_target(p.get("FunctionName")) == lid:
            found.append(mapping(lid, p, resources))
        elif r.get("Type") == "AWS::ApiGatewayV2::Authorizer" and mentions(p.get("AuthorizerUri"), lid):
            found.append({"trigger": "ws-authorizer"})
    routes = routes_of(resources, lid)
    if len(routes) == 1:
        found.append({"trigger": "ws", "route": routes[0]})
    elif routes:
        found.append({"trigger": "ws", "routes": routes})
    return found


def mapping(lid: str, p: dict[str, Any], resources: dict[str, Any]) -> dict[str, Any]:
    source = getatt(p.get("EventSourceArn"))
    kinds = {("Arn", QUEUE_TYPE): "sqs", ("StreamArn", TABLE_TYPE): "stream"}
    kind = kinds.get((source[1], (resources.get(source[0]) or {}).get("Type"))) if source else None
    if not kind:
        raise TemplateError(f"{lid}: a mapping's EventSourceArn must be !GetAtt <queue>.Arn or <table>.StreamArn,"
                            f" not {p.get('EventSourceArn')!r}")
    if not isinstance(p.get("BatchSize"), int):
        raise TemplateError(f"{lid}: its mapping must set BatchSize")
    out: dict[str, Any] = {"trigger": kind, "source": source[0], "batchSize": p["BatchSize"]}
    if "MaximumBatchingWindowInSeconds" in p:
        out["maximumBatchingWindowSeconds"] = p["MaximumBatchingWindowInSeconds"]
    if "MaximumRetryAttempts" in p:
        out["maximumRetryAttempts"] = p["MaximumRetryAttempts"]
    maximum = (p.get("ScalingConfig") or {}).get("MaximumConcurrency")
    if maximum is not None:
        out["maximumConcurrency"] = maximum
    on_failure = ((p.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    if on_failure is not None:
        target = getatt(on_failure)
        if not target or target[1] != "Arn" or (resources.get(target[0]) or {}).get("Type") != QUEUE_TYPE:
            raise TemplateError(f"{lid}: an OnFailure destination must be !GetAtt <queue>.Arn, not {on_failure!r}")
        out["onFailure"] = target[0]
    return out


FUNCTION_KEYS = ("dir", "logicalId", "trigger", "source", "route", "routes", "schedule", "consumes", "batchSize",
                 "maximumBatchingWindowSeconds", "maximumRetryAttempts", "onFailure", "timeoutSeconds",
                 "maximumConcurrency", "reservedConcurrency")


def functions(template: dict[str, Any], merged: dict[str, Any]) -> list[dict[str, Any]]:
    resources = template.get("Resources") or {}
    names = {lid for lid, r in resources.items() if r.get("Type") == FUNCTION_TYPE}
    for lid, r in resources.items():
        target = ref_target((r.get("Properties") or {}).get("FunctionName")) if r.get("Type") == MAPPING_TYPE else None
        if r.get("Type") == MAPPING_TYPE and target not in names:
            raise TemplateError(f"{lid}: FunctionName must be !Ref <a function of the template>, not {target!r}")
    queue_ids = [lid for lid, r in resources.items() if r.get("Type") == QUEUE_TYPE]
    out = []
    for lid, r in resources.items():
        if r.get("Type") != FUNCTION_TYPE:
            continue
        fn = merged[lid]
        props = fn.get("Properties") or {}
        binary = ((r.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        if not isinstance(binary, str):
            raise TemplateError(f"{lid}: Metadata.BuildProperties.Binary (its crate's directory) is missing")
        found = triggers(resources, lid, fn)
        if len(found) != 1:
            raise TemplateError(f"{lid}: resources.json holds one trigger per function, the template gives {len(found)}: {found}")
        f: dict[str, Any] = {"dir": binary, "logicalId": lid, **found[0]}
        if f["trigger"] == "schedule":
            # A scheduled function has no mapping: the queues it may receive from, it reads itself.
            statements, _ = function_statements(fn)
            f["consumes"] = [q for q in queue_ids
                             if allows(statements, "sqs:ReceiveMessage", lambda v, q=q: getatt(v) == (q, "Arn"))]
        if not isinstance(props.get("Timeout"), int):
            raise TemplateError(f"{lid}: Timeout must be set (on the function or in Globals)")
        f["timeoutSeconds"] = props["Timeout"]
        reserved = fn_if_value(props.get("ReservedConcurrentExecutions"))
        if reserved is not None:
            f["reservedConcurrency"] = reserved
        out.append({k: f[k] for k in FUNCTION_KEYS if k in f})
    return out


def derive(template: dict[str, Any], stack: str | None = None) -> dict[str, Any]:
    """Everything resources.json holds, from the template (raises TemplateError)."""
    stack = stack or default_stack_name()
    resources = template.get("Resources") or {}
    merged = merged_resources(template)
    env = env_names(merged)
    return {
        "$comment": COMMENT,
        "tables": [table(lid, r, stack, env) for lid, r in resources.items() if r.get("Type") == TABLE_TYPE],
        "queues": queues(resources, stack, env),
        "functions": functions(template, merged),
    }


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2) + "\n"


def diff(committed: str, generated: str, path: Path = RESOURCES) -> str:
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return "".join(difflib.unified_diff(committed.splitlines(True), generated.splitlines(True),
                                        f"{rel} (committed)", f"{rel} (generated from the template)"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 with a diff when out of date")
    ap.add_argument("--template", type=Path, default=TEMPLATE)
    ap.add_argument("--out", type=Path, default=RESOURCES)
    args = ap.parse_args()
    try:
        generated = render(derive(load_template(args.template)))
    except TemplateError as e:
        print(f"gen_resources: {e}", file=sys.stderr)
        return 1
    committed = args.out.read_text() if args.out.exists() else ""
    if committed == generated:
        print(f"{args.out.name} is up to date with {args.template.name}")
        return 0
    if args.check:
        print(diff(committed, generated, args.out), end="")
        print(f"{args.out.name} is out of date: run `make resources`")
        return 1
    args.out.write_text(generated)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
