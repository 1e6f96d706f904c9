"""The vocabulary the spec (``spec.py``) describes Kling's request fields with, and the checks behind it.

The policy (docs/kling-api.md, "Validation"): a check *rejects* only what is certain for every model, today
and after Kling's next release — types, required fields, structure, lengths, URL schemes — and *warns* about
values outside the sets known so far (models, modes, durations, ratios), because Kling adds those every few
months and a refused valid request blocks a paying user, while a bad one costs one 1201 answer with Kling's
own message.

Every check returns the value to send (``5`` becomes the string ``"5"`` Kling wants) or raises a
``KlingValidationError`` naming the field, what is allowed and what it got. Warnings are collected in a
``Findings`` so the caller decides whether to log them (at execution) or not (while a DAG file is parsed).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from airflow_provider_kling.exceptions import KlingValidationError

_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_SHOWN_CHARS = 80


def fail(where: str, value: Any, allowed: str) -> KlingValidationError:
    """The one error message shape: ``<field> must be <allowed>; got <value>`` (long values cut short)."""
    shown = repr(value)
    if len(shown) > _SHOWN_CHARS:
        shown = shown[: _SHOWN_CHARS - 3] + "..."
    return KlingValidationError(f"{where} must be {allowed}; got {shown}")


def validate_task_id(value: Any, field: str = "task_id") -> str:
    """Check an id before it goes into a URL path, so no caller can inject ``/``, ``?`` or ``..``."""
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value) or value in {".", ".."}:
        raise KlingValidationError(f"{field} must match [A-Za-z0-9._:-]{{1,128}}; got {value!r}")
    return value


def is_unset(value: Any) -> bool:
    """Kling's examples send optional fields as ``""``: that, blanks and ``None`` mean *not set*."""
    return value is None or (isinstance(value, str) and not value.strip())


