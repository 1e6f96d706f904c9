"""Write the tables the README and docs/kling-api.md show from ``airflow_provider_kling/spec.py``.

``python scripts/spec_tables.py`` rewrites the marked blocks (``<!-- spec:NAME -->`` to
``<!-- /spec:NAME -->``) in place; ``--check`` only compares and exits 1 when a block is stale (the test suite
runs it), so the documented operator arguments and field rules are always the ones the code enforces.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from airflow_provider_kling.checks import Field, Object
from airflow_provider_kling.spec import COMMON, TASK_TYPES, KlingTaskType

ROOT = Path(__file__).resolve().parents[1]


def _field_name(field: Field, spec: KlingTaskType) -> list[str]:
    """The names a user types: an ``input`` object's members for the typed operator, else the field itself."""
    if field.name == spec.nested and isinstance(field.check, Object):
        return [f"`{member.name}`" + ("*" if member.required else "") for member in field.check.fields]
    return [f"`{field.name}`" + ("*" if field.required else "")]


def _module_of(operator: str) -> str:
    """Where a typed operator is imported from (the two session operators have a module of their own)."""
    from airflow_provider_kling.operators import kling, sessions

    return (kling if hasattr(kling, operator) else sessions).__name__.rsplit(".", 1)[-1]


def operator_table() -> str:
    rows = [
        "| operator (in `airflow_provider_kling.operators`) | task type | what | keyword arguments "
        "(* = always required) |",
        "|---|---|---|---|",
    ]
    for spec in TASK_TYPES.values():
        names = [name for field in spec.fields for name in _field_name(field, spec)] + ["`callback_url`"]
        operator = f"`{_module_of(spec.operator)}.{spec.operator}`"
        rows.append(f"| {operator} | `{spec.name}` | {spec.summary} | {', '.join(names)} |")
    return "\n".join(rows)


def _rows(fields: tuple[Field, ...], prefix: str = "") -> list[str]:
    rows = []
    for field in fields:
        required = "yes" if field.required else ""
        rows.append(f"| `{prefix}{field.name}` | {required} | {field.check.describe()} |")
        if isinstance(field.check, Object) and field.check.fields and prefix == "" and field.name == "input":
            rows.extend(_rows(field.check.fields, f"{field.name}."))
    return rows


def field_tables() -> str:
    parts = []
    for spec in TASK_TYPES.values():
        parts.append(f"### `{spec.name}` — {spec.summary}")
        parts.append("")
        parts.append(
            f"`POST {{base}}/{spec.path}`, query `GET {{base}}/{spec.path}/{{id}}`; results: "
            + ", ".join(f"`{kind}`" for kind in spec.results)
            + f"; default wait: first poll after {spec.initial_delay:g} s, then every "
            f"{spec.poll_interval:g} s; typed operator `{spec.operator}`."
        )
        parts.append("")
        parts.append("| field | required | rule |")
        parts.append("|---|---|---|")
        parts.extend(_rows(spec.fields))
        if spec.rules:
            parts.append("")
            parts.append("Across fields: " + "; ".join(rule.describe() for rule in spec.rules) + ".")
        parts.append("")
    common = ", ".join(f"`{field.name}` ({field.check.describe()})" for field in COMMON)
    parts.append(f"Every task type also takes {common}.")
    return "\n".join(parts)


BLOCKS: dict[str, tuple[Path, Callable[[], str]]] = {
    "operator-table": (ROOT / "README.md", operator_table),
    "field-tables": (ROOT / "docs" / "kling-api.md", field_tables),
}


def render(text: str, name: str, content: str) -> str:
    pattern = re.compile(rf"(<!-- spec:{name} -->\n)(?:.*?\n)?(<!-- /spec:{name} -->)", re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"marker <!-- spec:{name} --> not found")
    return pattern.sub(lambda m: m.group(1) + content + "\n" + m.group(2), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated block is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, (path, make) in BLOCKS.items():
        text = path.read_text()
        updated = render(text, name, make())
        if updated != text:
            stale.append(f"{path.relative_to(ROOT)} ({name})")
            if not args.check:
                path.write_text(updated)
    if stale and args.check:
        print("out of date, run python scripts/spec_tables.py: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
