"""Create-body rules of kling-api.md §4, as Kling's side enforces them (written from the document alone).

Every refusal is the message of a code-1201 answer, ``"invalid parameter: <field> ..."``, naming the field.
An optional field sent as ``""`` or JSON ``null`` is *unset*, never an error (Kling's own examples send
``"negative_prompt": ""``), at any depth. Unknown fields are ignored unless the emulator runs with
``strict_fields``. Unlike a careful client, Kling knows its own values: a model name outside §4's list for
the task type, a duration or mode that model does not offer, answers 1201.

Each task type is a ``TaskRules``: a checker per field plus the rules that span fields or need emulator state
(a ``video_id`` must name a video of an earlier succeeded task). ``FIELDS`` is derived from those tables, so
it is exactly the set of names the rules know.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_kling.testing.images import BadImage, check_image

MAX_PROMPT = 2500
MAX_SHOT_PROMPT = 512
MAX_SHOTS = 6

#: §4 text2video's known models; the other video types of §4 name no list of their own and use this one
#: plus the two image2video-only names (``kling-v1-5``, ``kling-v2-1``).
T2V_MODELS = (
    "kling-v1",
    "kling-v1-6",
    "kling-v2-master",
    "kling-v2-1-master",
    "kling-v2-5-turbo",
    "kling-v2-6",
    "kling-v3",
    "kling-video-o1",
    "kling-v3-omni",
)
VIDEO_MODELS = (*T2V_MODELS, "kling-v1-5", "kling-v2-1")
IMAGE_MODELS = ("kling-v1", "kling-v1-5", "kling-v2", "kling-v2-new", "kling-v2-1", "kling-v3")
TRY_ON_MODELS = ("kolors-virtual-try-on-v1", "kolors-virtual-try-on-v1-5")
#: Models that offer ``mode: 4k`` and durations "3".."15".
V3_MODELS = ("kling-v3", "kling-v3-omni")
#: Durations per model: v3 family 3..15 s, kling-video-o1 3..10 s (§4 omni-video), older models 5 or 10 s.
V3_DURATIONS = tuple(str(s) for s in range(3, 16))
O1_DURATIONS = tuple(str(s) for s in range(3, 11))
CLASSIC_DURATIONS = ("5", "10")
#: The model Kling uses when ``model_name`` is unset.
DEFAULT_MODEL = {"multi-image2video": "kling-v1-6", "kolors-virtual-try-on": TRY_ON_MODELS[0]}

VIDEO_ASPECT_RATIOS = ("16:9", "9:16", "1:1")
IMAGE_ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9")
CAMERA_PRESETS = ("down_back", "forward_up", "right_turn_forward", "left_turn_forward")
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")

Body = dict[str, Any]


class Invalid(Exception):
    """A refused create; the text follows ``"invalid parameter: "`` in the 1201 answer."""


class State(Protocol):
    """What the rules need to know about the emulator's tasks."""

    def video_ready(self, video_id: str) -> bool:
        """True if ``video_id`` is a video of an earlier task that has succeeded."""
        ...


Check = Callable[[Any, str], None]  # (value that is set, its path for messages); raises Invalid
CrossCheck = Callable[[Body, State], None]


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


