"""Create-body rules of kling-api.md §4, as Kling's side enforces them (written from the document alone).

Every refusal is the message of a code-1201 answer, ``"invalid parameter: <field> ..."``, naming the field.
An optional field sent as ``""`` or JSON ``null`` is *unset*, never an error (Kling's own examples send
``"negative_prompt": ""``), at any depth. Unknown fields are ignored unless the emulator runs with
``strict_fields``. Unlike a careful client, Kling knows its own values: a model name outside §4's list for
the task type, a duration or mode that model does not offer, answers 1201. Where §4 names no value set
(effect scenes, omni-image models), any string goes.

Each task type is a ``TaskRules``: a checker per field plus the rules that span fields or need emulator state
(a ``video_id`` must name a video of an earlier succeeded task, a ``session_id`` a live session).
``FIELDS`` is derived from those tables, so it is exactly the set of names the rules know. The session
endpoints of the two-step flows have rules of the same form in ``SESSION_RULES``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_kling.testing.schema import (
    Body,
    Check,
    Invalid,
    Obj,
    any_number,
    boolean,
    check_fields,
    choice,
    clean,
    element_id,
    exactly_one,
    image,
    integer,
    is_unset,
    items,
    model,
    number,
    text,
    url,
)
from airflow_provider_kling.testing.sessions import MAX_MARKED_FRAMES, MAX_POINTS_PER_FRAME, Session

MAX_PROMPT = 2500
MAX_SHOT_PROMPT = 512
MAX_SHOTS = 6

#: §4 text2video's known models; image2video and multi-image2video (no list of their own in §4) take these
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
OMNI_VIDEO_MODELS = ("kling-video-o1", "kling-v3-omni")
MOTION_MODELS = ("kling-v2-6", "kling-v3")
ELEMENTS_MODELS = ("kling-v1-6",)
IMAGE_MODELS = ("kling-v1", "kling-v1-5", "kling-v2", "kling-v2-new", "kling-v2-1", "kling-v3")
MULTI_IMAGE_MODELS = ("kling-v2", "kling-v2-1")
TRY_ON_MODELS = ("kolors-virtual-try-on-v1", "kolors-virtual-try-on-v1-5")
#: Models that offer ``mode: 4k`` and durations "3".."15".
V3_MODELS = ("kling-v3", "kling-v3-omni")
#: Durations per model: v3 family 3..15 s, kling-video-o1 3..10 s (§4 omni-video), older models 5 or 10 s.
V3_DURATIONS = tuple(str(s) for s in range(3, 16))
O1_DURATIONS = tuple(str(s) for s in range(3, 11))
CLASSIC_DURATIONS = ("5", "10")
#: The model Kling uses when ``model_name`` is unset (kling-v1 for the types not listed).
DEFAULT_MODEL = {
    "multi-image2video": "kling-v1-6",
    "omni-video": "kling-video-o1",
    "kolors-virtual-try-on": TRY_ON_MODELS[0],
}
#: Effect scenes known to take two people (``input.images``) or one image (``input.image``); Kling adds
#: scenes, so an unknown one is accepted with either.
TWO_PERSON_SCENES = ("hug", "kiss", "heart_gesture")
ONE_IMAGE_SCENES = ("squish", "expansion", "fuzzyfuzzy", "bloombloom", "dizzydizzy")

VIDEO_ASPECT_RATIOS = ("16:9", "9:16", "1:1")
IMAGE_ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9")
CAMERA_PRESETS = ("down_back", "forward_up", "right_turn_forward", "left_turn_forward")
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
#: Length limits Kling puts on the source video of video-to-audio and of a multi-elements session.
VIDEO_TO_AUDIO_SECONDS = (3.0, 20.0)
SELECTION_VIDEO_SECONDS = ((2.0, 5.0), (7.0, 10.0))
REFERENCE = re.compile(r"<<<(image|element|video)_(\d+)>>>")


class State(Protocol):
    """What the rules need to know about the emulator's tasks and sessions."""

    def video_seconds(self, video_id: str) -> float | None:
        """The length of ``video_id`` if it is a video of an earlier task that has succeeded, else None."""
        ...

    def session(self, kind: str, session_id: str) -> Session | None:
        """The live session of that kind, or None if unknown or expired."""
        ...


