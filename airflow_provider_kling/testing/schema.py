"""The building blocks of Kling's request rules: one checker per kind of JSON value, and objects of them.

A checker is called with a value that is set (never ``""`` or null, which mean *unset* at any depth) and the
value's path for messages (``dynamic_masks[0].trajectories``); it raises Invalid with a message that starts
with that path, so every 1201 answer names the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_kling.testing.images import BadImage, check_image

Body = dict[str, Any]
Check = Callable[[Any, str], None]


class Invalid(Exception):
    """A refused create; the text follows ``"invalid parameter: "`` in the 1201 answer."""


def is_unset(value: Any) -> bool:
    return value is None or value == ""


def clean(value: Any) -> Any:
    """Drop unset (``""``/null) entries from every object, at any depth."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if not is_unset(v)}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


# ---- field checkers ------------------------------------------------------------------------------------


def text(max_len: int | None = None) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise Invalid(f"{path} must be a string")
        if max_len is not None and len(value) > max_len:
            raise Invalid(f"{path} must be at most {max_len} characters")

    return check


def choice(*allowed: str) -> Check:
    def check(value: Any, path: str) -> None:
        if value not in allowed:
            raise Invalid(f"{path} must be one of {', '.join(allowed)}; got {value!r}")

    return check


def model(task_type: str, known: tuple[str, ...]) -> Check:
    def check(value: Any, path: str) -> None:
        if value not in known:
            raise Invalid(f"{path} {value!r} is not a {task_type} model (known: {', '.join(known)})")

    return check


def number(low: float, high: float) -> Check:
    def check(value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise Invalid(f"{path} must be a number between {low:g} and {high:g}")

    return check


def integer(low: int, high: int) -> Check:
    def check(value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Invalid(f"{path} must be an integer between {low} and {high}")

    return check


def boolean(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        raise Invalid(f"{path} must be true or false")


def any_number(value: Any, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{path} must be a number")


def element_id(value: Any, path: str) -> None:
    """Kling's element ids are longs; a client may well send them as digit strings."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Invalid(f"{path} must be an integer id")


def url(value: Any, path: str) -> None:
    text()(value, path)
    if not value.startswith(("http://", "https://")):
        raise Invalid(f"{path} must be an http(s) URL")


def image(first_frame: bool = False) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise Invalid(f"{path} must be an http(s) URL or a Base64 string")
        try:
            check_image(value, first_frame)
        except BadImage as exc:
            raise Invalid(f"{path} {exc}") from None

    return check


@dataclass(frozen=True)
class Obj:
    """A JSON object with known fields; unknown keys are ignored like unknown top-level fields."""

    fields: Mapping[str, Check]
    required: tuple[str, ...] = ()

    def __call__(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise Invalid(f"{path} must be an object")
        check_fields(value, self.fields, self.required, f"{path}.")


def items(check: Check, low: int, high: int | None = None) -> Check:
    def check_list(value: Any, path: str) -> None:
        if not isinstance(value, list) or len(value) < low or (high is not None and len(value) > high):
            size = f"{low} to {high}" if high is not None else f"at least {low}"
            raise Invalid(f"{path} must be a list of {size} items")
        for i, item in enumerate(value):
            item_path = f"{path}[{i}]"
            if is_unset(item):
                raise Invalid(f"{item_path} must not be empty")
            check(item, item_path)

    return check_list


def check_fields(
    body: Body, fields: Mapping[str, Check], required: tuple[str, ...], prefix: str = ""
) -> None:
    for name in required:
        if is_unset(body.get(name)):
            raise Invalid(f"{prefix}{name} is required")
    for name, check in fields.items():
        value = body.get(name)
        if not is_unset(value):
            check(value, prefix + name)


def exactly_one(body: Body, names: tuple[str, str], prefix: str = "") -> str:
    """The one of two alternative fields that is set; Invalid if neither or both are."""
    first, second = (f"{prefix}{name}" for name in names)
    present = [name for name in names if name in body]
    if not present:
        raise Invalid(f"{first} or {second} is required")
    if len(present) > 1:
        raise Invalid(f"{first} and {second} are mutually exclusive: send only one")
    return present[0]
