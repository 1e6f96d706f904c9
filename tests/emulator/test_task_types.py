"""Every task type of kling-api.md §2: both prefixes, the rules of §4, the result shapes of §3."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_provider_kling.testing import EmulatorServer
from airflow_provider_kling.testing.validation import FIELDS
from tests.emulator.client import IMAGE_B64, IMAGE_URL, PATHS, Api, jump

VIDEO_URL = "https://example.com/clip.mp4"
RESULTS = {
    **dict.fromkeys((name for name, path in PATHS.items() if path.startswith("videos/")), ("videos",)),
    **dict.fromkeys((name for name, path in PATHS.items() if path.startswith("images/")), ("images",)),
    "text-to-audio": ("audios",),
    "tts": ("audios",),
    "video-to-audio": ("audios", "videos"),  # sorted
}
CONTENT_TYPES = {".mp4": "video/mp4", ".png": "image/png", ".mp3": "audio/mpeg", ".wav": "audio/wav"}


@pytest.fixture
def video_id(server: EmulatorServer, api: Api) -> str:
    """The id of a succeeded 5 s video."""
    task_id = api.created_id("text2video", {"prompt": "source"})
    jump(server, 1)
    return str(api.data("text2video", task_id)["task_result"]["videos"][0]["id"])


def face_session(api: Api, video: str) -> dict[str, Any]:
    response = api.post("videos/identify-face", {"video_id": video})
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def elements_session(api: Api, video: str, select: bool = True) -> str:
    session_id = str(
        api.post("videos/multi-elements/init-selection", {"video_id": video}).json()["data"]["session_id"]
    )
    if select:
        body = {"session_id": session_id, "frame_index": 3, "points": [{"x": 0.5, "y": 0.5}]}
        assert api.post("videos/multi-elements/add-selection", body).ok
    return session_id


def valid_bodies(api: Api, video: str) -> dict[str, dict[str, Any]]:
    """One realistic, valid create body per task type."""
    faces = face_session(api, video)
    face = faces["face_data"][0]["face_id"]
    return {
        "text2video": {"prompt": "a cat", "model_name": "kling-v3", "duration": "8", "mode": "4k"},
        "image2video": {"image": IMAGE_B64, "prompt": ""},
        "multi-image2video": {"prompt": "x", "image_list": [{"image": IMAGE_URL}, {"image": IMAGE_B64}]},
        "video-extend": {"video_id": video, "prompt": "more"},
        "lip-sync": {"input": {"video_id": video, "mode": "text2video", "text": "Hello", "voice_id": "v1"}},
        "effects": {"effect_scene": "hug", "input": {"images": [IMAGE_URL, IMAGE_B64], "duration": "5"}},
        "omni-video": {
            "model_name": "kling-v3-omni",
            "prompt": "<<<image_1>>> waves at <<<video_1>>>",
            "image_list": [{"image_url": IMAGE_URL, "type": "first_frame"}],
            "video_list": [{"video_url": VIDEO_URL, "refer_type": "feature", "keep_original_sound": "yes"}],
            "duration": "12",
        },
        "motion-control": {"image_url": IMAGE_URL, "video_url": VIDEO_URL, "character_orientation": "video"},
        "avatar/image2video": {"image": IMAGE_B64, "sound_file": "https://example.com/a.mp3", "mode": "pro"},
        "multi-elements": {
            "session_id": elements_session(api, video),
            "edit_mode": "swap",
            "image_list": [{"image": IMAGE_URL}],
            "prompt": "swap <<<object_1>>> for the cat",
            "model_name": "kling-v1-6",
        },
        "advanced-lip-sync": {
            "session_id": faces["session_id"],
            "face_choose": [
                {"face_id": face, "audio_id": "aud-1", "sound_start_time": 0, "sound_end_time": 3000}
            ],
        },
        "generations": {"prompt": "x", "n": 2},
        "kolors-virtual-try-on": {"human_image": IMAGE_URL, "cloth_image": IMAGE_B64},
        "multi-image2image": {
            "model_name": "kling-v2-1",
            "subject_image_list": [{"subject_image": IMAGE_URL}] * 2,
            "scene_image": IMAGE_B64,
            "n": 2,
        },
        "editing/expand": {"image": IMAGE_B64, "up_expansion_ratio": 1, "left_expansion_ratio": 0.5, "n": 1},
        "omni-image": {"prompt": "<<<image_1>>> at sea", "image_list": [{"image": IMAGE_URL}], "n": 3},
        "text-to-audio": {"prompt": "rain on a tin roof", "duration": 4.5},
        "video-to-audio": {"video_id": video, "bgm_prompt": "calm piano", "asmr_mode": False},
        "tts": {"text": "Hello there, this is Kling.", "voice_id": "v1", "voice_speed": 1.2},
    }


def test_every_task_type_under_both_prefixes(server: EmulatorServer, api: Api, video_id: str) -> None:
    gateway = Api(server, prefix="/kling/v1")
    bodies = valid_bodies(api, video_id)
    assert set(bodies) == set(PATHS) == set(FIELDS)
    created = {}
    for task_type, body in bodies.items():
        external = f"ext-{task_type.replace('/', '-')}"
        response = gateway.create(task_type, {**body, "external_task_id": external})
        assert response.status_code == 200, (task_type, response.text)
        created[task_type] = response.json()["data"]["task_id"]
    jump(server, 1)
    for task_type, task_id in created.items():
        task = api.data(task_type, task_id)
        assert api.data(task_type, f"ext-{task_type.replace('/', '-')}")["task_id"] == task_id
        assert gateway.list(task_type).json()["data"][0]["task_id"] == task_id  # newest first
        assert task["task_status"] == "succeed", task_type
        assert tuple(sorted(set(task["task_result"]) - {"series_images"})) == RESULTS[task_type], task_type
        assert float(task["final_unit_deduction"]) > 0
        for url in _urls(task["task_result"]):
            response = requests.get(url, timeout=5)
            assert response.status_code == 200, url
            assert response.headers["Content-Type"] == CONTENT_TYPES[url[url.rindex(".") :]], url
    stats = server.stats()
    assert stats["creates"] == len(PATHS) + 1 and set(stats["units_charged_by_type"]) == set(PATHS)


def _urls(result: dict[str, Any]) -> list[str]:
    return [
        str(item[key])
        for items in result.values()
        for item in items
        for key in ("url", "url_mp3", "url_wav", "watermark_url")
        if key in item
    ]


def test_result_shapes(server: EmulatorServer, api: Api, video_id: str) -> None:
    bodies = valid_bodies(api, video_id)
    ids = {name: api.created_id(name, bodies[name]) for name in ("video-to-audio", "text-to-audio", "tts")}
    ids["omni-image"] = api.created_id("omni-image", bodies["omni-image"])
    ids["single"] = api.created_id("omni-image", {"prompt": "x"})
    ids["lip-sync"] = api.created_id("lip-sync", bodies["lip-sync"])
    jump(server, 1)
    result = api.data("video-to-audio", ids["video-to-audio"])["task_result"]
    [video], [audio] = result["videos"], result["audios"]
    assert video["duration"] == "5" and video["url"].endswith(f"/media/{ids['video-to-audio']}/0.mp4")
    assert set(audio) == {"id", "url_mp3", "url_wav", "duration_mp3", "duration_wav"}
    assert audio["duration_mp3"] == audio["duration_wav"] == "5"
    assert audio["url_mp3"].endswith("/0.mp3") and audio["url_wav"].endswith("/0.wav")
    assert (
        api.data("text-to-audio", ids["text-to-audio"])["task_result"]["audios"][0]["duration_wav"] == "4.5"
    )
    assert float(api.data("tts", ids["tts"])["task_result"]["audios"][0]["duration_mp3"]) >= 1
    series = api.data("omni-image", ids["omni-image"])["task_result"]
    assert [i["index"] for i in series["images"]] == [0, 1, 2] and series["series_images"] == series["images"]
    assert "series_images" not in api.data("omni-image", ids["single"])["task_result"]
    lip = api.data("lip-sync", ids["lip-sync"])
    assert lip["task_info"]["parent_video"]["id"] == video_id
    assert lip["task_result"]["videos"][0]["duration"] == "5"  # the source video's length


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/videos/avatar"),
        ("GET", "/v1/videos/avatar/image2video/1/more"),
        ("POST", "/v1/images/editing"),
        ("PUT", "/v1/images/editing/expand"),
        ("DELETE", "/kling/v1/audio/tts/1"),
        ("GET", "/v1/videos/identify-face"),
        ("POST", "/v1/audio/generations"),
        ("POST", "/v1/images/multi-elements/init-selection"),
    ],
)
def test_unknown_routes_answer_1202(api: Api, method: str, path: str) -> None:
    response = api.session.request(method, api.server.url + path, json={}, timeout=5)
    assert (response.status_code, response.json()["code"]) == (404, 1202)


def test_queries_match_the_type_path(api: Api) -> None:
    task_id = api.created_id("avatar/image2video", {"image": IMAGE_URL, "audio_id": "a1"})
    assert api.data("avatar/image2video", task_id)["task_id"] == task_id
    assert api.query("image2video", task_id).json()["code"] == 1203  # the same id under another type
    assert api.session.get(f"{api.server.url}/v1/videos/avatar/{task_id}", timeout=5).json()["code"] == 1202


VIDEO_IDS = "VIDEO_ID"  # replaced by a real video id in the test

INVALID = [
    ("lip-sync", {}, "input is required"),
    ("lip-sync", {"input": {"video_id": VIDEO_IDS}}, "input.mode is required"),
    (
        "lip-sync",
        {"input": {"mode": "text2video", "text": "x", "voice_id": "v"}},
        "input.video_id or input.video_url",
    ),
    (
        "lip-sync",
        {"input": {"video_id": VIDEO_IDS, "video_url": VIDEO_URL, "mode": "text2video"}},
        "input.video_id and input.video_url are mutually exclusive",
    ),
    (
        "lip-sync",
        {"input": {"video_id": "nope", "mode": "text2video"}},
        "input.video_id must be the id of a video",
    ),
    (
        "lip-sync",
        {"input": {"video_id": VIDEO_IDS, "mode": "text2video", "voice_id": "v"}},
        "input.text is required",
    ),
    (
        "lip-sync",
        {"input": {"video_id": VIDEO_IDS, "mode": "text2video", "text": "x" * 121, "voice_id": "v"}},
        "input.text must be at most 120 characters",
    ),
    ("lip-sync", {"input": {"video_url": VIDEO_URL, "mode": "audio2video"}}, "input.audio_type is required"),
    (
        "lip-sync",
        {"input": {"video_url": VIDEO_URL, "mode": "audio2video", "audio_type": "url"}},
        "input.audio_url is required when input.audio_type is url",
    ),
    (
        "lip-sync",
        {
            "input": {
                "video_url": VIDEO_URL,
                "mode": "text2video",
                "text": "x",
                "voice_id": "v",
                "voice_speed": 3,
            }
        },
        "input.voice_speed must be a number between 0.8 and 2",
    ),
    (
        "lip-sync",
        {"input": {"video_url": "ftp://x", "mode": "audio2video"}},
        "input.video_url must be an http(s)",
    ),
    ("effects", {"input": {"image": IMAGE_URL}}, "effect_scene is required"),
    ("effects", {"effect_scene": "hug"}, "input is required"),
    ("effects", {"effect_scene": "hug", "input": {"image": IMAGE_URL}}, "input.images must hold 2 images"),
    (
        "effects",
        {"effect_scene": "squish", "input": {"images": [IMAGE_URL]}},
        "input.image is required for the",
    ),
    ("effects", {"effect_scene": "new-scene", "input": {}}, "input.image or input.images is required"),
    (
        "effects",
        {"effect_scene": "x", "input": {"image": IMAGE_URL, "duration": "7"}},
        "input.duration must be",
    ),
    (
        "effects",
        {"effect_scene": "x", "input": {"images": [IMAGE_URL] * 3}},
        "input.images must be a list of 1 to 2",
    ),
    ("omni-video", {}, "prompt is required"),
    (
        "omni-video",
        {"prompt": "x", "model_name": "kling-v3"},
        "model_name 'kling-v3' is not a omni-video model",
    ),
    ("omni-video", {"prompt": "x", "duration": "15"}, '"3".."10" for kling-video-o1'),
    ("omni-video", {"prompt": "x", "mode": "4k"}, "mode '4k' is only offered by"),
    (
        "omni-video",
        {"prompt": "<<<image_2>>>", "image_list": [{"image_url": IMAGE_URL}]},
        "image_list has 1 item",
    ),
    (
        "omni-video",
        {"prompt": "<<<video_1>>>"},
        "prompt refers to <<<video_1>>> but video_list has 0 item(s)",
    ),
    (
        "omni-video",
        {"prompt": "x", "image_list": [{"type": "first_frame"}]},
        "image_list[0].image_url is required",
    ),
    (
        "omni-video",
        {"prompt": "x", "image_list": [{"image_url": IMAGE_URL, "type": "x"}]},
        "image_list[0].type",
    ),
    (
        "omni-video",
        {"prompt": "x", "video_list": [{"video_url": VIDEO_URL, "refer_type": "style"}]},
        "video_list[0].refer_type must be one of feature, base",
    ),
    ("motion-control", {"video_url": VIDEO_URL}, "image_url is required"),
    ("motion-control", {"image_url": IMAGE_URL}, "video_url is required"),
    (
        "motion-control",
        {"image_url": IMAGE_URL, "video_url": VIDEO_URL, "character_orientation": "left"},
        "character_orientation must be one of image, video",
    ),
    (
        "motion-control",
        {"image_url": IMAGE_URL, "video_url": VIDEO_URL, "model_name": "kling-v1"},
        "model_name 'kling-v1' is not a motion-control model",
    ),
    ("avatar/image2video", {"audio_id": "a"}, "image is required"),
    ("avatar/image2video", {"image": IMAGE_URL}, "audio_id or sound_file is required"),
    ("avatar/image2video", {"image": IMAGE_URL, "audio_id": "a", "sound_file": "s"}, "mutually exclusive"),
    (
        "avatar/image2video",
        {"image": IMAGE_URL, "audio_id": "a", "mode": "4k"},
        "mode must be one of std, pro",
    ),
    ("multi-elements", {"edit_mode": "removal", "prompt": "x"}, "session_id is required"),
    (
        "multi-elements",
        {"session_id": "123", "edit_mode": "removal", "prompt": "x"},
        "session_id is not a live",
    ),
    ("multi-elements", {"session_id": "1", "edit_mode": "paint", "prompt": "x"}, "edit_mode must be one of"),
    ("advanced-lip-sync", {"face_choose": [{"face_id": "f"}]}, "session_id is required"),
    ("advanced-lip-sync", {"session_id": "1", "face_choose": []}, "face_choose must be a list of at least 1"),
    (
        "advanced-lip-sync",
        {"session_id": "1", "face_choose": [{"face_id": "f", "audio_id": "a"}]},
        "not a live",
    ),
    ("multi-image2image", {"prompt": "x"}, "subject_image_list is required"),
    (
        "multi-image2image",
        {"subject_image_list": [{"subject_image": IMAGE_URL}] * 5},
        "subject_image_list must be a list of 1 to 4",
    ),
    ("multi-image2image", {"subject_image_list": [{}]}, "subject_image_list[0].subject_image is required"),
    (
        "multi-image2image",
        {"subject_image_list": [{"subject_image": IMAGE_URL}], "model_name": "kling-v1"},
        "model_name 'kling-v1' is not a multi-image2image model",
    ),
    ("multi-image2image", {"subject_image_list": [{"subject_image": IMAGE_URL}], "n": 10}, "n must be"),
    ("editing/expand", {"up_expansion_ratio": 1}, "image is required"),
    (
        "editing/expand",
        {"image": IMAGE_URL, "up_expansion_ratio": 2.5},
        "up_expansion_ratio must be a number",
    ),
    (
        "editing/expand",
        {"image": IMAGE_URL, "up_expansion_ratio": 1, "down_expansion_ratio": 1, "left_expansion_ratio": 1},
        "more than 3 times the original",
    ),
    ("omni-image", {}, "prompt is required"),
    ("omni-image", {"prompt": "x", "aspect_ratio": "5:4"}, "aspect_ratio must be one of"),
    ("omni-image", {"prompt": "x", "resolution": "8k"}, "resolution must be one of 1k, 2k, 4k"),
    ("omni-image", {"prompt": "<<<element_1>>>"}, "element_list has 0 item(s)"),
    ("text-to-audio", {"duration": 5}, "prompt is required"),
    ("text-to-audio", {"prompt": "x"}, "duration is required"),
    ("text-to-audio", {"prompt": "x" * 201, "duration": 5}, "prompt must be at most 200 characters"),
    (
        "text-to-audio",
        {"prompt": "x", "duration": 2.9},
        "duration must be a number of seconds from 3.0 to 10.0",
    ),
    ("text-to-audio", {"prompt": "x", "duration": 10.5}, "duration must be"),
    ("text-to-audio", {"prompt": "x", "duration": 5.25}, "with one decimal"),
    ("text-to-audio", {"prompt": "x", "duration": "five"}, "duration must be"),
    ("video-to-audio", {}, "video_id or video_url is required"),
    ("video-to-audio", {"video_id": "nope"}, "video_id must be the id of a video generated by an earlier"),
    ("video-to-audio", {"video_url": VIDEO_URL, "asmr_mode": "yes"}, "asmr_mode must be true or false"),
    ("video-to-audio", {"video_url": VIDEO_URL, "bgm_prompt": "x" * 201}, "bgm_prompt must be at most 200"),
    ("tts", {"voice_id": "v"}, "text is required"),
    ("tts", {"text": "x"}, "voice_id is required"),
    ("tts", {"text": "x" * 1001, "voice_id": "v"}, "text must be at most 1000 characters"),
    (
        "tts",
        {"text": "x", "voice_id": "v", "voice_speed": 0.5},
        "voice_speed must be a number between 0.8 and 2",
    ),
    ("tts", {"text": "x", "voice_id": "v", "voice_language": "fr"}, "voice_language must be one of zh, en"),
]


def _with_video(value: Any, video: str) -> Any:
    if isinstance(value, dict):
        return {key: _with_video(item, video) for key, item in value.items()}
    return video if value == VIDEO_IDS else value


@pytest.mark.parametrize(("task_type", "body", "expected"), INVALID)
def test_invalid_bodies_answer_1201_naming_the_field(
    api: Api, video_id: str, task_type: str, body: dict[str, Any], expected: str
) -> None:
    response = api.create(task_type, _with_video(body, video_id))
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["code"] == 1201 and expected in answer["message"], answer["message"]


def test_lip_sync_audio_and_effects_with_unknown_scene_are_accepted(api: Api) -> None:
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("lip-sync", {"input": {"video_url": VIDEO_URL, "mode": "audio2video", "audio_type": "file",
                                "audio_file": "UklGRg=="}}),
        ("lip-sync", {"input": {"video_url": VIDEO_URL, "mode": "audio2video", "audio_type": "url",
                                "audio_url": "https://example.com/a.mp3", "text": ""}}),
        ("effects", {"effect_scene": "brand-new-scene-2026", "input": {"image": IMAGE_URL, "mode": "pro"}}),
        ("effects", {"effect_scene": "brand-new-pair-scene", "input": {"images": [IMAGE_URL, IMAGE_URL]}}),
        ("omni-image", {"prompt": "x", "model_name": "kling-image-o1", "aspect_ratio": "auto",
                        "resolution": "4k", "element_list": [{"element_id": 7}]}),
        ("text-to-audio", {"prompt": "x", "duration": "3.5"}),
        ("video-to-audio", {"video_url": VIDEO_URL, "sound_effect_prompt": "", "bgm_prompt": None}),
    ]  # fmt: skip
    for task_type, body in bodies:
        response = api.create(task_type, body)
        assert response.status_code == 200, (task_type, response.text)


def test_fields_of_the_input_object_are_dotted() -> None:
    assert FIELDS["lip-sync"] == {
        "input",
        *(
            f"input.{name}"
            for name in (
                "video_id", "video_url", "mode", "text", "voice_id", "voice_language", "voice_speed",
                "audio_type", "audio_file", "audio_url",
            )
        ),
        "callback_url",
        "external_task_id",
    }  # fmt: skip
    assert FIELDS["effects"] == {
        "effect_scene", "input", "input.model_name", "input.mode", "input.image", "input.images",
        "input.duration", "callback_url", "external_task_id",
    }  # fmt: skip
    assert FIELDS["multi-elements"] == {
        "session_id", "edit_mode", "image_list", "prompt", "model_name", "callback_url", "external_task_id",
    }  # fmt: skip
    assert FIELDS["tts"] == {
        "text",
        "voice_id",
        "voice_language",
        "voice_speed",
        "callback_url",
        "external_task_id",
    }