def camera_control(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise Invalid(f"{path} must be an object")
    kind = value.get("type")
    if kind == "simple":
        config = value.get("config")
        if not isinstance(config, dict):
            raise Invalid(f"{path}.config is required when type is simple")
        if set(config) - set(CAMERA_AXES):
            raise Invalid(f"{path}.config keys must be among {', '.join(CAMERA_AXES)}")
        for axis, amount in config.items():
            number(-10, 10)(amount, f"{path}.config.{axis}")
        if sum(amount != 0 for amount in config.values()) != 1:
            raise Invalid(f"{path}.config must have exactly one non-zero value")
    elif kind in CAMERA_PRESETS:
        if not is_unset(value.get("config")):
            raise Invalid(f"{path}.config must not be set when type is {kind}")
    else:
        raise Invalid(f"{path}.type must be one of simple, {', '.join(CAMERA_PRESETS)}")


SHOT = Obj(
    {"index": integer(0, 1000), "prompt": text(MAX_SHOT_PROMPT), "duration": text()},
    required=("index", "prompt", "duration"),
)
DYNAMIC_MASK = Obj(
    {
        "mask": image(),
        "trajectories": items(Obj({"x": any_number, "y": any_number}, required=("x", "y")), 2, 77),
    },
    required=("mask", "trajectories"),
)
WATERMARK = Obj({"enabled": boolean}, required=("enabled",))
ELEMENT_LIST = items(Obj({"element_id": element_id}, required=("element_id",)), 1)
VOICE_LIST = items(Obj({"voice_id": text()}, required=("voice_id",)), 1)


# ---- rules that span fields ----------------------------------------------------------------------------


def model_of(task_type: str, body: Body) -> str:
    return str(body.get("model_name") or DEFAULT_MODEL.get(task_type, "kling-v1"))


def durations_of(model_name: str) -> tuple[str, ...]:
    if model_name in V3_MODELS:
        return V3_DURATIONS
    return O1_DURATIONS if model_name == "kling-video-o1" else CLASSIC_DURATIONS


def video_model_limits(task_type: str) -> CrossCheck:
    """``mode: 4k`` only on the v3 family; the durations each model offers."""

    def check(body: Body, _: State) -> None:
        name = model_of(task_type, body)
        if body.get("mode") == "4k" and name not in V3_MODELS:
            raise Invalid(f"mode '4k' is only offered by {', '.join(V3_MODELS)}; model_name is {name!r}")
        duration = body.get("duration")
        if duration is None:
            return
        allowed = durations_of(name)
        if duration not in allowed:
            shown = f'"{allowed[0]}".."{allowed[-1]}"' if len(allowed) > 2 else '"5", "10"'
            raise Invalid(f"duration must be one of {shown} for {name}; got {duration!r}")

    return check


def multi_shot(prompt_required: bool) -> CrossCheck:
    """v3 multi-shot: ``shot_type`` customize needs ``multi_prompt``, intelligence needs ``prompt``.

    When ``multi_shot`` is not true, ``shot_type`` and ``multi_prompt`` are ignored (Kling's docs call them
    "invalid" then, meaning without effect).
    """

    def check(body: Body, _: State) -> None:
        if body.get("multi_shot") is not True:
            if prompt_required and "prompt" not in body:
                raise Invalid("prompt is required")
            return
        shot_type = body.get("shot_type")
        if shot_type is None:
            raise Invalid("shot_type is required when multi_shot is true")
        if shot_type == "intelligence":
            if "prompt" not in body:
                raise Invalid("prompt is required when shot_type is intelligence")
            return
        shots = body.get("multi_prompt")
        if shots is None:
            raise Invalid("multi_prompt is required when multi_shot is true and shot_type is customize")
        total = body.get("duration")
        for i, shot in enumerate(shots):
            seconds = shot["duration"]
            if not seconds.isdigit() or int(seconds) < 1 or (total is not None and int(seconds) > int(total)):
                raise Invalid(f"multi_prompt[{i}].duration must be a whole number of seconds, 1 to duration")
        if total is not None and sum(int(shot["duration"]) for shot in shots) != int(total):
            raise Invalid(f"multi_prompt durations must add up to duration ({total})")

    return check


def image2video_groups(body: Body, _: State) -> None:
    groups = [
        "image_tail" in body,
        "static_mask" in body or "dynamic_masks" in body,
        "camera_control" in body,
    ]
    if sum(groups) > 1:
        raise Invalid("image_tail, static_mask/dynamic_masks and camera_control are mutually exclusive")
    if "image" not in body and "image_tail" not in body:
        raise Invalid("image or image_tail is required")


def image_reference_needs_image(body: Body, _: State) -> None:
    if "image_reference" in body and "image" not in body:
        raise Invalid("image_reference requires image")


def known_video(path: str) -> CrossCheck:
    def check(body: Body, state: State) -> None:
        if path in body and not state.video_ready(body[path]):
            raise Invalid(f"{path} must be the id of a video generated by an earlier, succeeded task")

    return check


# ---- the task types ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRules:
    fields: Mapping[str, Check]
    required: tuple[str, ...] = ()
    checks: tuple[CrossCheck, ...] = ()
    all_fields: Mapping[str, Check] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "all_fields", {**self.fields, **COMMON})

    def field_names(self) -> frozenset[str]:
        names = set(self.all_fields)
        nested = self.all_fields.get("input")
        if isinstance(nested, Obj):
            names |= {f"input.{name}" for name in nested.fields}
        return frozenset(names)