def is_templated(value: Any) -> bool:
    """Whether a value is only known after rendering: a Jinja string, or an XComArg (anything Airflow resolves
    at run time has ``resolve``), also inside lists and mappings."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, Mapping):
        return any(is_templated(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_templated(v) for v in value)
    return callable(getattr(value, "resolve", None))


@dataclass
class Findings:
    """What a validation pass noticed but did not refuse; ``skip`` says which values are only known later.

    ``skip`` is true for values that are rendered at run time (Jinja strings, XComArgs): while a DAG file is
    parsed they count as present and are checked again, fully, after rendering.
    """

    skip: Callable[[Any], bool] = lambda _value: False
    #: Field names the caller added on purpose (``extra_fields``): not warned about as unknown.
    declared: frozenset[str] = frozenset()
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


ImageVisitor = Callable[[str, Any, "Image"], Any]


class Check:
    """A rule for one value. Subclasses describe themselves for the generated docs."""

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def visit_images(self, where: str, value: Any, visit: ImageVisitor) -> Any:
        """Return ``value`` with every image input in it replaced by ``visit(where, image, check)``."""
        return value

    @property
    def has_images(self) -> bool:
        return False


@dataclass(frozen=True)
class Text(Check):
    """A non-blank string of at most ``max_len`` characters (lengths are certain limits)."""

    max_len: int | None = None

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise fail(where, value, "a non-empty string")
        if self.max_len is not None and len(value) > self.max_len:
            raise KlingValidationError(f"{where} must be at most {self.max_len} characters; got {len(value)}")
        return value

    def describe(self) -> str:
        return "text" if self.max_len is None else f"text ≤ {self.max_len} chars"


@dataclass(frozen=True)
class Ident(Check):
    """An id Kling gave out (element, voice, face, audio): a non-empty string or an integer, sent as given."""

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.strip())
        ):
            raise fail(where, value, "an id (a non-empty string or an integer)")
        return value

    def describe(self) -> str:
        return "id"


@dataclass(frozen=True)
class TaskIdent(Check):
    """An id we put into a URL path later (``external_task_id``): only ``[A-Za-z0-9._:-]{1,128}``."""

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        return validate_task_id(value, where)

    def describe(self) -> str:
        return "id `[A-Za-z0-9._:-]{1,128}`"


@dataclass(frozen=True)
class Choice(Check):
    """One string of a set. ``certain`` sets refuse other values; the others warn and send them."""

    values: tuple[str, ...]
    certain: bool = False

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        if not isinstance(value, str):
            raise fail(where, value, "a string (" + ", ".join(self.values) + ")")
        if value not in self.values:
            if self.certain:
                raise fail(where, value, "one of " + ", ".join(self.values))
            found.warn(
                f"{where}={value!r} is not among the values known so far ({', '.join(self.values)}); sending "
                "it anyway, Kling will answer 1201 if it does not accept it"
            )
        return value

    def describe(self) -> str:
        values = " \\| ".join(f"`{v}`" for v in self.values)
        return values if self.certain else f"{values} (others warn)"


@dataclass(frozen=True)
class Duration(Check):
    """Seconds as Kling wants them, a string such as ``"5"``; ``5`` and ``"5"`` are both accepted."""

    known: tuple[str, ...]

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        text: str | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            text = str(value)
        elif isinstance(value, float) and math.isfinite(value):
            text = str(int(value)) if value.is_integer() else repr(value)
        elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
            text = value.strip()
        if text is None or float(text) <= 0:
            raise fail(where, value, 'a positive number of seconds (sent as a string, e.g. "5")')
        if text not in self.known:
            found.warn(
                f"{where}={text!r} is not among the durations known so far ({', '.join(self.known)}); "
                "sending it anyway, Kling will answer 1201 if the model does not offer it"
            )
        return text

    def describe(self) -> str:
        known = self.known
        shown = f"{known[0]}-{known[-1]}" if len(known) > 3 else ", ".join(known)
        return f"seconds, sent as a string; known {shown} (others warn)"


@dataclass(frozen=True)
class Number(Check):
    """A number in ``[low, high]``; numeric strings from templates are accepted and sent as numbers.

    ``certain=False`` ranges (model-dependent ones) warn instead of refusing.
    """

    low: float
    high: float
    integer: bool = False
    certain: bool = True

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        kind = "an integer" if self.integer else "a number"
        number: Any = value
        if isinstance(value, str):
            try:
                number = int(value) if self.integer else float(value)
            except ValueError:
                raise fail(where, value, f"{kind} from {self.low:g} to {self.high:g}") from None
        if self.integer and isinstance(number, float) and number.is_integer():
            number = int(number)
        ok_type = isinstance(number, int) if self.integer else isinstance(number, int | float)
        if isinstance(number, bool) or not ok_type or not math.isfinite(number):
            raise fail(where, value, f"{kind} from {self.low:g} to {self.high:g}")
        if not self.low <= number <= self.high:
            if self.certain:
                raise fail(where, value, f"{kind} from {self.low:g} to {self.high:g}")
            found.warn(
                f"{where}={number!r} is outside the range known so far ({self.low:g} to {self.high:g}); "
                "sending it anyway"
            )
        return number

    def describe(self) -> str:
        kind = "integer" if self.integer else "number"
        note = "" if self.certain else " (others warn)"
        return f"{kind} {self.low:g}-{self.high:g}{note}"


@dataclass(frozen=True)
class Flag(Check):
    """A boolean; ``"true"``/``"false"`` (any case) from a rendered template count too."""

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise fail(where, value, "true or false")

    def describe(self) -> str:
        return "boolean"


@dataclass(frozen=True)
class Url(Check):
    """An http(s) URL with a host."""

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        if not isinstance(value, str):
            raise fail(where, value, "an http(s) URL")
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise fail(where, value, "an http(s) URL")
        return value.strip()

    def describe(self) -> str:
        return "http(s) URL"


@dataclass(frozen=True)
class Image(Check):
    """An image input: URL, raw Base64, ``data:`` URI or a file path (``images.py`` reads and checks content).

    ``ratio`` says what an aspect ratio outside 1:2.5 … 2.5:1 means for this field: ``"reject"`` where Kling
    documents the rule (first frames of videos), ``"warn"`` where sources disagree, ``None`` where none
    applies.
    """

    ratio: Literal["reject", "warn"] | None = None

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise fail(
                where, value, "an image: an http(s) URL, raw Base64, or a local or object-storage path"
            )
        return value

    def describe(self) -> str:
        return "image" + (" (aspect ratio 1:2.5-2.5:1)" if self.ratio == "reject" else "")

    def visit_images(self, where: str, value: Any, visit: ImageVisitor) -> Any:
        return visit(where, value, self)

    @property
    def has_images(self) -> bool:
        return True


@dataclass(frozen=True)
class ListOf(Check):
    """A list of ``item`` values, between ``min_items`` and ``max_items`` long (structure is certain)."""

    item: Check
    min_items: int = 1
    max_items: int | None = None

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        top = "" if self.max_items is None else f" to {self.max_items}"
        if not isinstance(value, list | tuple) or isinstance(value, str):
            raise fail(where, value, f"a list of {self.min_items}{top or ' or more'} items")
        if len(value) < self.min_items or (self.max_items is not None and len(value) > self.max_items):
            raise KlingValidationError(
                f"{where} must have {self.min_items}{top or ' or more'} items; got {len(value)}"
            )
        return [
            item if found.skip(item) else self.item.validate(f"{where}[{index}]", item, found)
            for index, item in enumerate(value)
        ]

    def describe(self) -> str:
        count = f"{self.min_items}-{self.max_items}" if self.max_items else f"≥ {self.min_items}"
        return f"list of {count} x {self.item.describe()}"

    def visit_images(self, where: str, value: Any, visit: ImageVisitor) -> Any:
        if not self.item.has_images or not isinstance(value, list):
            return value
        return [self.item.visit_images(f"{where}[{i}]", item, visit) for i, item in enumerate(value)]

    @property
    def has_images(self) -> bool:
        return self.item.has_images


@dataclass(frozen=True)
class Field:
    """One request field: its name as Kling spells it, its check, and whether it must be set."""

    name: str
    check: Check
    required: bool = False
    doc: str = ""


def validate_fields(
    fields: tuple[Field, ...], values: Mapping[str, Any], prefix: str, found: Findings
) -> dict[str, Any]:
    """Check a mapping of fields: unset ones dropped, unknown ones kept (with a warning), required present."""
    by_name = {f.name: f for f in fields}
    out: dict[str, Any] = {}
    for name, value in values.items():
        where = f"{prefix}{name}"
        if is_unset(value):
            continue
        known = by_name.get(name)
        if found.skip(value):
            out[name] = value
        elif known is None:
            if where not in found.declared:
                found.warn(f"{where} is not a field known so far; sending it as given")
            out[name] = value
        else:
            out[name] = known.check.validate(where, value, found)
    for f in fields:
        if f.required and f.name not in out:
            raise KlingValidationError(f"{prefix}{f.name} is required")
    return out


def visit_field_images(
    fields: tuple[Field, ...], values: Mapping[str, Any], prefix: str, visit: ImageVisitor
) -> dict[str, Any]:
    out = dict(values)
    for f in fields:
        if f.check.has_images and f.name in out:
            out[f.name] = f.check.visit_images(f"{prefix}{f.name}", out[f.name], visit)
    return out


@dataclass(frozen=True)
class Object(Check):
    """A JSON object with known fields. ``bare`` names the field a plain (non-object) item stands for, so
    ``image_list=["a.png"]`` means ``[{"image": "a.png"}]``."""

    fields: tuple[Field, ...]
    bare: str | None = None
    rules: tuple[BodyRule, ...] = ()

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        if self.bare is not None and not isinstance(value, Mapping):
            value = {self.bare: value}
        if not isinstance(value, Mapping):
            names = ", ".join(f.name for f in self.fields)
            raise fail(where, value, f"an object with {names}")
        checked = validate_fields(self.fields, value, f"{where}.", found)
        for rule in self.rules:
            try:
                rule.apply(checked, found)
            except KlingValidationError as err:
                raise KlingValidationError(f"{where}: {err}") from None
        return checked

    def describe(self) -> str:
        names = ", ".join(f"{f.name}{'*' if f.required else ''}" for f in self.fields)
        return "{" + names + "}"

    def visit_images(self, where: str, value: Any, visit: ImageVisitor) -> Any:
        if not isinstance(value, Mapping):
            return value
        return visit_field_images(self.fields, value, f"{where}.", visit)

    @property
    def has_images(self) -> bool:
        return any(f.check.has_images for f in self.fields)


def image_field_names(fields: tuple[Field, ...]) -> set[str]:
    """The names of the fields whose values are (or hold) image inputs, at any depth."""
    names: set[str] = set()
    for item in fields:
        check = item.check.item if isinstance(item.check, ListOf) else item.check
        if isinstance(check, Image):
            names.add(item.name)
        elif isinstance(check, Object):
            names |= image_field_names(check.fields)
    return names


CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
CAMERA_PRESETS = ("down_back", "forward_up", "right_turn_forward", "left_turn_forward")


@dataclass(frozen=True)
class CameraControl(Check):
    """``{"type": "simple", "config": {axis: -10..10}}`` with exactly one non-zero axis, or a preset type."""

    def validate(self, where: str, value: Any, found: Findings) -> Any:
        types = ("simple", *CAMERA_PRESETS)
        if not isinstance(value, Mapping) or value.get("type") not in types:
            shown = value.get("type") if isinstance(value, Mapping) else value
            raise fail(f"{where}.type", shown, "one of " + ", ".join(types))
        config = value.get("config")
        if value["type"] != "simple":
            if config:
                raise fail(f"{where}.config", config, f"absent for type {value['type']!r}")
            return {"type": value["type"]}
        if not isinstance(config, Mapping):
            raise fail(f"{where}.config", config, "an object with " + ", ".join(CAMERA_AXES))
        unknown = sorted(set(config) - set(CAMERA_AXES))
        if unknown:
            raise fail(f"{where}.config", unknown[0], "one of the keys " + ", ".join(CAMERA_AXES))
        axis = Number(-10, 10)
        values = {name: axis.validate(f"{where}.config.{name}", config[name], found) for name in config}
        if sum(1 for v in values.values() if v != 0) != 1:
            raise fail(f"{where}.config", dict(config), "exactly one non-zero value for type 'simple'")
        return {"type": "simple", "config": values}

    def describe(self) -> str:
        return "`simple` with one non-zero axis (-10-10), or a preset"


# -- rules across fields ----------------------------------------------------------------------------------

_MISSING = object()


def lookup(body: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``input.mode``), or ``_MISSING``."""
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


