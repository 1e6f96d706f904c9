"""Kling's create rules (kling-api.md §4) as the emulator enforces them, over real HTTP."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from airflow_provider_kling.testing import EmulatorServer
from airflow_provider_kling.testing.validation import FIELDS
from tests.emulator.client import IMAGE_B64, IMAGE_URL, Api, b64, png_b64
from tests.operators.helpers import make_jpeg_header

WIDE = png_b64(800, 300)  # 2.67:1, outside 1:2.5 .. 2.5:1
SMALL = png_b64(100, 100)
JPEG_400x300 = b64(make_jpeg_header(400, 300))
SHOTS = [{"index": 1, "prompt": "a", "duration": "5"}, {"index": 2, "prompt": "b", "duration": "10"}]
MASK = {"mask": IMAGE_B64, "trajectories": [{"x": 1, "y": 2}, {"x": 3.5, "y": 4}]}
SIMPLE = {"type": "simple", "config": {"pan": 1}}

INVALID = [
    ("text2video", {}, "prompt is required"),
    ("text2video", {"prompt": ""}, "prompt is required"),
    ("text2video", {"prompt": "x" * 2501}, "prompt must be at most 2500"),
    ("text2video", {"prompt": "x", "negative_prompt": "x" * 2501}, "negative_prompt"),
    ("text2video", {"prompt": "x", "cfg_scale": 1.5}, "cfg_scale must be a number between 0 and 1"),
    ("text2video", {"prompt": "x", "mode": "fast"}, "mode must be one of std, pro, 4k; got 'fast'"),
    ("text2video", {"prompt": "x", "aspect_ratio": "4:3"}, "aspect_ratio must be one of 16:9, 9:16, 1:1"),
    ("text2video", {"prompt": "x", "duration": 5}, "duration must be a string"),
    ("text2video", {"prompt": "x", "duration": "7"}, 'duration must be one of "5", "10" for kling-v1'),
    ("text2video", {"prompt": "x", "model_name": "kling-v2-6", "duration": "15"}, "for kling-v2-6; got '15'"),
    ("text2video", {"prompt": "x", "model_name": "kling-v3", "duration": "16"}, '"3".."15" for kling-v3'),
    ("text2video", {"prompt": "x", "model_name": "kling-video-o1", "duration": "15"}, '"3".."10"'),
    (
        "text2video",
        {"prompt": "x", "model_name": "kling-v9"},
        "model_name 'kling-v9' is not a text2video model",
    ),
    ("text2video", {"prompt": "x", "model_name": "kling-v1-5"}, "model_name 'kling-v1-5'"),
    ("text2video", {"prompt": "x", "model_name": "kling-v2-6", "mode": "4k"}, "mode '4k' is only offered by"),
    ("text2video", {"prompt": "x", "mode": "4k"}, "model_name is 'kling-v1'"),
    ("text2video", {"prompt": "x", "sound": "loud"}, "sound must be one of on, off"),
    ("text2video", {"prompt": "x", "callback_url": "ftp://x"}, "callback_url must be an http(s) URL"),
    ("text2video", {"prompt": "x", "external_task_id": 5}, "external_task_id must be a string"),
    ("text2video", {"prompt": "x", "multi_shot": "yes"}, "multi_shot must be true or false"),
    ("text2video", {"multi_shot": True, "prompt": "x"}, "shot_type is required when multi_shot is true"),
    ("text2video", {"prompt": "x", "shot_type": "auto"}, "shot_type must be one of customize, intelligence"),
    ("text2video", {"multi_shot": True, "shot_type": "customize"}, "multi_prompt is required"),
    ("text2video", {"multi_shot": True, "shot_type": "intelligence"}, "prompt is required when shot_type"),
    ("text2video", {"prompt": "x", "multi_prompt": SHOTS * 4}, "multi_prompt must be a list of 1 to 6 items"),
    ("text2video", {"prompt": "x", "multi_prompt": []}, "multi_prompt must be a list of 1 to 6 items"),
    (
        "text2video",
        {"prompt": "x", "multi_prompt": [{"index": 1, "duration": "5"}]},
        "multi_prompt[0].prompt",
    ),
    (
        "text2video",
        {"prompt": "x", "multi_prompt": [{**SHOTS[0], "prompt": "p" * 513}]},
        "multi_prompt[0].prompt must be at most 512 characters",
    ),
    (
        "text2video",
        {
            "model_name": "kling-v3",
            "duration": "12",
            "multi_shot": True,
            "shot_type": "customize",
            "multi_prompt": SHOTS,
        },
        "multi_prompt durations must add up to duration (12)",
    ),
    (
        "text2video",
        {"multi_shot": True, "shot_type": "customize", "multi_prompt": [{**SHOTS[0], "duration": "0"}]},
        "multi_prompt[0].duration",
    ),
    ("text2video", {"prompt": "x", "element_list": [{}]}, "element_list[0].element_id is required"),
    ("text2video", {"prompt": "x", "element_list": [{"element_id": True}]}, "element_list[0].element_id"),
    ("text2video", {"prompt": "x", "voice_list": "v1"}, "voice_list must be a list"),
    (
        "text2video",
        {"prompt": "x", "voice_list": [{"voice_id": 7}]},
        "voice_list[0].voice_id must be a string",
    ),
    ("text2video", {"prompt": "x", "watermark_info": {}}, "watermark_info.enabled is required"),
    (
        "text2video",
        {"prompt": "x", "watermark_info": {"enabled": "y"}},
        "watermark_info.enabled must be true",
    ),
    ("text2video", {"prompt": "x", "watermark_info": True}, "watermark_info must be an object"),
    ("text2video", {"prompt": "x", "camera_control": {"type": "orbit"}}, "camera_control.type"),
    (
        "text2video",
        {"prompt": "x", "camera_control": {"type": "simple"}},
        "camera_control.config is required",
    ),
    (
        "text2video",
        {"prompt": "x", "camera_control": {"type": "simple", "config": {"pan": 1, "zoom": 2}}},
        "exactly one non-zero",
    ),
    (
        "text2video",
        {"prompt": "x", "camera_control": {"type": "simple", "config": {"pan": 11}}},
        "camera_control.config.pan must be a number between -10 and 10",
    ),
    (
        "text2video",
        {"prompt": "x", "camera_control": {"type": "down_back", "config": {"pan": 1}}},
        "must not be set",
    ),
    ("image2video", {"prompt": "x"}, "image or image_tail is required"),
    ("image2video", {"image": "", "image_tail": None}, "image or image_tail is required"),
    (
        "image2video",
        {"image": "data:image/png;base64," + IMAGE_B64},
        "image must be raw Base64 without a data:",
    ),
    ("image2video", {"image": "not base64 !!"}, "image must be an http(s) URL or valid Base64"),
    ("image2video", {"image": b64(b"GIF89a" + bytes(40))}, "image must be a JPEG or PNG image"),
    ("image2video", {"image": SMALL}, "image must be at least 300 px per side; got 100x100"),
    ("image2video", {"image": b64(make_jpeg_header(400, 200))}, "at least 300 px per side; got 400x200"),
    ("image2video", {"image": WIDE}, "image aspect ratio must be between 1:2.5 and 2.5:1; got 800x300"),
    ("image2video", {"image": b64(b"\xff\xd8\xff\xd9")}, "image is a JPEG without a frame header"),
    ("image2video", {"image_tail": SMALL}, "image_tail must be at least 300 px"),
    ("image2video", {"image": IMAGE_URL, "model_name": "kling-v2"}, "'kling-v2' is not a image2video model"),
    ("image2video", {"image": IMAGE_URL, "image_tail": IMAGE_URL, "static_mask": IMAGE_B64}, "exclusive"),
    ("image2video", {"image": IMAGE_URL, "image_tail": IMAGE_URL, "camera_control": SIMPLE}, "exclusive"),
    ("image2video", {"image": IMAGE_URL, "dynamic_masks": [MASK], "camera_control": SIMPLE}, "exclusive"),
    ("image2video", {"image": IMAGE_URL, "static_mask": "data:x"}, "static_mask must be raw Base64"),
    (
        "image2video",
        {"image": IMAGE_URL, "dynamic_masks": [MASK] * 7},
        "dynamic_masks must be a list of 1 to 6",
    ),
    (
        "image2video",
        {"image": IMAGE_URL, "dynamic_masks": [{**MASK, "trajectories": [{"x": 1, "y": 1}]}]},
        "dynamic_masks[0].trajectories must be a list of 2 to 77 items",
    ),
    (
        "image2video",
        {"image": IMAGE_URL, "dynamic_masks": [{**MASK, "trajectories": [{"x": 1, "y": 1}] * 78}]},
        "dynamic_masks[0].trajectories must be a list of 2 to 77 items",
    ),
    (
        "image2video",
        {"image": IMAGE_URL, "dynamic_masks": [MASK, {**MASK, "trajectories": [{"x": "1", "y": 1}] * 2}]},
        "dynamic_masks[1].trajectories[0].x must be a number",
    ),
    (
        "image2video",
        {"image": IMAGE_URL, "dynamic_masks": [{**MASK, "mask": SMALL}]},
        "dynamic_masks[0].mask must be at least 300 px",
    ),
    ("image2video", {"image": IMAGE_URL, "dynamic_masks": [{"mask": IMAGE_URL}]}, "trajectories is required"),
    ("image2video", {"image": IMAGE_URL, "duration": "3"}, 'duration must be one of "5", "10"'),
    ("multi-image2video", {"prompt": "x", "image_list": []}, "image_list must be a list of 1 to 4 items"),
    ("multi-image2video", {"prompt": "x", "image_list": [{"image": IMAGE_URL}] * 5}, "image_list must be"),
    (
        "multi-image2video",
        {"prompt": "x", "image_list": [{"url": IMAGE_URL}]},
        "image_list[0].image is required",
    ),
    ("multi-image2video", {"prompt": "x", "image_list": [""]}, "image_list[0] must not be empty"),
    (
        "multi-image2video",
        {"prompt": "x", "image_list": [{"image": IMAGE_URL}, {"image": WIDE}]},
        "image_list[1].image aspect ratio",
    ),
    ("multi-image2video", {"image_list": [{"image": IMAGE_URL}]}, "prompt is required"),
    (
        "multi-image2video",
        {"prompt": "x", "image_list": [{"image": IMAGE_URL}], "mode": "4k"},
        "'kling-v1-6'",
    ),
    ("video-extend", {}, "video_id is required"),
    ("video-extend", {"video_id": "not-ours"}, "video_id must be the id of a video generated by an earlier"),
    ("generations", {}, "prompt is required"),
    ("generations", {"prompt": "x", "n": 0}, "n must be an integer between 1 and 9"),
    ("generations", {"prompt": "x", "n": 10}, "n must be"),
    ("generations", {"prompt": "x", "n": "2"}, "n must be"),
    ("generations", {"prompt": "x", "n": 2.0}, "n must be"),
    (
        "generations",
        {"prompt": "x", "image": IMAGE_URL, "image_reference": "body"},
        "image_reference must be one",
    ),
    ("generations", {"prompt": "x", "image_reference": "face"}, "image_reference requires image"),
    ("generations", {"prompt": "x", "image_fidelity": 2}, "image_fidelity"),
    ("generations", {"prompt": "x", "human_fidelity": -0.1}, "human_fidelity"),
    ("generations", {"prompt": "x", "resolution": "4k"}, "resolution must be one of 1k, 2k"),
    ("generations", {"prompt": "x", "aspect_ratio": "5:4"}, "aspect_ratio"),
    ("generations", {"prompt": "x", "model_name": "kling-v2-6"}, "'kling-v2-6' is not a generations model"),
    ("generations", {"prompt": "x", "image": SMALL}, "image must be at least 300 px"),
    ("kolors-virtual-try-on", {"cloth_image": IMAGE_URL}, "human_image is required"),
    ("kolors-virtual-try-on", {"human_image": IMAGE_URL}, "cloth_image is required"),
    (
        "kolors-virtual-try-on",
        {"human_image": IMAGE_URL, "cloth_image": SMALL},
        "cloth_image must be at least",
    ),
    (
        "kolors-virtual-try-on",
        {"human_image": IMAGE_URL, "cloth_image": IMAGE_URL, "model_name": "x"},
        "model_name 'x' is not a kolors-virtual-try-on model",
    ),
]


@pytest.mark.parametrize(("task_type", "body", "expected"), INVALID)
def test_invalid_bodies_answer_1201_naming_the_field(
    api: Api, task_type: str, body: dict[str, Any], expected: str
) -> None:
    response = api.create(task_type, body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["code"] == 1201 and answer["message"].startswith("invalid parameter: ")
    assert expected in answer["message"]


VALID = [
    (
        "text2video",
        {
            "prompt": "x",
            **dict.fromkeys(
                ("negative_prompt", "callback_url", "external_task_id", "model_name", "mode"), ""
            ),
            **dict.fromkeys(("camera_control", "duration", "watermark_info", "multi_prompt", "sound"), None),
            "unknown_field": 1,
        },
    ),
    ("text2video", {"prompt": "x", "camera_control": {"type": "simple", "config": {"zoom": -10, "pan": 0}}}),
    ("text2video", {"prompt": "x", "camera_control": {"type": "left_turn_forward"}, "sound": "on"}),
    ("text2video", {"prompt": "x", "mode": "pro", "aspect_ratio": "9:16", "duration": "10", "cfg_scale": 0}),
    (
        "text2video",
        {
            "model_name": "kling-v3",
            "mode": "4k",
            "duration": "15",
            "multi_shot": True,
            "shot_type": "customize",
            "multi_prompt": SHOTS,
            "element_list": [{"element_id": 829341}, {"element_id": "829342"}],
            "voice_list": [{"voice_id": "voice-1"}],
            "watermark_info": {"enabled": True},
            "sound": "on",
            "aspect_ratio": "1:1",
        },
    ),
    (
        "text2video",
        {"model_name": "kling-v3", "multi_shot": True, "shot_type": "customize", "multi_prompt": SHOTS},
    ),
    (
        "text2video",
        {"model_name": "kling-v3", "multi_shot": True, "shot_type": "intelligence", "prompt": "x"},
    ),
    (
        "text2video",
        {"prompt": "x", "multi_shot": False, "shot_type": "customize"},
    ),  # ignored when not multi-shot
    ("text2video", {"prompt": "x", "model_name": "kling-v3-omni", "duration": "3", "mode": "4k"}),
    ("text2video", {"prompt": "x", "model_name": "kling-video-o1", "duration": "7"}),
    ("text2video", {"prompt": "x", "model_name": "kling-v2-6", "duration": "10", "sound": "off"}),
    ("image2video", {"image": IMAGE_B64, "prompt": ""}),
    ("image2video", {"image": JPEG_400x300, "model_name": "kling-v2-1", "mode": "pro"}),
    ("image2video", {"image": png_b64(750, 300)}),  # exactly 2.5:1
    ("image2video", {"image_tail": WIDE}),  # no aspect-ratio rule for the last frame
    ("image2video", {"image": IMAGE_URL, "image_tail": IMAGE_B64}),
    ("image2video", {"image": IMAGE_URL, "dynamic_masks": [MASK] * 6, "static_mask": IMAGE_URL}),
    ("image2video", {"image": IMAGE_URL, "camera_control": SIMPLE, "image_tail": ""}),
    (
        "image2video",
        {
            "image": IMAGE_URL,
            "prompt": "",
            "model_name": "kling-v3",
            "duration": "10",
            "multi_shot": True,
            "shot_type": "customize",
            "multi_prompt": [
                {"index": 1, "prompt": "a", "duration": "4"},
                {"index": 2, "prompt": "b", "duration": "6"},
            ],
            "watermark_info": {"enabled": False},
        },
    ),
    ("multi-image2video", {"prompt": "x", "image_list": [{"image": IMAGE_URL}] * 4, "aspect_ratio": "1:1"}),
    (
        "multi-image2video",
        {"prompt": "x", "image_list": [{"image": IMAGE_B64}], "duration": "10", "mode": "pro"},
    ),
    (
        "generations",
        {"prompt": "x", "n": 9, "aspect_ratio": "21:9", "resolution": "2k", "model_name": "kling-v3"},
    ),
    ("generations", {"prompt": "x", "image": WIDE, "image_reference": "subject", "image_fidelity": 0.5}),
    ("generations", {"prompt": "x", "image": IMAGE_URL, "image_reference": "face", "human_fidelity": 1}),
    ("generations", {"prompt": "x", "watermark_info": {"enabled": True}, "n": 1, "negative_prompt": ""}),
    (
        "kolors-virtual-try-on",
        {
            "human_image": IMAGE_B64,
            "cloth_image": png_b64(900, 300),
            "model_name": "kolors-virtual-try-on-v1-5",
        },
    ),
]


@pytest.mark.parametrize(("task_type", "body"), VALID)
def test_valid_2026_bodies_are_accepted(api: Api, task_type: str, body: dict[str, Any]) -> None:
    response = api.create(task_type, body)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["task_status"] == "submitted"


def test_image_size_limit(api: Api) -> None:
    png = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + struct.pack(">II", 400, 400) + bytes(5)
    too_big = png + bytes(10 * 1024 * 1024 + 1 - len(png))
    response = api.create("image2video", {"image": b64(too_big)})
    assert response.json()["message"] == "invalid parameter: image must be at most 10 MB"
    assert api.create("image2video", {"image": b64(too_big[:-1])}).ok  # exactly 10 MB


def test_empty_external_task_id_and_callback_url_are_unset(server: EmulatorServer, api: Api) -> None:
    ids = [
        api.created_id("text2video", {"prompt": "x", "external_task_id": "", "callback_url": ""})
        for _ in "ab"
    ]
    assert len(set(ids)) == 2  # "" is no id, so the second create is no duplicate
    assert api.data("text2video", ids[0])["task_info"] == {}
    assert server.stats()["creates_by_external_id"] == {}


# ---- FIELDS --------------------------------------------------------------------------------------------

T2V_FIELDS = {
    "prompt",
    "negative_prompt",
    "model_name",
    "cfg_scale",
    "mode",
    "aspect_ratio",
    "duration",
    "camera_control",
    "sound",
    "multi_shot",
    "shot_type",
    "multi_prompt",
    "element_list",
    "voice_list",
    "watermark_info",
    "callback_url",
    "external_task_id",
}


def test_fields_name_the_section_4_request_fields() -> None:
    assert set(FIELDS) >= set(MINIMAL)
    assert FIELDS["text2video"] == T2V_FIELDS
    assert FIELDS["image2video"] == (T2V_FIELDS - {"aspect_ratio"}) | {
        "image", "image_tail", "static_mask", "dynamic_masks",
    }  # fmt: skip
    assert FIELDS["video-extend"] == {
        "video_id", "prompt", "negative_prompt", "cfg_scale", "callback_url", "external_task_id",
    }  # fmt: skip
    assert FIELDS["kolors-virtual-try-on"] == {
        "human_image", "cloth_image", "model_name", "callback_url", "external_task_id",
    }  # fmt: skip
    assert all({"callback_url", "external_task_id"} <= names for names in FIELDS.values())


VIDEO_URL = "https://example.com/clip.mp4"
#: Per task type, its required fields with values of the right shape (state-dependent rules may still refuse).
MINIMAL: dict[str, dict[str, Any]] = {
    "text2video": {"prompt": "x"},
    "image2video": {"image": IMAGE_URL},
    "multi-image2video": {"prompt": "x", "image_list": [{"image": IMAGE_URL}]},
    "video-extend": {"video_id": "v"},
    "lip-sync": {"input": {"mode": "text2video", "video_url": VIDEO_URL, "text": "hi", "voice_id": "v"}},
    "effects": {"effect_scene": "squish", "input": {"image": IMAGE_URL}},
    "omni-video": {"prompt": "x"},
    "motion-control": {"image_url": IMAGE_URL, "video_url": VIDEO_URL},
    "avatar/image2video": {"image": IMAGE_URL, "audio_id": "a"},
    "multi-elements": {"session_id": "s", "edit_mode": "removal", "prompt": "x"},
    "advanced-lip-sync": {"session_id": "s", "face_choose": [{"face_id": "f", "audio_id": "a"}]},
    "generations": {"prompt": "x"},
    "kolors-virtual-try-on": {"human_image": IMAGE_URL, "cloth_image": IMAGE_URL},
    "multi-image2image": {"subject_image_list": [{"subject_image": IMAGE_URL}]},
    "editing/expand": {"image": IMAGE_URL},
    "omni-image": {"prompt": "x"},
    "text-to-audio": {"prompt": "x", "duration": 5},
    "video-to-audio": {"video_url": VIDEO_URL},
    "tts": {"text": "x", "voice_id": "v"},
}


def _probed(body: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """``body`` with field ``name`` (``input.x`` inside the input object) set to ``value``."""
    outer, _, inner = name.partition(".")
    if inner:
        return {**body, outer: {**body.get(outer, {}), inner: value}}
    return {**body, name: value}


@pytest.mark.parametrize("task_type", sorted(MINIMAL))
def test_fields_are_exactly_what_the_rules_accept(server: EmulatorServer, api: Api, task_type: str) -> None:
    """With strict_fields, every FIELDS name is known to the rules and any other name is refused."""
    assert set(MINIMAL) == set(FIELDS)
    server.configure(strict_fields=True)
    for name in sorted(FIELDS[task_type]):  # -7.5 is of the wrong type or range for every field
        message = api.create(task_type, _probed(MINIMAL[task_type], name, -7.5)).json()["message"]
        assert "unknown field" not in message and name in message, (name, message)
    typos = ["promt", *(["input.promt"] if "input" in FIELDS[task_type] else [])]
    for typo in typos:
        response = api.create(task_type, _probed(MINIMAL[task_type], typo, "typo"))
        assert response.json()["message"] == f"invalid parameter: unknown field(s) for {task_type}: {typo}"
    server.configure(strict_fields=False)
    assert "unknown field" not in api.create(task_type, {**MINIMAL[task_type], "promt": "typo"}).text
