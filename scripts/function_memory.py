#!/usr/bin/env python3
"""Prints each function's billed configuration as infra/template.yaml gives it (Globals merged):
`{"<binary>": {"logicalId", "memoryMb", "architecture"}}`, keyed by the binary (the crate
directory under functions/). `make bench` writes it to target/bench/functions.json for the cost
model (docs/DEPLOY.md, "What a campaign costs"), so the Lambda GB-seconds use the deployed memory
sizes, never a copy of them.

    .venv/bin/python scripts/function_memory.py > target/bench/functions.json

Fails (exit 1) when a function has no MemorySize or its binary is not a crate under functions/.
"""

from __future__ import annotations

import json
import sys

from cfn_model import FUNCTION_TYPE, TEMPLATE, function_dirs, load_template, merged_resources


def main() -> int:
    resources = merged_resources(load_template(TEMPLATE))
    crates = set(function_dirs())
    out: dict[str, dict] = {}
    problems = []
    for logical_id, r in sorted(resources.items()):
        if r.get("Type") != FUNCTION_TYPE:
            continue
        props = r.get("Properties") or {}
        binary = ((r.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        memory = props.get("MemorySize")
        arch = (props.get("Architectures") or ["x86_64"])[0]
        if binary not in crates:
            problems.append(f"{logical_id}: binary {binary!r} is not a crate under functions/")
        elif not isinstance(memory, int):
            problems.append(f"{logical_id}: MemorySize {memory!r} is not a number")
        else:
            out[binary] = {"logicalId": logical_id, "memoryMb": memory, "architecture": arch}
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    json.dump(out, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
