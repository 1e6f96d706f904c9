"""Drift between the places that describe Kling's fields fails here: the spec and the typed operators'
keyword arguments, the spec and the emulator's own rules (written separately from kling-api.md), the spec and
the generated tables of the README and docs/kling-api.md."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_kling.checks import Field, Object
from airflow_provider_kling.operators import kling as operators
from airflow_provider_kling.operators import sessions
from airflow_provider_kling.spec import TASK_TYPES, KlingTaskType
from airflow_provider_kling.testing.validation import FIELDS as EMULATOR_FIELDS

ROOT = Path(__file__).resolve().parents[2]
#: Arguments every generation operator has besides the request fields.
OPERATOR_ARGUMENTS = set(inspect.signature(operators.KlingCreateTaskOperator.__init__).parameters) - {
    "self",
    "task_type",
    "payload",
    "kwargs",
}


def keyword_arguments(cls: type) -> set[str]:
    """The request keyword arguments a typed operator declares itself (not those it passes on)."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    return {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY} - OPERATOR_ARGUMENTS


def field_paths(spec: KlingTaskType) -> set[str]:
    """The spec's field names as the emulator lists them: top level, and ``input.x`` for Kling's ``input``."""
    paths = set()
    for field in spec.all_fields:
        paths.add(field.name)
        if field.name == spec.nested and isinstance(field.check, Object):
            paths.update(f"{field.name}.{member.name}" for member in field.check.fields)
    return paths


def difference(ours: set[str], theirs: set[str]) -> dict[str, list[str]]:
    return {"only in the spec": sorted(ours - theirs), "only on the other side": sorted(theirs - ours)}


@pytest.mark.parametrize("name", sorted(TASK_TYPES))
def test_typed_operator_keyword_arguments_are_the_spec_fields(name):
    spec = TASK_TYPES[name]
    cls = getattr(operators, spec.operator, None) or getattr(sessions, spec.operator)
    declared = keyword_arguments(cls) - set(getattr(cls, "session_keywords", ()))
    assert difference(set(spec.kwarg_names), declared) == {
        "only in the spec": [],
        "only on the other side": [],
    }


@pytest.mark.parametrize("name", sorted(TASK_TYPES))
def test_the_emulator_knows_exactly_the_spec_fields(name):
    assert name in EMULATOR_FIELDS, f"the emulator does not serve {name}"
    ours, theirs = field_paths(TASK_TYPES[name]), set(EMULATOR_FIELDS[name])
    assert difference(ours, theirs) == {"only in the spec": [], "only on the other side": []}


def test_the_comparison_catches_a_field_added_to_one_side():
    spec = TASK_TYPES["text2video"]
    extended = dataclasses.replace(spec, fields=(*spec.fields, Field("new_field", Object(()))))
    assert difference(field_paths(extended), set(EMULATOR_FIELDS["text2video"]))["only in the spec"] == [
        "new_field"
    ]
    assert "new_field" not in keyword_arguments(operators.KlingTextToVideoOperator)


def test_readme_and_docs_tables_are_generated_from_the_spec():
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "spec_tables.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert check.returncode == 0, check.stderr


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_event_protocol_imports_nothing_else_of_the_package():
    package = ROOT / "airflow_provider_kling"
    assert not {
        m for m in imported_modules(package / "protocol.py") if m.startswith("airflow_provider_kling")
    }
    trigger = imported_modules(package / "triggers" / "kling.py")
    assert "airflow_provider_kling.protocol" in trigger and "airflow_provider_kling.waiting" not in trigger


@pytest.mark.parametrize("setting", ["True", "False"])
def test_deferrable_follows_airflows_default_deferrable(setting):
    code = (
        "from airflow_provider_kling.operators.kling import KlingTextToVideoOperator as T\n"
        "from airflow_provider_kling.sensors.kling import KlingTaskSensor as S\n"
        "print(T(task_id='t', prompt='p').deferrable, S(task_id='s', kling_task_id='1', task_type='tts')"
        ".deferrable)\n"
    )
    env = {**os.environ, "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": setting}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [setting, setting]
