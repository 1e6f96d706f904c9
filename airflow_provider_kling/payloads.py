"""Create requests, checked against the spec before anything is sent or paid for (docs/kling-api.md).

``validate_payload`` returns the body to send (only the fields that are set, durations as strings) and the
warnings about values outside the sets known so far; every certain problem is a ``KlingValidationError``
naming the field, what is allowed and what it got. ``merge_extra_fields`` adds the fields a user passes for
what Kling added after this release.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_kling.checks import Findings, fail, validate_fields
from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.spec import SESSION_STEPS, get_task_type


def validate_payload(
    task_type: str,
    payload: Any,
    *,
    skip: Callable[[Any], bool] | None = None,
    declared: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], list[str]]:
    """Check a create body; return it with unset fields dropped, and the warnings to log.

    ``skip`` tells which values are only known after rendering: they count as present and are not checked
    (the operator validates again, fully, after rendering). ``declared`` names extra fields not to warn about.
    """
    spec = get_task_type(task_type)
    if not isinstance(payload, Mapping):
        raise fail("payload", payload, "a mapping of Kling request fields")
    found = Findings(declared=declared) if skip is None else Findings(skip=skip, declared=declared)
    body = validate_fields(spec.all_fields, payload, "", found)
    for rule in spec.rules:
        rule.apply(body, found)
    return body, found.warnings


def check_extra_fields(extra_fields: Any) -> dict[str, Any]:
    """``extra_fields`` is type-checked only: an object of JSON values keyed by field name."""
    if not isinstance(extra_fields, Mapping) or not all(isinstance(k, str) and k for k in extra_fields):
        raise fail("extra_fields", extra_fields, "a mapping of Kling field names to JSON values")
    try:
        json.dumps(dict(extra_fields))
    except (TypeError, ValueError):
        raise KlingValidationError(
            "extra_fields must hold only JSON values (str, number, bool, list, dict)"
        ) from None
    return dict(extra_fields)


def merge_extra_fields(payload: Mapping[str, Any], extra_fields: Mapping[str, Any]) -> dict[str, Any]:
    """The body with ``extra_fields`` added; a field set both ways is an error, never a silent override.

    Objects merge one level down, so ``{"input": {"new_field": 1}}`` adds to Kling's ``input`` object.
    """
    body = dict(payload)
    for name, value in check_extra_fields(extra_fields).items():
        current = body.get(name)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            clash = sorted(set(current) & set(value))
            if clash:
                raise KlingValidationError(
                    f"extra_fields[{name!r}][{clash[0]!r}] is also set as a keyword argument; set it once"
                )
            body[name] = {**current, **value}
        elif name in body and current not in (None, ""):
            raise KlingValidationError(
                f"extra_fields[{name!r}] is also set as a keyword argument or in payload; set it once"
            )
        else:
            body[name] = value
    return body


def declared_names(extra_fields: Mapping[str, Any]) -> frozenset[str]:
    """The dotted names ``extra_fields`` adds (``input.new_field`` for objects merged one level down)."""
    names = set()
    for name, value in extra_fields.items():
        names.add(name)
        if isinstance(value, Mapping):
            names.update(f"{name}.{inner}" for inner in value)
    return frozenset(names)


def validate_step(step: str, body: Any) -> dict[str, Any]:
    """Check the body of a session step (``identify-face``, ``add-selection``, ...) like a create body."""
    spec = SESSION_STEPS[step]
    if not isinstance(body, Mapping):
        raise fail(step, body, "a mapping of Kling request fields")
    found = Findings()
    checked = validate_fields(spec.fields, body, "", found)
    for rule in spec.rules:
        rule.apply(checked, found)
    return checked