class BodyRule:
    """A rule over a whole validated body (conditional requirements, exclusive groups)."""

    def apply(self, body: Mapping[str, Any], found: Findings) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class AtLeastOne(BodyRule):
    paths: tuple[str, ...]

    def apply(self, body: Mapping[str, Any], found: Findings) -> None:
        if all(lookup(body, p) is _MISSING for p in self.paths):
            raise KlingValidationError(f"set at least one of {', '.join(self.paths)}")

    def describe(self) -> str:
        return f"at least one of {', '.join(self.paths)}"


@dataclass(frozen=True)
class ExactlyOne(BodyRule):
    paths: tuple[str, ...]

    def apply(self, body: Mapping[str, Any], found: Findings) -> None:
        present = [p for p in self.paths if lookup(body, p) is not _MISSING]
        if len(present) != 1:
            got = ", ".join(present) if present else "none"
            raise KlingValidationError(f"set exactly one of {', '.join(self.paths)}; got {got}")

    def describe(self) -> str:
        return f"exactly one of {', '.join(self.paths)}"


@dataclass(frozen=True)
class OneGroupOnly(BodyRule):
    """Groups of fields that cannot be combined (image2video: tail frame, masks, camera control)."""

    groups: tuple[tuple[str, ...], ...]

    def apply(self, body: Mapping[str, Any], found: Findings) -> None:
        used = [g for g in self.groups if any(lookup(body, p) is not _MISSING for p in g)]
        if len(used) > 1:
            names = " and ".join("/".join(g) for g in used)
            allowed = ", ".join("/".join(g) for g in self.groups)
            raise KlingValidationError(f"{names} cannot be combined: use only one of {allowed}")

    def describe(self) -> str:
        return "only one of " + ", ".join("/".join(g) for g in self.groups)


