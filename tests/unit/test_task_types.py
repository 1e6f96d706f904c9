"""The task-type table, id validation and result extraction."""

from __future__ import annotations

import pytest

from airflow_provider_kling.task_types import TASK_TYPES, get_task_type, result_urls, validate_task_id


def test_table_maps_each_type_to_its_action_and_result_kind():
    assert {name: (t.action, t.result_kind) for name, t in TASK_TYPES.items()} == {
        "text2video": ("videos", "videos"),
        "image2video": ("videos", "videos"),
        "multi-image2video": ("videos", "videos"),
        "video-extend": ("videos", "videos"),
        "generations": ("images", "images"),
        "kolors-virtual-try-on": ("images", "images"),
    }
    assert get_task_type("kolors-virtual-try-on").path == "v1/images/kolors-virtual-try-on"


@pytest.mark.parametrize("name", ["text-to-video", "", None, "videos"])
def test_unknown_type_lists_the_valid_ones(name):
    with pytest.raises(
        ValueError, match="task_type must be one of text2video, image2video, .*kolors-virtual-try-on"
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


def test_result_urls_follow_kind_and_order():
    task = {
        "task_result": {
            "videos": [{"id": "v1", "url": "https://x/1.mp4"}, {"id": "v2", "url": "https://x/2.mp4"}],
            "images": [{"index": 0, "url": "https://x/0.png"}],
        }
    }
    assert result_urls("text2video", task) == ["https://x/1.mp4", "https://x/2.mp4"]
    assert result_urls("generations", task) == ["https://x/0.png"]
    assert result_urls("image2video", {"task_result": {}}) == []
    assert result_urls("image2video", {}) == []
