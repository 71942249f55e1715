"""The SAM template as plain data, and the small helpers every template check uses.

Imported by scripts/gen_resources.py (infra/resources.json from the template), scripts/check_template.py
and the rules it runs (scripts/template_rules.py, scripts/template_budgets.py).
Invariant: nothing here judges the template; it only reads it.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"
RESOURCES = ROOT / "infra" / "resources.json"
FUNCTIONS_DIR = ROOT / "functions"

FUNCTION_TYPE = "AWS::Serverless::Function"


def plain(value: Any) -> Any:
    """cfn-lint's decoder returns str/dict/list subclasses carrying line marks; make
    them plain Python values so that comparisons and deep copies are simple."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def load_template(path: Path) -> dict[str, Any]:
    from cfnlint.decode import decode

    template, matches = decode(str(path))
    if matches or template is None:
        raise SystemExit(f"cannot parse {path}: " + "; ".join(str(m) for m in matches or []))
    return plain(template)


def function_dirs() -> list[str]:
    if not FUNCTIONS_DIR.is_dir():
        return []
    return sorted(p.name for p in FUNCTIONS_DIR.iterdir() if (p / "Cargo.toml").is_file())


def ref_target(value: Any) -> str | None:
    """Logical id named by {"Ref": X}, {"Fn::GetAtt": [X, attr]} or "X.attr"."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::GetAtt":
            if isinstance(arg, list) and arg:
                return str(arg[0])
            if isinstance(arg, str):
                return arg.split(".", 1)[0]
    return None


def getatt(value: Any) -> tuple[str, str] | None:
    if isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:
        arg = value["Fn::GetAtt"]
        if isinstance(arg, list) and len(arg) == 2:
            return str(arg[0]), str(arg[1])
        if isinstance(arg, str) and "." in arg:
            a, b = arg.split(".", 1)
            return a, b
    return None


def sub_string(value: Any) -> str | None:
    if isinstance(value, dict) and list(value) == ["Fn::Sub"]:
        arg = value["Fn::Sub"]
        if isinstance(arg, str):
            return arg
        if isinstance(arg, list) and arg and isinstance(arg[0], str):
            return arg[0]
    return None


def mentions(value: Any, logical_id: str) -> bool:
    """Whether an expression refers to a resource (Ref, GetAtt, ${X} / ${X.attr} in Sub, Join)."""
    if ref_target(value) == logical_id:
        return True
    s = sub_string(value)
    if s is not None and re.search(r"\$\{" + re.escape(logical_id) + r"(\.[A-Za-z]+)?\}", s):
        return True
    if isinstance(value, dict):
        return any(mentions(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(mentions(v, logical_id) for v in value)
    return False


def _merge(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rule: maps merge (local wins per key), lists concatenate, else local wins."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        if any(k == "Ref" or k.startswith("Fn::") for k in list(global_value) + list(local_value)):
            return local_value
        out = dict(global_value)
        for k, v in local_value.items():
            out[k] = _merge(out[k], v) if k in out else v
        return out
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


def merged_resources(template: dict[str, Any]) -> dict[str, Any]:
    """Resources with the SAM Globals of functions merged in."""
    t = copy.deepcopy(template)
    globals_fn = (t.get("Globals") or {}).get("Function") or {}
    for r in (t.get("Resources") or {}).values():
        if r.get("Type") == FUNCTION_TYPE and r.get("IgnoreGlobals") != "*":
            g = copy.deepcopy(globals_fn)
            for key in r.get("IgnoreGlobals") or []:
                g.pop(key, None)
            r["Properties"] = _merge(g, r.get("Properties") or {})
    return t.get("Resources", {})


class Report:
    def __init__(self, quiet: bool = False) -> None:
        self.passed = 0
        self.failed = 0
        self.quiet = quiet
        self.failures: list[str] = []

    def check(self, ok: bool, name: str, detail: str = "") -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(name)
        if not self.quiet:
            line = f"{'PASS' if ok else 'FAIL'}  {name}"
            if detail:
                line += f" - {detail}"
            print(line)
        return ok


def function_statements(fn: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """(inline policy statements, anything else in Policies: managed policy names/ARNs and SAM
    policy templates) of a function resource."""
    statements: list[dict[str, Any]] = []
    others: list[Any] = []
    for policy in (fn.get("Properties") or {}).get("Policies") or []:
        if isinstance(policy, dict) and "Statement" in policy:
            body = policy["Statement"]
            statements.extend(body if isinstance(body, list) else [body])
        else:
            others.append(policy)
    return statements, others


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allows(statements: list[dict[str, Any]], action: str, resource_ok: Any) -> bool:
    """Whether an Allow statement grants `action` (exactly or by a service:* wildcard) on a
    resource for which resource_ok(resource) is true."""
    service = action.split(":", 1)[0]
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        actions = as_list(st.get("Action"))
        if action not in actions and f"{service}:*" not in actions:
            continue
        if any(resource_ok(r) for r in as_list(st.get("Resource"))):
            return True
    return False


def fn_if_value(value: Any) -> Any:
    """The value of a property that is either plain or {"Fn::If": [cond, value, AWS::NoValue]}."""
    if isinstance(value, dict) and list(value) == ["Fn::If"]:
        _, then, _else = value["Fn::If"]
        return then
    return value