@dataclass(frozen=True)
class Requires(BodyRule):
    path: str
    needs: str

    def apply(self, body: Mapping[str, Any], found: Findings) -> None:
        if lookup(body, self.path) is not _MISSING and lookup(body, self.needs) is _MISSING:
            raise KlingValidationError(f"{self.path} needs {self.needs}: set {self.needs} as well")

    def describe(self) -> str:
        return f"{self.path} needs {self.needs}"


@dataclass(frozen=True)
class RequiredWhen(BodyRule):
    """``path`` is required when every ``(field, value)`` of ``when`` holds (``unless``: when not all hold).

    A condition on a value only known after rendering is not decided while parsing.
    """

    path: str
    when: tuple[tuple[str, Any], ...]
    unless: bool = False

    def apply(self, body: Mapping[str, Any], found: Findings) -> None:
        values = [lookup(body, p) for p, _ in self.when]
        if any(v is not _MISSING and found.skip(v) for v in values):
            return
        met = all(v == expected for v, (_, expected) in zip(values, self.when, strict=True))
        if met != self.unless and lookup(body, self.path) is _MISSING:
            raise KlingValidationError(f"{self.path} is required {self.describe_condition()}")

    def describe_condition(self) -> str:
        condition = " and ".join(f"{p} is {v!r}" for p, v in self.when)
        return f"{'unless' if self.unless else 'when'} {condition}"

    def describe(self) -> str:
        return f"{self.path} required {self.describe_condition()}"


