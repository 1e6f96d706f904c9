"""Create-request rules per task type (kling-api.md §4), checked before anything is sent or paid for.

``validate_payload`` returns the body to send: only the fields the user set, durations as strings. Every
problem is a ``KlingValidationError`` naming the field, the value and what is allowed. Unknown model names
pass (Kling adds models often); unknown fields are passed through with a warning.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.task_types import get_task_type, validate_task_id

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 2500
VIDEO_ASPECT_RATIOS = ("16:9", "9:16", "1:1")
IMAGE_ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9")
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
CAMERA_PRESETS = ("down_back", "forward_up", "right_turn_forward", "left_turn_forward")
TRY_ON_MODELS = ("kolors-virtual-try-on-v1", "kolors-virtual-try-on-v1-5")
# image2video: at most one of these groups may be used at once.
IMAGE2VIDEO_EXCLUSIVE = (("image_tail",), ("static_mask", "dynamic_masks"), ("camera_control",))
IMAGE_FIELDS = frozenset({"image", "image_tail", "static_mask", "human_image", "cloth_image"})

Rule = Callable[[str, Any], Any]


def _fail(field: str, value: Any, allowed: str) -> KlingValidationError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return KlingValidationError(f"{field} must be {allowed}; got {shown}")


def text(max_chars: int = MAX_PROMPT_CHARS) -> Rule:
    def check(field: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _fail(field, value, "a non-empty string")
        if len(value) > max_chars:
            raise KlingValidationError(f"{field} must be at most {max_chars} characters; got {len(value)}")
        return value

    return check


def one_of(*allowed: str) -> Rule:
    def check(field: str, value: Any) -> str:
        if value not in allowed:
            raise _fail(field, value, "one of " + ", ".join(allowed))
        return str(value)

    return check


def number(low: float, high: float, *, integer: bool = False) -> Rule:
    def check(field: str, value: Any) -> float | int:
        kind = "an integer" if integer else "a number"
        if isinstance(value, str):  # a rendered template ("{{ params.n }}" gives "3"): send the number
            try:
                value = int(value) if integer else float(value)
            except ValueError:
                raise _fail(field, value, f"{kind} from {low:g} to {high:g}") from None
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type or not math.isfinite(value) or not low <= value <= high:
            raise _fail(field, value, f"{kind} from {low:g} to {high:g}")
        return value

    return check


def duration(field: str, value: Any) -> str:
    """Kling wants ``"5"`` or ``"10"``; users naturally write ``5``."""
    if isinstance(value, bool) or str(value) not in ("5", "10"):
        raise _fail(field, value, '5 or 10 (seconds; sent as the string "5" or "10")')
    return str(value)


def url(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise _fail(field, value, "an http(s) URL")
    return value


def image(field: str, value: Any) -> str:
    """Shape only; ``images.resolve_image`` reads and checks the content at execution time."""
    if not isinstance(value, str) or not value.strip():
        raise _fail(field, value, "an http(s) URL, raw Base64, or a local or object-storage path")
    return value


def external_task_id(field: str, value: Any) -> str:
    try:
        return validate_task_id(value, field)
    except ValueError as err:
        raise KlingValidationError(str(err)) from None


def camera_control(field: str, value: Any) -> dict[str, Any]:
    presets = ", ".join(("simple", *CAMERA_PRESETS))
    if not isinstance(value, Mapping) or value.get("type") not in ("simple", *CAMERA_PRESETS):
        raise _fail(
            f"{field}.type", value.get("type") if isinstance(value, Mapping) else value, f"one of {presets}"
        )
    config = value.get("config")
    if value["type"] != "simple":
        if config:
            raise _fail(f"{field}.config", config, f"absent for type {value['type']!r}")
        return {"type": value["type"]}
    if not isinstance(config, Mapping):
        raise _fail(
            f"{field}.config", config, "an object with " + ", ".join(CAMERA_AXES) + " for type 'simple'"
        )
    unknown = sorted(set(config) - set(CAMERA_AXES))
    if unknown:
        raise _fail(f"{field}.config", unknown[0], "one of the keys " + ", ".join(CAMERA_AXES))
    values = {axis: number(-10, 10)(f"{field}.config.{axis}", config[axis]) for axis in config}
    if sum(1 for v in values.values() if v != 0) != 1:
        raise _fail(f"{field}.config", dict(config), "exactly one non-zero value for type 'simple'")
    return {"type": "simple", "config": values}


def image_list(field: str, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= 4:
        raise _fail(field, value, "a list of 1 to 4 images")
    items = []
    for index, item in enumerate(value):
        source = item.get("image") if isinstance(item, Mapping) else item
        items.append({"image": image(f"{field}[{index}].image", source)})
    return items


def dynamic_masks(field: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= 6:
        raise _fail(field, value, "a list of 1 to 6 masks")
    masks = []
    for index, item in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(item, Mapping):
            raise _fail(
                where, item, 'an object {"mask": <image>, "trajectories": [{"x": int, "y": int}, ...]}'
            )
        trajectories = item.get("trajectories")
        if not isinstance(trajectories, list | tuple) or not trajectories:
            raise _fail(f"{where}.trajectories", trajectories, 'a non-empty list of {"x": int, "y": int}')
        for point_index, point in enumerate(trajectories):
            if not (isinstance(point, Mapping) and all(isinstance(point.get(k), int) for k in ("x", "y"))):
                raise _fail(f"{where}.trajectories[{point_index}]", point, 'an object {"x": int, "y": int}')
        masks.append({"mask": image(f"{where}.mask", item.get("mask")), "trajectories": list(trajectories)})
    return masks


_COMMON: dict[str, Rule] = {"callback_url": url, "external_task_id": external_task_id}
_VIDEO: dict[str, Rule] = {
    "prompt": text(),
    "negative_prompt": text(),
    "model_name": text(200),
    "cfg_scale": number(0, 1),
    "mode": one_of("std", "pro"),
    "duration": duration,
}

RULES: dict[str, dict[str, Rule]] = {
    "text2video": {
        **_VIDEO,
        "aspect_ratio": one_of(*VIDEO_ASPECT_RATIOS),
        "camera_control": camera_control,
        "sound": one_of("on", "off"),
    },
    "image2video": {
        **_VIDEO,
        "image": image,
        "image_tail": image,
        "static_mask": image,
        "dynamic_masks": dynamic_masks,
        "camera_control": camera_control,
    },
    "multi-image2video": {**_VIDEO, "image_list": image_list, "aspect_ratio": one_of(*VIDEO_ASPECT_RATIOS)},
    "video-extend": {
        "video_id": text(128),
        "prompt": text(),
        "negative_prompt": text(),
        "cfg_scale": number(0, 1),
    },
    "generations": {
        "prompt": text(),
        "negative_prompt": text(),
        "model_name": text(200),
        "image": image,
        "image_reference": one_of("subject", "face"),
        "image_fidelity": number(0, 1),
        "human_fidelity": number(0, 1),
        "resolution": one_of("1k", "2k"),
        "n": number(1, 9, integer=True),
        "aspect_ratio": one_of(*IMAGE_ASPECT_RATIOS),
    },
    "kolors-virtual-try-on": {
        "human_image": image,
        "cloth_image": image,
        "model_name": one_of(*TRY_ON_MODELS),
    },
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "text2video": ("prompt",),
    "multi-image2video": ("image_list", "prompt"),
    "video-extend": ("video_id",),
    "generations": ("prompt",),
    "kolors-virtual-try-on": ("human_image",),
}


def validate_payload(
    task_type: str, payload: Mapping[str, Any], *, templated: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    """Check a create body against Kling's rules; return it with the unset (``None``) fields dropped.

    Fields named in ``templated`` are only known after rendering: they count as present but are not checked
    (the operator validates again, fully, after rendering).
    """
    name = get_task_type(task_type).name
    if not isinstance(payload, Mapping):
        raise _fail("payload", payload, "a mapping of Kling request fields")
    rules = {**RULES[name], **_COMMON}
    body: dict[str, Any] = {}
    for field, value in payload.items():
        if value is None:
            continue
        rule = rules.get(field)
        if field in templated:
            body[field] = value
        elif rule is None:
            log.warning("Field %r is not a documented %s field; sending it as given", field, name)
            body[field] = value
        else:
            body[field] = rule(field, value)
    for field in REQUIRED.get(name, ()):
        if field not in body:
            raise KlingValidationError(f"{field} is required for {name}")
    if name == "image2video":
        if "image" not in body and "image_tail" not in body:
            raise KlingValidationError("image2video needs image or image_tail (at least one)")
        used = [group for group in IMAGE2VIDEO_EXCLUSIVE if any(f in body for f in group)]
        if len(used) > 1:
            names = " and ".join("/".join(group) for group in used)
            raise KlingValidationError(
                f"image2video fields {names} cannot be combined: use only one of image_tail, "
                "static_mask/dynamic_masks, camera_control"
            )
    return body
