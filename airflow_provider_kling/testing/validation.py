"""Create-body rules of kling-api.md §4, as Kling's side would enforce them.

Each check returns the message of a code-1201 answer (``"invalid parameter: <field> ..."``) or None.
Fields that do not belong to a task type are ignored, as are unknown fields; JSON ``null`` counts as absent.
Video model names are never rejected (newer names keep appearing), only an empty one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

MAX_PROMPT = 2500
MAX_IMAGE_BYTES = 10 * 1024 * 1024
VIDEO_ASPECT_RATIOS = ("16:9", "9:16", "1:1")
IMAGE_ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9")
DURATIONS = ("5", "10")
CAMERA_PRESETS = ("down_back", "forward_up", "right_turn_forward", "left_turn_forward")
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
TRY_ON_MODELS = ("kolors-virtual-try-on-v1", "kolors-virtual-try-on-v1-5")

Body = dict[str, Any]


class Invalid(Exception):
    """Raised inside the checks; carries the 1201 message."""


def validate_create(task_type: str, body: Any, video_exists: Callable[[str], bool]) -> str | None:
    """Validate a create body for ``task_type`` (action2); ``video_exists`` tells if a video id is ours."""
    if not isinstance(body, dict):
        return "invalid parameter: request body must be a JSON object"
    try:
        _common(body)
        _RULES[task_type](body, video_exists)
    except Invalid as exc:
        return f"invalid parameter: {exc}"
    return None


def _present(body: Body, name: str) -> bool:
    return body.get(name) is not None


def _choice(body: Body, name: str, allowed: tuple[str, ...]) -> None:
    if _present(body, name) and body[name] not in allowed:
        raise Invalid(f"{name} must be one of {', '.join(allowed)}")


def _string(body: Body, name: str, required: bool = False, max_len: int | None = None) -> None:
    if not _present(body, name):
        if required:
            raise Invalid(f"{name} is required")
        return
    value = body[name]
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    if required and not value.strip():
        raise Invalid(f"{name} is required and must not be empty")
    if max_len is not None and len(value) > max_len:
        raise Invalid(f"{name} must be at most {max_len} characters")


def _unit_number(body: Body, name: str) -> None:
    if not _present(body, name):
        return
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise Invalid(f"{name} must be a number between 0 and 1")


def _image(value: Any, name: str) -> None:
    """An http(s) URL or raw Base64 without a ``data:`` prefix, at most 10 MB decoded."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{name} must be an http(s) URL or a Base64 string")
    if value.startswith(("http://", "https://")):
        if len(value.split("://", 1)[1]) == 0:
            raise Invalid(f"{name} URL has no host")
        return
    if value.lower().startswith("data:"):
        raise Invalid(f"{name} must be raw Base64 without a data: prefix")
    try:
        decoded = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(f"{name} must be an http(s) URL or valid Base64") from None
    if not decoded:
        raise Invalid(f"{name} must not be empty")
    if len(decoded) > MAX_IMAGE_BYTES:
        raise Invalid(f"{name} must be at most 10 MB")


def _optional_image(body: Body, name: str) -> None:
    if _present(body, name):
        _image(body[name], name)


def _model_name(body: Body, allowed: tuple[str, ...] | None = None) -> None:
    _string(body, "model_name")
    if _present(body, "model_name") and not body["model_name"]:
        raise Invalid("model_name must not be empty")
    if allowed is not None:
        _choice(body, "model_name", allowed)


def _duration(body: Body) -> None:
    if _present(body, "duration") and body["duration"] not in DURATIONS:
        raise Invalid('duration must be one of the strings "5", "10"')


def _camera_control(body: Body) -> None:
    if not _present(body, "camera_control"):
        return
    cc = body["camera_control"]
    if not isinstance(cc, dict):
        raise Invalid("camera_control must be an object")
    kind = cc.get("type")
    if kind == "simple":
        config = cc.get("config")
        if not isinstance(config, dict):
            raise Invalid("camera_control.config is required when type is simple")
        extra = sorted(set(config) - set(CAMERA_AXES))
        if extra:
            raise Invalid(f"camera_control.config keys must be among {', '.join(CAMERA_AXES)}")
        non_zero = 0
        for axis, value in config.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not -10 <= value <= 10:
                raise Invalid(f"camera_control.config.{axis} must be a number between -10 and 10")
            non_zero += value != 0
        if non_zero != 1:
            raise Invalid("camera_control.config must have exactly one non-zero value")
    elif kind in CAMERA_PRESETS:
        if cc.get("config") is not None:
            raise Invalid(f"camera_control.config must not be set when type is {kind}")
    else:
        raise Invalid(f"camera_control.type must be one of simple, {', '.join(CAMERA_PRESETS)}")