@dataclass(frozen=True)
class PartsAddUp(BodyRule):
    """The items' ``part`` values add up to ``total`` (multi-shot: shot durations make the video's)."""

    items: str
    part: str
    total: str

    def apply(self, body: Mapping[str, Any], found: Findings) -> None:
        items, total = lookup(body, self.items), lookup(body, self.total)
        if items is _MISSING or total is _MISSING or found.skip(total) or not isinstance(items, list):
            return
        parts: list[Any] = [item.get(self.part) for item in items if isinstance(item, Mapping)]
        if len(parts) != len(items) or any(p is None or found.skip(p) for p in parts):
            return
        added: float = sum(float(p) for p in parts)
        if not math.isclose(added, float(total)):
            raise KlingValidationError(
                f"{self.items} {self.part}s add up to {added:g} but {self.total} is {total}: they must match"
            )

    def describe(self) -> str:
        return f"{self.items}[].{self.part} add up to {self.total}"


@dataclass(frozen=True)
class ExpansionLimit(BodyRule):
    """editing/expand: the expanded image is at most ``max_factor`` times the original's area."""

    ratios: tuple[str, str, str, str] = (
        "up_expansion_ratio",
        "down_expansion_ratio",
        "left_expansion_ratio",
        "right_expansion_ratio",
    )
    max_factor: float = 4.0

    def apply(self, body: Mapping[str, Any], found: Findings) -> None:
        values = [body.get(name, 0) for name in self.ratios]
        if any(found.skip(v) for v in values):
            return
        up, down, left, right = (float(v) for v in values)
        area = (1 + up + down) * (1 + left + right)
        if area > self.max_factor + 1e-9:
            raise KlingValidationError(
                f"the expansion ratios make the image {area:g}x its area; the new area may be at most "
                f"{self.max_factor - 1:g}x the original's ({self.max_factor:g}x in all)"
            )

    def describe(self) -> str:
        return f"new area ≤ {self.max_factor - 1:g}x the original"