CrossCheck = Callable[[Body, State], None]


# ---- field shapes --------------------------------------------------------------------------------------


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


def audio_seconds(value: Any, path: str) -> None:
    """text-to-audio's duration: 3.0 to 10.0 seconds with at most one decimal (a number or its string)."""
    try:
        seconds = (
            float(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else None
        )
    except ValueError:
        seconds = None
    if seconds is None or not 3.0 <= seconds <= 10.0 or round(seconds, 1) != seconds:
        raise Invalid(f"{path} must be a number of seconds from 3.0 to 10.0 with one decimal; got {value!r}")


def unit_point(value: Any, path: str) -> None:
    Obj({"x": number(0, 1), "y": number(0, 1)}, required=("x", "y"))(value, path)


PROMPT = text(MAX_PROMPT)
VIDEO_MODES = choice("std", "pro", "4k")
STD_PRO = choice("std", "pro")
SOUND = choice("on", "off")
YES_NO = choice("yes", "no")
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
V3_FIELDS: Mapping[str, Check] = {
    "multi_shot": boolean,
    "shot_type": choice("customize", "intelligence"),
    "multi_prompt": items(SHOT, 1, MAX_SHOTS),
    "element_list": ELEMENT_LIST,
    "voice_list": VOICE_LIST,
    "watermark_info": WATERMARK,
}
FACE_CHOICE = Obj(
    {
        "face_id": text(),
        "audio_id": text(),
        "sound_file": text(),
        "sound_start_time": integer(0, 10**9),
        "sound_end_time": integer(0, 10**9),
        "sound_insert_time": integer(0, 10**9),
        "sound_volume": number(0, 2),
        "original_audio_volume": number(0, 2),
    },
    required=("face_id",),
)


# ---- rules that span fields or need state ----------------------------------------------------------------


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


def source_video(parent: str = "", seconds: tuple[float, float] | None = None) -> CrossCheck:
    """Exactly one of ``video_id`` / ``video_url`` (inside ``parent`` if given); an id names a succeeded
    video of ours, ``seconds`` bounds its length when known."""
    prefix = f"{parent}." if parent else ""

    def check(body: Body, state: State) -> None:
        source = body.get(parent, {}) if parent else body
        if exactly_one(source, ("video_id", "video_url"), prefix) == "video_id":
            check_video_id(source["video_id"], f"{prefix}video_id", state, seconds)

    return check


def check_video_id(
    video_id: str, path: str, state: State, seconds: tuple[float, float] | None = None
) -> float:
    length = state.video_seconds(video_id)
    if length is None:
        raise Invalid(f"{path} must be the id of a video generated by an earlier, succeeded task")
    if seconds is not None and not seconds[0] <= length <= seconds[1]:
        raise Invalid(f"{path} names a {length:g} s video; it must last {seconds[0]:g} to {seconds[1]:g} s")
    return length


def lip_sync_input(body: Body, _: State) -> None:
    spec = body["input"]
    if spec["mode"] == "text2video":
        for name in ("text", "voice_id"):
            if name not in spec:
                raise Invalid(f"input.{name} is required when input.mode is text2video")
        return
    kind = spec.get("audio_type")
    if kind is None:
        raise Invalid("input.audio_type is required when input.mode is audio2video")
    needed = "audio_file" if kind == "file" else "audio_url"
    if needed not in spec:
        raise Invalid(f"input.{needed} is required when input.audio_type is {kind}")


def effect_images(body: Body, _: State) -> None:
    scene, spec = body["effect_scene"], body["input"]
    chosen = exactly_one(spec, ("image", "images"), "input.")
    if scene in TWO_PERSON_SCENES and (chosen != "images" or len(spec["images"]) != 2):
        raise Invalid(f"input.images must hold 2 images for the two-person scene {scene!r}")
    if scene in ONE_IMAGE_SCENES and chosen != "image":
        raise Invalid(f"input.image is required for the scene {scene!r} (one image)")


def references(lists: Mapping[str, str]) -> CrossCheck:
    """``<<<image_2>>>`` in the prompt needs a second item in ``image_list`` (and so on per kind)."""

    def check(body: Body, _: State) -> None:
        for kind, number_text in REFERENCE.findall(body.get("prompt", "")):
            name = lists.get(kind)
            count = len(body.get(name, [])) if name else 0
            if name and not 1 <= int(number_text) <= count:
                raise Invalid(f"prompt refers to <<<{kind}_{number_text}>>> but {name} has {count} item(s)")

    return check


def one_audio(body: Body, _: State) -> None:
    exactly_one(body, ("audio_id", "sound_file"))


def expand_area(body: Body, _: State) -> None:
    ratios = {side: float(body.get(f"{side}_expansion_ratio", 0)) for side in ("up", "down", "left", "right")}
    total = (1 + ratios["up"] + ratios["down"]) * (1 + ratios["left"] + ratios["right"])
    if total > 4:
        raise Invalid("the expansion ratios make the new area more than 3 times the original image")


def live_session(kind: str) -> CrossCheck:
    def check(body: Body, state: State) -> None:
        if state.session(kind, body["session_id"]) is None:
            raise Invalid(f"session_id is not a live {kind} session (unknown, or older than 24 h)")

    return check


def multi_elements_edit(body: Body, state: State) -> None:
    session = state.session("multi-elements", body["session_id"])
    assert session is not None  # live_session ran first
    mode, images = body["edit_mode"], body.get("image_list", [])
    if mode in ("addition", "swap") and not images:
        raise Invalid(f"image_list is required when edit_mode is {mode}")
    if mode == "swap" and len(images) != 1:
        raise Invalid("image_list must hold exactly 1 image when edit_mode is swap")
    if mode in ("swap", "removal") and not any(session.selections.values()):
        raise Invalid(f"edit_mode {mode} needs a selected area: call add-selection first")


def chosen_faces(body: Body, state: State) -> None:
    session = state.session("identify-face", body["session_id"])
    assert session is not None  # live_session ran first
    for i, face in enumerate(body["face_choose"]):
        if face["face_id"] not in session.faces:
            raise Invalid(f"face_choose[{i}].face_id is not a face of this session")
        exactly_one(face, ("audio_id", "sound_file"), f"face_choose[{i}].")
        start, end = face.get("sound_start_time"), face.get("sound_end_time")
        if start is not None and end is not None and start >= end:
            raise Invalid(f"face_choose[{i}].sound_start_time must be before sound_end_time")


def selection_frame(body: Body, state: State) -> None:
    session = state.session("multi-elements", body["session_id"])
    assert session is not None  # live_session ran first
    frame = body["frame_index"]
    if frame >= session.total_frames:
        raise Invalid(f"frame_index must be below the video's {session.total_frames} frames")
    if frame not in session.selections and len(session.selections) >= MAX_MARKED_FRAMES:
        raise Invalid(f"at most {MAX_MARKED_FRAMES} frames can be marked")
    if len(session.selections.get(frame, [])) + len(body["points"]) > MAX_POINTS_PER_FRAME:
        raise Invalid(f"points: at most {MAX_POINTS_PER_FRAME} points can be marked on a frame")


def selection_video(body: Body, state: State) -> None:
    if "video_id" in body:
        seconds = check_video_id(body["video_id"], "video_id", state)
        if not any(low <= seconds <= high for low, high in SELECTION_VIDEO_SECONDS):
            raise Invalid(f"video_id names a {seconds:g} s video; it must last 2 to 5 s or 7 to 10 s")


# ---- the task types ------------------------------------------------------------------------------------

COMMON: Mapping[str, Check] = {"callback_url": url, "external_task_id": text()}


@dataclass(frozen=True)
class TaskRules:
    """``fields`` of the body (plus callback_url and external_task_id when ``common``), the ``required``
    ones, then ``checks`` in order (each may rely on the field checks having passed)."""

    fields: Mapping[str, Check]
    required: tuple[str, ...] = ()
    checks: tuple[CrossCheck, ...] = ()
    common: bool = True
    all_fields: Mapping[str, Check] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "all_fields", {**self.fields, **(COMMON if self.common else {})})

    def field_names(self) -> frozenset[str]:
        names = set(self.all_fields)
        nested = self.all_fields.get("input")
        if isinstance(nested, Obj):
            names |= {f"input.{name}" for name in nested.fields}
        return frozenset(names)


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
        checks=(source_video(),),
    ),
    "lip-sync": TaskRules(
        {
            "input": Obj(
                {
                    "video_id": text(),
                    "video_url": url,
                    "mode": choice("text2video", "audio2video"),
                    "text": text(120),
                    "voice_id": text(),
                    "voice_language": choice("zh", "en"),
                    "voice_speed": number(0.8, 2.0),
                    "audio_type": choice("file", "url"),
                    "audio_file": text(),
                    "audio_url": url,
                },
                required=("mode",),
            )
        },
        required=("input",),
        checks=(source_video("input"), lip_sync_input),
    ),
    "effects": TaskRules(
        {
            "effect_scene": text(),
            "input": Obj(
                {
                    "model_name": text(),
                    "mode": STD_PRO,
                    "image": image(),
                    "images": items(image(), 1, 2),
                    "duration": choice(*CLASSIC_DURATIONS),
                }
            ),
        },
        required=("effect_scene", "input"),
        checks=(effect_images,),
    ),
    "omni-video": TaskRules(
        {
            "model_name": model("omni-video", OMNI_VIDEO_MODELS),
            "prompt": PROMPT,
            "image_list": items(
                Obj(
                    {"image_url": image(), "type": choice("first_frame", "end_frame")},
                    required=("image_url",),
                ),
                1,
            ),
            "element_list": ELEMENT_LIST,
            "video_list": items(
                Obj(
                    {
                        "video_url": url,
                        "refer_type": choice("feature", "base"),
                        "keep_original_sound": YES_NO,
                    },
                    required=("video_url",),
                ),
                1,
            ),
            "mode": VIDEO_MODES,
            "aspect_ratio": choice(*VIDEO_ASPECT_RATIOS),
            "duration": text(),
        },
        required=("prompt",),
        checks=(
            video_model_limits("omni-video"),
            references({"image": "image_list", "element": "element_list", "video": "video_list"}),
        ),
    ),
    "motion-control": TaskRules(
        {
            "model_name": model("motion-control", MOTION_MODELS),
            "image_url": image(first_frame=True),
            "video_url": url,
            "character_orientation": choice("image", "video"),
            "mode": STD_PRO,
            "keep_original_sound": YES_NO,
            "prompt": PROMPT,
        },
        required=("image_url", "video_url"),
    ),
    "avatar/image2video": TaskRules(
        {"image": image(), "audio_id": text(), "sound_file": text(), "prompt": PROMPT, "mode": STD_PRO},
        required=("image",),
        checks=(one_audio,),
    ),
    "multi-elements": TaskRules(
        {
            "session_id": text(),
            "edit_mode": choice("addition", "swap", "removal"),
            "image_list": items(Obj({"image": image()}, required=("image",)), 1, 2),
            "prompt": PROMPT,
            "model_name": model("multi-elements", ELEMENTS_MODELS),
        },
        required=("session_id", "edit_mode", "prompt"),
        checks=(live_session("multi-elements"), multi_elements_edit),
    ),
    "advanced-lip-sync": TaskRules(
        {"session_id": text(), "face_choose": items(FACE_CHOICE, 1)},
        required=("session_id", "face_choose"),
        checks=(live_session("identify-face"), chosen_faces),
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
    "multi-image2image": TaskRules(
        {
            "model_name": model("multi-image2image", MULTI_IMAGE_MODELS),
            "prompt": PROMPT,
            "subject_image_list": items(Obj({"subject_image": image()}, required=("subject_image",)), 1, 4),
            "scene_image": image(),
            "style_image": image(),
            "n": integer(1, 9),
            "aspect_ratio": choice(*IMAGE_ASPECT_RATIOS),
        },
        required=("subject_image_list",),
    ),
    "editing/expand": TaskRules(
        {
            "image": image(),
            **{f"{side}_expansion_ratio": number(0, 2) for side in ("up", "down", "left", "right")},
            "prompt": PROMPT,
            "n": integer(1, 9),
        },
        required=("image",),
        checks=(expand_area,),
    ),
    "omni-image": TaskRules(
        {
            "model_name": text(),
            "prompt": PROMPT,
            "image_list": items(Obj({"image": image()}, required=("image",)), 1),
            "element_list": ELEMENT_LIST,
            "n": integer(1, 9),
            "aspect_ratio": choice(*IMAGE_ASPECT_RATIOS, "auto"),
            "resolution": choice("1k", "2k", "4k"),
        },
        required=("prompt",),
        checks=(references({"image": "image_list", "element": "element_list"}),),
    ),
    "text-to-audio": TaskRules(
        {"prompt": text(200), "duration": audio_seconds}, required=("prompt", "duration")
    ),
    "video-to-audio": TaskRules(
        {
            "video_id": text(),
            "video_url": url,
            "sound_effect_prompt": text(200),
            "bgm_prompt": text(200),
            "asmr_mode": boolean,
        },
        checks=(source_video(seconds=VIDEO_TO_AUDIO_SECONDS),),
    ),
    "tts": TaskRules(
        {
            "text": text(1000),
            "voice_id": text(),
            "voice_language": choice("zh", "en"),
            "voice_speed": number(0.8, 2.0),
        },
        required=("text", "voice_id"),
    ),
}