def _common(body: Body) -> None:
    _string(body, "negative_prompt", max_len=MAX_PROMPT)
    _string(body, "external_task_id")
    if _present(body, "external_task_id") and not body["external_task_id"]:
        raise Invalid("external_task_id must not be empty")
    _string(body, "callback_url")
    if _present(body, "callback_url") and not body["callback_url"].startswith(("http://", "https://")):
        raise Invalid("callback_url must be an http(s) URL")


def _text2video(body: Body, _: Callable[[str], bool]) -> None:
    _string(body, "prompt", required=True, max_len=MAX_PROMPT)
    _model_name(body)
    _unit_number(body, "cfg_scale")
    _choice(body, "mode", ("std", "pro"))
    _choice(body, "aspect_ratio", VIDEO_ASPECT_RATIOS)
    _duration(body)
    _choice(body, "sound", ("on", "off"))
    _camera_control(body)


def _image2video(body: Body, _: Callable[[str], bool]) -> None:
    if not _present(body, "image") and not _present(body, "image_tail"):
        raise Invalid("image or image_tail is required")
    _optional_image(body, "image")
    _optional_image(body, "image_tail")
    _string(body, "prompt", max_len=MAX_PROMPT)
    _model_name(body)
    _unit_number(body, "cfg_scale")
    _choice(body, "mode", ("std", "pro"))
    _duration(body)
    _choice(body, "sound", ("on", "off"))
    groups = [
        _present(body, "image_tail"),
        _present(body, "static_mask") or _present(body, "dynamic_masks"),
        _present(body, "camera_control"),
    ]
    if sum(groups) > 1:
        raise Invalid("image_tail, static_mask/dynamic_masks and camera_control are mutually exclusive")
    _optional_image(body, "static_mask")
    if _present(body, "dynamic_masks"):
        masks = body["dynamic_masks"]
        if not isinstance(masks, list) or not 1 <= len(masks) <= 6:
            raise Invalid("dynamic_masks must be a list of 1 to 6 items")
        for i, mask in enumerate(masks):
            if not isinstance(mask, dict):
                raise Invalid(f"dynamic_masks[{i}] must be an object with mask and trajectories")
            _image(mask.get("mask"), f"dynamic_masks[{i}].mask")
            points = mask.get("trajectories")
            if not isinstance(points, list) or not points:
                raise Invalid(f"dynamic_masks[{i}].trajectories must be a non-empty list of {{x, y}}")
            for point in points:
                if not isinstance(point, dict) or not all(
                    isinstance(point.get(k), int | float) and not isinstance(point.get(k), bool)
                    for k in ("x", "y")
                ):
                    raise Invalid(f"dynamic_masks[{i}].trajectories items must be {{x, y}} numbers")
    _camera_control(body)


def _multi_image2video(body: Body, _: Callable[[str], bool]) -> None:
    images = body.get("image_list")
    if not isinstance(images, list) or not 1 <= len(images) <= 4:
        raise Invalid("image_list is required: a list of 1 to 4 {image} objects")
    for i, item in enumerate(images):
        if not isinstance(item, dict) or item.get("image") is None:
            raise Invalid(f"image_list[{i}].image is required")
        _image(item["image"], f"image_list[{i}].image")
    _string(body, "prompt", required=True, max_len=MAX_PROMPT)
    _model_name(body)
    _choice(body, "mode", ("std", "pro"))
    _duration(body)
    _choice(body, "aspect_ratio", VIDEO_ASPECT_RATIOS)


def _video_extend(body: Body, video_exists: Callable[[str], bool]) -> None:
    _string(body, "video_id", required=True)
    if not video_exists(body["video_id"]):
        raise Invalid("video_id must be the id of a video generated by an earlier, succeeded task")
    _string(body, "prompt", max_len=MAX_PROMPT)
    _unit_number(body, "cfg_scale")


def _generations(body: Body, _: Callable[[str], bool]) -> None:
    _string(body, "prompt", required=True, max_len=MAX_PROMPT)
    _model_name(body)
    _optional_image(body, "image")
    _choice(body, "image_reference", ("subject", "face"))
    _unit_number(body, "image_fidelity")
    _unit_number(body, "human_fidelity")
    _choice(body, "resolution", ("1k", "2k"))
    if _present(body, "n"):
        n = body["n"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 9:
            raise Invalid("n must be an integer between 1 and 9")
    _choice(body, "aspect_ratio", IMAGE_ASPECT_RATIOS)


def _try_on(body: Body, _: Callable[[str], bool]) -> None:
    if not _present(body, "human_image"):
        raise Invalid("human_image is required")
    _image(body["human_image"], "human_image")
    _optional_image(body, "cloth_image")
    _model_name(body, TRY_ON_MODELS)


_RULES: dict[str, Callable[[Body, Callable[[str], bool]], None]] = {
    "text2video": _text2video,
    "image2video": _image2video,
    "multi-image2video": _multi_image2video,
    "video-extend": _video_extend,
    "generations": _generations,
    "kolors-virtual-try-on": _try_on,
}