COMMON: Mapping[str, Check] = {"callback_url": url, "external_task_id": text()}
PROMPT = text(MAX_PROMPT)
V3_FIELDS: Mapping[str, Check] = {
    "multi_shot": boolean,
    "shot_type": choice("customize", "intelligence"),
    "multi_prompt": items(SHOT, 1, MAX_SHOTS),
    "element_list": ELEMENT_LIST,
    "voice_list": VOICE_LIST,
    "watermark_info": WATERMARK,
}
VIDEO_MODES = choice("std", "pro", "4k")
SOUND = choice("on", "off")

RULES: dict[str, TaskRules] = {
    "text2video": TaskRules(
        {
            "prompt": PROMPT,
            "negative_prompt": PROMPT,
            "model_name": model("text2video", T2V_MODELS),
            "cfg_scale": number(0, 1),
            "mode": VIDEO_MODES,
            "aspect_ratio": choice(*VIDEO_ASPECT_RATIOS),
            "duration": text(),
            "camera_control": camera_control,
            "sound": SOUND,
            **V3_FIELDS,
        },
        checks=(video_model_limits("text2video"), multi_shot(prompt_required=True)),
    ),
    "image2video": TaskRules(
        {
            "image": image(first_frame=True),
            "image_tail": image(),
            "prompt": PROMPT,
            "negative_prompt": PROMPT,
            "model_name": model("image2video", VIDEO_MODELS),
            "cfg_scale": number(0, 1),
            "mode": VIDEO_MODES,
            "duration": text(),
            "sound": SOUND,
            "static_mask": image(),
            "dynamic_masks": items(DYNAMIC_MASK, 1, 6),
            "camera_control": camera_control,
            **V3_FIELDS,
        },
        checks=(image2video_groups, video_model_limits("image2video"), multi_shot(prompt_required=False)),
    ),
    "multi-image2video": TaskRules(
        {
            "image_list": items(Obj({"image": image(first_frame=True)}, required=("image",)), 1, 4),
            "prompt": PROMPT,
            "negative_prompt": PROMPT,
            "model_name": model("multi-image2video", VIDEO_MODELS),
            "mode": VIDEO_MODES,
            "duration": text(),
            "aspect_ratio": choice(*VIDEO_ASPECT_RATIOS),
        },
        required=("image_list", "prompt"),
        checks=(video_model_limits("multi-image2video"),),
    ),
    "video-extend": TaskRules(
        {"video_id": text(), "prompt": PROMPT, "negative_prompt": PROMPT, "cfg_scale": number(0, 1)},
        required=("video_id",),
        checks=(known_video("video_id"),),
    ),
    "generations": TaskRules(
        {
            "prompt": PROMPT,
            "negative_prompt": PROMPT,
            "model_name": model("generations", IMAGE_MODELS),
            "image": image(),
            "image_reference": choice("subject", "face"),
            "image_fidelity": number(0, 1),
            "human_fidelity": number(0, 1),
            "resolution": choice("1k", "2k"),
            "n": integer(1, 9),
            "aspect_ratio": choice(*IMAGE_ASPECT_RATIOS),
            "watermark_info": WATERMARK,
        },
        required=("prompt",),
        checks=(image_reference_needs_image,),
    ),
    "kolors-virtual-try-on": TaskRules(
        {
            "human_image": image(),
            "cloth_image": image(),
            "model_name": model("kolors-virtual-try-on", TRY_ON_MODELS),
        },
        required=("human_image", "cloth_image"),
    ),
}

#: Per task type path, every request field name the emulator knows (``input.x`` for Kling's input object).
FIELDS: dict[str, frozenset[str]] = {path: rules.field_names() for path, rules in RULES.items()}


def validate_create(task_type: str, body: Any, state: State, strict: bool = False) -> Body:
    """Return ``body`` without its unset fields, or raise Invalid; ``strict`` also refuses unknown fields."""
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object")
    rules = RULES[task_type]
    body = clean(body)
    if strict:
        nested = body.get("input")
        names = set(body) | ({f"input.{name}" for name in nested} if isinstance(nested, dict) else set())
        unknown = sorted(names - rules.field_names())
        if unknown:
            raise Invalid(f"unknown field(s) for {task_type}: {', '.join(unknown)}")
    check_fields(body, rules.all_fields, rules.required)
    for check in rules.checks:
        check(body, state)
    return body
