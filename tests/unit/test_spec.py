"""The spec's task-type table, id validation and how result URLs are read from a task object."""

from __future__ import annotations

import pytest

from airflow_provider_kling.checks import validate_task_id
from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.results import result_urls
from airflow_provider_kling.spec import TASK_TYPES, get_task_type


def test_table_maps_each_type_to_its_path_and_result_kinds():
    assert {name: (t.path, t.results) for name, t in TASK_TYPES.items()} == {
        "text2video": ("v1/videos/text2video", ("videos",)),
        "image2video": ("v1/videos/image2video", ("videos",)),
        "multi-image2video": ("v1/videos/multi-image2video", ("videos",)),
        "video-extend": ("v1/videos/video-extend", ("videos",)),
        "lip-sync": ("v1/videos/lip-sync", ("videos",)),
        "effects": ("v1/videos/effects", ("videos",)),
        "omni-video": ("v1/videos/omni-video", ("videos",)),
        "motion-control": ("v1/videos/motion-control", ("videos",)),
        "avatar/image2video": ("v1/videos/avatar/image2video", ("videos",)),
        "multi-elements": ("v1/videos/multi-elements", ("videos",)),
        "advanced-lip-sync": ("v1/videos/advanced-lip-sync", ("videos",)),
        "generations": ("v1/images/generations", ("images",)),
        "kolors-virtual-try-on": ("v1/images/kolors-virtual-try-on", ("images",)),
        "multi-image2image": ("v1/images/multi-image2image", ("images",)),
        "editing/expand": ("v1/images/editing/expand", ("images",)),
        "omni-image": ("v1/images/omni-image", ("images",)),
        "text-to-audio": ("v1/audio/text-to-audio", ("audios",)),
        "video-to-audio": ("v1/audio/video-to-audio", ("videos", "audios")),
        "tts": ("v1/audio/tts", ("audios",)),
    }


def test_default_timing_follows_how_long_a_type_takes():
    timing = {name: (t.initial_delay, t.poll_interval) for name, t in TASK_TYPES.items()}
    assert timing["text2video"] == (30, 14)
    assert timing["lip-sync"] == timing["omni-video"] == (60, 20)
    assert timing["generations"] == (8, 5)
    assert timing["tts"] == timing["text-to-audio"] == (3, 2)


@pytest.mark.parametrize("name", sorted(TASK_TYPES))
def test_typed_keyword_arguments_are_unique_and_nest_back_into_the_body(name):
    spec = get_task_type(name)
    assert len(set(spec.kwarg_names)) == len(spec.kwarg_names)
    assert "external_task_id" not in spec.kwarg_names
    flat = {kwarg: f"<{kwarg}>" for kwarg in spec.kwarg_names}
    body = spec.nest(flat)
    top = {f.name for f in spec.all_fields}
    assert set(body) <= top
    if spec.nested:
        assert isinstance(body[spec.nested], dict) and body[spec.nested]
        assert not set(body[spec.nested]) & set(body)


def test_lip_sync_arguments_go_into_klings_input_object():
    body = get_task_type("lip-sync").nest(
        {"video_id": "v", "mode": "text2video", "callback_url": "https://c"}
    )
    assert body == {"input": {"video_id": "v", "mode": "text2video"}, "callback_url": "https://c"}


@pytest.mark.parametrize("name", ["text-to-video", "", None, "videos", "avatar"])
def test_unknown_type_lists_the_valid_ones(name):
    with pytest.raises(
        KlingValidationError, match="task_type must be one of text2video, .*avatar/image2video"
    ):
        get_task_type(name)


@pytest.mark.parametrize("value", ["867283741759111202", "my-ext.id_1:a", "a" * 128])
def test_valid_ids(value):
    assert validate_task_id(value) == value


@pytest.mark.parametrize(
    "value", ["", "a" * 129, "../x", "a/b", "a?b=1", "a b", "..", ".", 867283741759111202]
)
def test_ids_that_could_escape_the_url_are_rejected(value):
    with pytest.raises(ValueError, match=r"kling_task_id must match"):
        validate_task_id(value, "kling_task_id")


def test_result_urls_are_videos_then_images_then_audio():
    task = {
        "task_result": {
            "audios": [{"id": "a", "url_mp3": "https://x/a.mp3", "url_wav": "https://x/a.wav"}],
            "images": [{"index": 0, "url": "https://x/0.png", "watermark_url": "https://x/w.png"}],
            "videos": [{"id": "v1", "url": "https://x/1.mp4"}, {"id": "v2", "url": "https://x/2.mp4"}],
            "series_images": [{"url": "https://x/s.png"}],
        }
    }
    assert result_urls(task) == ["https://x/1.mp4", "https://x/2.mp4", "https://x/0.png", "https://x/a.mp3"]
    assert result_urls(task, "wav")[-1] == "https://x/a.wav"


@pytest.mark.parametrize(
    "task",
    [
        {},
        {"task_result": {}},
        {"task_result": []},
        {"task_result": {"videos": {}}},
        {"task_result": {"videos": ["https://x/1.mp4", None, {"url": 5}, {"id": "no url"}]}},
        [],
        None,
    ],
)
def test_malformed_results_give_no_urls_and_no_error(task):
    assert result_urls(task) == []


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "file:///etc/passwd", "data:video/mp4;base64,AA", "http://", "//x/a.mp4"]
)
def test_only_web_urls_are_passed_on(url):
    task = {"task_result": {"videos": [{"url": url}, {"url": "https://cdn.example/ok.mp4"}]}}
    assert result_urls(task) == ["https://cdn.example/ok.mp4"]