#: Per task type path, every request field name the emulator knows (``input.x`` for Kling's input object).
FIELDS: dict[str, frozenset[str]] = {path: rules.field_names() for path, rules in RULES.items()}

SESSION_ID = {"session_id": text()}
SELECTION = {**SESSION_ID, "frame_index": integer(0, 10**6), "points": items(unit_point, 1)}
#: The session endpoints of the two-step flows (answered at once, no callback_url / external_task_id).
SESSION_RULES: dict[str, TaskRules] = {
    "identify-face": TaskRules(
        {"video_id": text(), "video_url": url}, checks=(source_video(),), common=False
    ),
    "init-selection": TaskRules(
        {"video_id": text(), "video_url": url}, checks=(source_video(), selection_video), common=False
    ),
    "add-selection": TaskRules(
        SELECTION,
        required=("session_id", "frame_index", "points"),
        checks=(live_session("multi-elements"), selection_frame),
        common=False,
    ),
    "delete-selection": TaskRules(
        SELECTION,
        required=("session_id", "frame_index", "points"),
        checks=(live_session("multi-elements"),),
        common=False,
    ),
    "clear-selection": TaskRules(
        SESSION_ID, required=("session_id",), checks=(live_session("multi-elements"),), common=False
    ),
    "preview-selection": TaskRules(
        SESSION_ID, required=("session_id",), checks=(live_session("multi-elements"),), common=False
    ),
}


def validate(rules: TaskRules, name: str, body: Any, state: State, strict: bool = False) -> Body:
    """Return ``body`` without its unset fields, or raise Invalid; ``strict`` also refuses unknown fields."""
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object")
    body = clean(body)
    if strict:
        nested = body.get("input")
        names = set(body) | ({f"input.{key}" for key in nested} if isinstance(nested, dict) else set())
        unknown = sorted(names - rules.field_names())
        if unknown:
            raise Invalid(f"unknown field(s) for {name}: {', '.join(unknown)}")
    check_fields(body, rules.all_fields, rules.required)
    for check in rules.checks:
        check(body, state)
    return body


def validate_create(task_type: str, body: Any, state: State, strict: bool = False) -> Body:
    return validate(RULES[task_type], task_type, body, state, strict)
