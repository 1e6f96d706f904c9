"""What a card shows, from stored values as tasks of any provider version wrote them (any Airflow)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from airflow_provider_kling.gallery.cards import (
    StoredFile,
    build_generation,
    decode_json,
    media_of,
    prompt_of,
    stored_files,
)

FINISHED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TASK = {
    "task_id": "867283741759111202",
    "task_status": "succeed",
    "task_status_msg": "",
    "created_at": 1772366400000,
    "updated_at": 1772366442500,
    "final_unit_deduction": "5",
    "task_result": {
        "videos": [{"id": "v1", "url": "https://cdn.example/v1.mp4", "duration": "5.1"}],
        "images": [
            {"index": 0, "url": "https://cdn.example/i0.png"},
            {"index": 1, "url": "javascript:alert(1)"},
        ],
        "audios": [
            {"id": "a1", "url_mp3": "https://cdn.example/a1.mp3", "url_wav": "https://cdn.example/a1.wav"}
        ],
    },
}


def card(kling_task: object, rendered: object = None, operator: str | None = None, **stored: StoredFile):
    return build_generation(
        dag_id="d",
        run_id="r",
        task_id="t",
        map_index=-1,
        try_number=1,
        finished_at=FINISHED,
        kling_task=kling_task,
        rendered_fields=rendered,
        operator=operator,
        stored=stored,
    )


def test_values_stored_as_json_text_are_read_like_json() -> None:
    assert decode_json('{"a": 1}') == {"a": 1} and decode_json(b"[1]") == [1]
    assert decode_json("not json") == "not json" and decode_json({"a": 1}) == {"a": 1}
    assert card(json.dumps(TASK)) == card(TASK)


def test_media_in_klings_order_with_only_web_urls() -> None:
    kept = StoredFile("/media/v1.mp4", 100, "ab" * 32, "download", -1, 0)
    media = media_of(TASK, {"https://cdn.example/v1.mp4": kept})
    assert [(m.kind, m.url, m.stored) for m in media] == [
        ("video", "https://cdn.example/v1.mp4", kept),
        ("image", "https://cdn.example/i0.png", None),  # javascript: is never put in a src
        ("audio", "https://cdn.example/a1.mp3", None),
    ]
    broken = {"task_result": {"videos": [None, "x", {"url": 7}], "images": {"url": "https://x/y.png"}}}
    assert media_of(broken, {}) == [] and media_of({"task_result": []}, {}) == []


def test_a_download_return_value_names_the_kept_files() -> None:
    value = [
        {"url": "https://cdn.example/v1.mp4", "path": "/m/v1.mp4", "bytes": 10, "sha256": "f" * 64},
        {"url": "file:///etc/passwd", "path": "/etc/passwd", "bytes": 1, "sha256": "0" * 64},
        {"url": "https://cdn.example/i0.png", "path": "", "bytes": 1},
        {"url": "https://cdn.example/a1.mp3", "path": "s3://bucket/a1.mp3", "bytes": True},
        "not an entry",
    ]
    files = stored_files("keep", 2, json.dumps(value))
    assert files == {
        "https://cdn.example/v1.mp4": StoredFile("/m/v1.mp4", 10, "f" * 64, "keep", 2, 0),
        "https://cdn.example/a1.mp3": StoredFile("s3://bucket/a1.mp3", None, None, "keep", 2, 3),
    }
    assert stored_files("keep", -1, {"url": "https://x/y"}) == {} and stored_files("keep", -1, None) == {}


def test_the_prompt_is_what_was_asked_for() -> None:
    assert prompt_of({"prompt": "  a boat  ", "text": "ignored"}) == "a boat"
    assert prompt_of({"text": "Hello there"}) == "Hello there"  # tts
    assert prompt_of({"input": {"mode": "text2video", "text": "Say hi"}}) == "Say hi"  # lip-sync
    shots = [{"index": 1, "prompt": "wide shot"}, {"index": 2, "prompt": " "}, {"prompt": "close-up"}]
    assert prompt_of({"multi_prompt": shots, "prompt": ""}) == "wide shot / close-up"
    assert prompt_of({"bgm_prompt": "calm piano"}) == "calm piano"
    assert prompt_of({"image": "https://x/y.png"}) is None


def test_a_card_from_a_typed_operator_whose_rendered_fields_were_pruned() -> None:
    generation = card(TASK, None, "KlingTextToVideoOperator")
    assert (generation.task_type, generation.model, generation.prompt) == ("text2video", None, None)
    assert generation.kling_task_id == "867283741759111202" and generation.status == "succeed"
    assert generation.units == 5.0 and generation.seconds == 42.5
    assert generation.created_at == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert generation.finished_at == FINISHED and len(generation.media) == 3


def test_a_card_from_the_rendered_request() -> None:
    rendered = {
        "kling_task_type": "image2video",
        "payload": json.dumps({"prompt": "The boat sails off", "model_name": "kling-v3", "image": "…"}),
    }
    generation = card(TASK, json.dumps(rendered), "KlingCreateTaskOperator")
    assert (generation.task_type, generation.model, generation.prompt) == (
        "image2video",
        "kling-v3",
        "The boat sails off",
    )
    truncated = {"payload": "Truncated. You can change this behaviour in [core]max_templated_field_length."}
    assert card(TASK, truncated, "KlingImageToVideoOperator").prompt is None


def test_a_failed_generation_shows_klings_reason_and_a_malformed_one_shows_nothing_wrong() -> None:
    failed = {**TASK, "task_status": "failed", "task_status_msg": "Image pixel is invalid", "task_result": {}}
    failed["final_unit_deduction"] = "0"
    generation = card(failed)
    assert (generation.status, generation.status_msg, generation.media, generation.units) == (
        "failed",
        "Image pixel is invalid",
        [],
        0.0,
    )
    for garbage in (None, [], "{", {"task_id": ["x"], "created_at": "yesterday", "task_status": 3}):
        generation = card(garbage, "also garbage", "SomeOtherOperator")
        assert generation.status == "unknown" and generation.kling_task_id is None
        assert generation.media == [] and generation.created_at is None and generation.task_type is None
