"""The Kling API as this provider knows it: every task type, where it lives, what it returns, and its fields.

This table is the one description of Kling's request side in the package (docs/kling-api.md explains it in
prose). Validation (``payloads.py``), image handling (``images.py``), the typed operators' keyword arguments,
the README's operator table and the provider info all derive from it; tests fail when one of them drifts. The
emulator in ``testing/`` keeps its own rules on purpose and is compared with this table by a test.

Known value sets below are "known so far": a value outside one logs a warning and is sent (``checks.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from airflow_provider_kling.checks import (
    AtLeastOne,
    BodyRule,
    CameraControl,
    Check,
    Choice,
    Duration,
    ExactlyOne,
    ExpansionLimit,
    Field,
    Flag,
    Ident,
    Image,
    ListOf,
    Number,
    Object,
    OneGroupOnly,
    PartsAddUp,
    RequiredWhen,
    Requires,
    TaskIdent,
    Text,
    Url,
    image_field_names,
)
from airflow_provider_kling.exceptions import KlingValidationError

ResultKind = Literal["videos", "images", "audios"]
Action = Literal["videos", "images", "audio"]

MAX_PROMPT = 2500
VIDEO_MODELS = (
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
IMAGE_MODELS = ("kling-v1", "kling-v1-5", "kling-v2", "kling-v2-new", "kling-v2-1", "kling-v3")
TRY_ON_MODELS = ("kolors-virtual-try-on-v1", "kolors-virtual-try-on-v1-5")
OMNI_VIDEO_MODELS = ("kling-video-o1", "kling-v3-omni")
MODES = ("std", "pro", "4k")
VIDEO_DURATIONS = tuple(str(seconds) for seconds in range(3, 16))
VIDEO_ASPECT_RATIOS = ("16:9", "9:16", "1:1")
IMAGE_ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9")
RESOLUTIONS = ("1k", "2k")
VOICE_LANGUAGES = ("zh", "en")
EFFECT_SCENES = (
    "hug",
    "kiss",
    "heart_gesture",
    "squish",
    "expansion",
    "fuzzyfuzzy",
    "bloombloom",
    "dizzydizzy",
)
YES_NO = ("yes", "no")

# -- fields shared by several task types ------------------------------------------------------------------

PROMPT = Field("prompt", Text(MAX_PROMPT))
NEGATIVE_PROMPT = Field("negative_prompt", Text(MAX_PROMPT))
VIDEO_MODEL = Field("model_name", Choice(VIDEO_MODELS))
CFG_SCALE = Field("cfg_scale", Number(0, 1))
MODE = Field("mode", Choice(MODES))
DURATION = Field("duration", Duration(VIDEO_DURATIONS))
VIDEO_RATIO = Field("aspect_ratio", Choice(VIDEO_ASPECT_RATIOS))
IMAGE_RATIO = Field("aspect_ratio", Choice(IMAGE_ASPECT_RATIOS))
SOUND = Field("sound", Choice(("on", "off")))
N_IMAGES = Field("n", Number(1, 9, integer=True))
WATERMARK = Field("watermark_info", Object((Field("enabled", Flag(), required=True),)))
ELEMENT_LIST = Field("element_list", ListOf(Object((Field("element_id", Ident(), required=True),))))
VOICE_LIST = Field("voice_list", ListOf(Object((Field("voice_id", Ident(), required=True),))))
MULTI_SHOT = (
    Field("multi_shot", Flag()),
    Field("shot_type", Choice(("customize", "intelligence"))),
    Field(
        "multi_prompt",
        ListOf(
            Object(
                (
                    Field("index", Number(1, 6, integer=True, certain=False), required=True),
                    Field("prompt", Text(MAX_PROMPT), required=True),
                    Field("duration", Duration(VIDEO_DURATIONS), required=True),
                )
            ),
            1,
            6,
        ),
    ),
    ELEMENT_LIST,
    VOICE_LIST,
    WATERMARK,
)
CUSTOM_SHOTS = (("multi_shot", True), ("shot_type", "customize"))
MULTI_SHOT_RULES: tuple[BodyRule, ...] = (
    RequiredWhen("multi_prompt", CUSTOM_SHOTS),
    PartsAddUp("multi_prompt", "duration", "duration"),
)
COMMON = (Field("callback_url", Url()), Field("external_task_id", TaskIdent()))
POINT = Object((Field("x", Number(-1e9, 1e9), required=True), Field("y", Number(-1e9, 1e9), required=True)))


def _image_list(key: str, check: Check, max_items: int | None = None) -> ListOf:
    """A list of ``{key: image}`` objects whose items may also be given as plain image strings."""
    return ListOf(Object((Field(key, check, required=True),), bare=key), 1, max_items)


@dataclass(frozen=True)
class KlingTaskType:
    """One Kling task type: ``name`` is the path after the action (it may hold a slash: ``editing/expand``).

    ``initial_delay``/``poll_interval`` are the default wait timing: no generation of the type is done sooner
    than the delay, and the interval bounds how late a finished one is noticed (videos: 30 s then every 14 s
    costs at most 0.4x the requests of 5-second polling for 1-5 minute tasks;
    benchmarks/requests_per_task.py). ``nested`` names the object field (Kling's ``input``) whose members the
    typed operator takes as keyword arguments of its own.
    """

    name: str
    action: Action
    operator: str
    summary: str
    results: tuple[ResultKind, ...]
    initial_delay: float
    poll_interval: float
    fields: tuple[Field, ...]
    rules: tuple[BodyRule, ...] = ()
    nested: str | None = None

    @property
    def path(self) -> str:
        """The create/list path relative to the base URL; query paths append ``/{id}``."""
        return f"v1/{self.action}/{self.name}"

    @property
    def all_fields(self) -> tuple[Field, ...]:
        """The type's fields and the two every create accepts (``callback_url``, ``external_task_id``)."""
        return self.fields + COMMON

    @cached_property
    def kwarg_names(self) -> tuple[str, ...]:
        """The typed operator's request keyword arguments, in the table's order (``external_task_id`` is an
        argument of every operator already)."""
        names: list[str] = []
        for field in self.fields + COMMON[:1]:
            if field.name == self.nested and isinstance(field.check, Object):
                names.extend(member.name for member in field.check.fields)
            else:
                names.append(field.name)
        return tuple(names)

    @cached_property
    def image_fields(self) -> frozenset[str]:
        """The names of the image inputs, at any depth (``image``, ``image_list[].image``: ``image``, ...)."""
        return frozenset(image_field_names(self.all_fields))

    def nest(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """A request body from the typed operator's keyword arguments (Kling's ``input`` object filled in)."""
        if self.nested is None:
            return dict(flat)
        container = next(f for f in self.fields if f.name == self.nested)
        members = {m.name for m in container.check.fields} if isinstance(container.check, Object) else set()
        body = {name: value for name, value in flat.items() if name not in members}
        inner = {name: value for name, value in flat.items() if name in members}
        if inner:
            body[self.nested] = inner
        return body


#: Default (initial_delay, poll_interval) per action; lip-sync, omni and avatar videos take longer.
DEFAULT_TIMING: dict[str, tuple[float, float]] = {
    "videos": (30.0, 14.0),
    "images": (8.0, 5.0),
    "audio": (3.0, 2.0),
}
SLOW_VIDEO_TIMING = (60.0, 20.0)


def _task(
    name: str,
    action: Action,
    operator: str,
    summary: str,
    fields: tuple[Field, ...],
    *,
    results: tuple[ResultKind, ...] | None = None,
    timing: tuple[float, float] | None = None,
    rules: tuple[BodyRule, ...] = (),
    nested: str | None = None,
) -> KlingTaskType:
    """A table row; ``results`` and ``timing`` default to the action's (``audio`` returns ``audios``)."""
    kind: ResultKind = "audios" if action == "audio" else action
    delay, interval = timing or DEFAULT_TIMING[action]
    return KlingTaskType(
        name, action, operator, summary, results or (kind,), delay, interval, fields, rules, nested
    )


_LIP_SYNC_INPUT = Object(
    (
        Field("video_id", Text(128)),
        Field("video_url", Url()),
        Field("mode", Choice(("text2video", "audio2video"), certain=True), required=True),
        Field("text", Text(120)),
        Field("voice_id", Ident()),
        Field("voice_language", Choice(VOICE_LANGUAGES)),
        Field("voice_speed", Number(0.8, 2.0)),
        Field("audio_type", Choice(("file", "url"), certain=True)),
        Field("audio_file", Text()),
        Field("audio_url", Url()),
    )
)
_EFFECTS_INPUT = Object(
    (
        Field("model_name", Text(200)),
        Field("mode", Choice(MODES)),
        Field("image", Image(ratio="warn")),
        Field("images", ListOf(Image(ratio="warn"))),
        Field("duration", Duration(("5", "10"))),
    )
)
FACE_CHOICE = Object(
    (
        Field("face_id", Ident(), required=True),
        Field("audio_id", Ident()),
        Field("sound_file", Text()),
        Field("sound_start_time", Number(0, 1e9, integer=True)),
        Field("sound_end_time", Number(0, 1e9, integer=True)),
        Field("sound_insert_time", Number(0, 1e9, integer=True)),
        Field("sound_volume", Number(0, 2, certain=False)),
        Field("original_audio_volume", Number(0, 2, certain=False)),
    ),
    rules=(ExactlyOne(("audio_id", "sound_file")),),
)

TASK_TYPES: dict[str, KlingTaskType] = {
    t.name: t
    for t in (
        _task(
            "text2video",
            "videos",
            "KlingTextToVideoOperator",
            "prompt → video, single or multi-shot",
            (
                PROMPT,
                NEGATIVE_PROMPT,
                VIDEO_MODEL,
                CFG_SCALE,
                MODE,
                VIDEO_RATIO,
                DURATION,
                Field("camera_control", CameraControl()),
                SOUND,
                *MULTI_SHOT,
            ),
            rules=(RequiredWhen("prompt", CUSTOM_SHOTS, unless=True), *MULTI_SHOT_RULES),
        ),
        _task(
            "image2video",
            "videos",
            "KlingImageToVideoOperator",
            "first and/or last frame → video",
            (
                Field("image", Image(ratio="reject")),
                Field("image_tail", Image(ratio="warn")),
                PROMPT,
                NEGATIVE_PROMPT,
                VIDEO_MODEL,
                CFG_SCALE,
                MODE,
                DURATION,
                SOUND,
                Field("static_mask", Image()),
                Field(
                    "dynamic_masks",
                    ListOf(
                        Object(
                            (
                                Field("mask", Image(), required=True),
                                Field("trajectories", ListOf(POINT, 2, 77), required=True),
                            )
                        ),
                        1,
                        6,
                    ),
                ),
                Field("camera_control", CameraControl()),
                *MULTI_SHOT,
            ),
            rules=(
                AtLeastOne(("image", "image_tail")),
                OneGroupOnly((("image_tail",), ("static_mask", "dynamic_masks"), ("camera_control",))),
                *MULTI_SHOT_RULES,
            ),
        ),
        _task(
            "multi-image2video",
            "videos",
            "KlingMultiImageToVideoOperator",
            "1-4 reference images → video",
            (
                Field("image_list", _image_list("image", Image(ratio="reject"), 4), required=True),
                Field("prompt", Text(MAX_PROMPT), required=True),
                NEGATIVE_PROMPT,
                VIDEO_MODEL,
                MODE,
                DURATION,
                VIDEO_RATIO,
            ),
        ),
        _task(
            "video-extend",
            "videos",
            "KlingExtendVideoOperator",
            "continue an earlier video by its id (4-5 s more)",
            (Field("video_id", Text(128), required=True), PROMPT, NEGATIVE_PROMPT, CFG_SCALE),
        ),
        _task(
            "lip-sync",
            "videos",
            "KlingLipSyncOperator",
            "a video's face speaks text (TTS) or audio",
            (Field("input", _LIP_SYNC_INPUT, required=True),),
            rules=(
                ExactlyOne(("input.video_id", "input.video_url")),
                RequiredWhen("input.text", (("input.mode", "text2video"),)),
                RequiredWhen("input.voice_id", (("input.mode", "text2video"),)),
                RequiredWhen("input.audio_type", (("input.mode", "audio2video"),)),
                RequiredWhen("input.audio_file", (("input.audio_type", "file"),)),
                RequiredWhen("input.audio_url", (("input.audio_type", "url"),)),
            ),
            nested="input",
            timing=SLOW_VIDEO_TIMING,
        ),
        _task(
            "effects",
            "videos",
            "KlingVideoEffectsOperator",
            "a preset effect scene on one or two images",
            (
                Field("effect_scene", Choice(EFFECT_SCENES), required=True),
                Field("input", _EFFECTS_INPUT, required=True),
            ),
            rules=(ExactlyOne(("input.image", "input.images")),),
            nested="input",
        ),
        _task(
            "omni-video",
            "videos",
            "KlingOmniVideoOperator",
            "one prompt referencing images, elements and videos",
            (
                Field("model_name", Choice(OMNI_VIDEO_MODELS)),
                Field("prompt", Text(MAX_PROMPT), required=True),
                Field(
                    "image_list",
                    ListOf(
                        Object(
                            (
                                Field("image_url", Image(ratio="warn"), required=True),
                                Field("type", Choice(("first_frame", "end_frame"))),
                            ),
                            bare="image_url",
                        )
                    ),
                ),
                ELEMENT_LIST,
                Field(
                    "video_list",
                    ListOf(
                        Object(
                            (
                                Field("video_url", Url(), required=True),
                                Field("refer_type", Choice(("feature", "base"))),
                                Field("keep_original_sound", Choice(YES_NO)),
                            ),
                            bare="video_url",
                        )
                    ),
                ),
                MODE,
                VIDEO_RATIO,
                DURATION,
            ),
            timing=SLOW_VIDEO_TIMING,
        ),
        _task(
            "motion-control",
            "videos",
            "KlingMotionControlOperator",
            "a character image follows a reference video's motion",
            (
                Field("model_name", Choice(("kling-v2-6", "kling-v3"))),
                Field("image_url", Image(ratio="warn"), required=True),
                Field("video_url", Url(), required=True),
                Field("character_orientation", Choice(("image", "video"))),
                MODE,
                Field("keep_original_sound", Choice(YES_NO)),
                PROMPT,
            ),
            timing=SLOW_VIDEO_TIMING,
        ),
        _task(
            "avatar/image2video",
            "videos",
            "KlingAvatarOperator",
            "a portrait speaks an audio track",
            (
                Field("image", Image(ratio="warn"), required=True),
                Field("audio_id", Ident()),
                Field("sound_file", Text()),
                PROMPT,
                MODE,
            ),
            rules=(ExactlyOne(("audio_id", "sound_file")),),
            timing=SLOW_VIDEO_TIMING,
        ),
        _task(
            "multi-elements",
            "videos",
            "KlingMultiElementsOperator",
            "add, swap or remove elements of a video (after a selection session)",
            (
                Field("session_id", Text(128), required=True),
                Field("edit_mode", Choice(("addition", "swap", "removal")), required=True),
                Field("image_list", _image_list("image", Image())),
                PROMPT,
                Field("model_name", Choice(("kling-v1-6",))),
            ),
            timing=SLOW_VIDEO_TIMING,
        ),
        _task(
            "advanced-lip-sync",
            "videos",
            "KlingAdvancedLipSyncOperator",
            "chosen faces of a video speak given audio (after identify-face)",
            (
                Field("session_id", Text(128), required=True),
                Field("face_choose", ListOf(FACE_CHOICE), required=True),
            ),
            timing=SLOW_VIDEO_TIMING,
        ),
        _task(
            "generations",
            "images",
            "KlingImageGenerationOperator",
            "prompt (± reference image) → 1-9 images",
            fields=(
                Field("prompt", Text(MAX_PROMPT), required=True),
                NEGATIVE_PROMPT,
                Field("model_name", Choice(IMAGE_MODELS)),
                Field("image", Image()),
                Field("image_reference", Choice(("subject", "face"))),
                Field("image_fidelity", Number(0, 1)),
                Field("human_fidelity", Number(0, 1)),
                Field("resolution", Choice(RESOLUTIONS)),
                N_IMAGES,
                IMAGE_RATIO,
                WATERMARK,
            ),
            rules=(Requires("image_reference", "image"),),
        ),
        _task(
            "kolors-virtual-try-on",
            "images",
            "KlingVirtualTryOnOperator",
            "a person photo wears a garment",
            fields=(
                Field("human_image", Image(), required=True),
                Field("cloth_image", Image(), required=True),
                Field("model_name", Choice(TRY_ON_MODELS)),
            ),
        ),
        _task(
            "multi-image2image",
            "images",
            "KlingMultiImageToImageOperator",
            "subjects + scene + style images → images",
            fields=(
                Field("model_name", Choice(("kling-v2", "kling-v2-1"))),
                PROMPT,
                Field("subject_image_list", _image_list("subject_image", Image(), 4), required=True),
                Field("scene_image", Image()),
                Field("style_image", Image()),
                N_IMAGES,
                IMAGE_RATIO,
            ),
        ),
        _task(
            "editing/expand",
            "images",
            "KlingImageExpandOperator",
            "outpaint an image",
            fields=(
                Field("image", Image(), required=True),
                Field("up_expansion_ratio", Number(0, 2)),
                Field("down_expansion_ratio", Number(0, 2)),
                Field("left_expansion_ratio", Number(0, 2)),
                Field("right_expansion_ratio", Number(0, 2)),
                PROMPT,
                N_IMAGES,
            ),
            rules=(ExpansionLimit(),),
        ),
        _task(
            "omni-image",
            "images",
            "KlingOmniImageOperator",
            "prompt referencing images and elements → images",
            fields=(
                Field("model_name", Text(200)),
                Field("prompt", Text(MAX_PROMPT), required=True),
                Field("image_list", _image_list("image", Image())),
                ELEMENT_LIST,
                N_IMAGES,
                IMAGE_RATIO,
                Field("resolution", Choice(RESOLUTIONS)),
            ),
            timing=(10.0, 5.0),
        ),
        _task(
            "text-to-audio",
            "audio",
            "KlingTextToAudioOperator",
            "prompt → sound effect",
            fields=(
                Field("prompt", Text(200), required=True),
                Field("duration", Number(3, 10, certain=False), required=True),
            ),
        ),
        _task(
            "video-to-audio",
            "audio",
            "KlingVideoToAudioOperator",
            "a video gets sound effects and music",
            results=("videos", "audios"),
            fields=(
                Field("video_id", Text(128)),
                Field("video_url", Url()),
                Field("sound_effect_prompt", Text(200)),
                Field("bgm_prompt", Text(200)),
                Field("asmr_mode", Flag()),
            ),
            rules=(ExactlyOne(("video_id", "video_url")),),
            timing=(10.0, 5.0),
        ),
        _task(
            "tts",
            "audio",
            "KlingTextToSpeechOperator",
            "text → speech",
            fields=(
                Field("text", Text(1000), required=True),
                Field("voice_id", Ident()),
                Field("voice_language", Choice(VOICE_LANGUAGES)),
                Field("voice_speed", Number(0.8, 2.0)),
            ),
        ),
    )
}


def get_task_type(name: Any) -> KlingTaskType:
    """Look a task type up by name; an unknown name is a ``KlingValidationError`` listing the valid ones."""
    try:
        return TASK_TYPES[name]
    except (KeyError, TypeError):
        valid = ", ".join(TASK_TYPES)
        raise KlingValidationError(f"task_type must be one of {valid}; got {name!r}") from None


@dataclass(frozen=True)
class SessionStep:
    """A step of Kling's two-step flows that is answered at once (not a task): it opens or edits a session
    that a later task names by ``session_id`` (valid for 24 hours)."""

    name: str
    path: str
    fields: tuple[Field, ...]
    rules: tuple[BodyRule, ...] = ()


SESSION_SECONDS = 24 * 3600
_VIDEO_SOURCE = (Field("video_id", Text(128)), Field("video_url", Url()))
_SESSION = Field("session_id", Text(128), required=True)
_SELECTION = (
    _SESSION,
    Field("frame_index", Number(0, 1e9, integer=True), required=True),
    Field(
        "points",
        ListOf(Object((Field("x", Number(0, 1), required=True), Field("y", Number(0, 1), required=True)))),
        required=True,
    ),
)
SESSION_STEPS: dict[str, SessionStep] = {
    step.name: step
    for step in (
        SessionStep(
            "identify-face",
            "v1/videos/identify-face",
            _VIDEO_SOURCE,
            (ExactlyOne(("video_id", "video_url")),),
        ),
        SessionStep(
            "init-selection",
            "v1/videos/multi-elements/init-selection",
            _VIDEO_SOURCE,
            (ExactlyOne(("video_id", "video_url")),),
        ),
        SessionStep("add-selection", "v1/videos/multi-elements/add-selection", _SELECTION),
        SessionStep("delete-selection", "v1/videos/multi-elements/delete-selection", _SELECTION),
        SessionStep("clear-selection", "v1/videos/multi-elements/clear-selection", (_SESSION,)),
        SessionStep("preview-selection", "v1/videos/multi-elements/preview-selection", (_SESSION,)),
    )
}
