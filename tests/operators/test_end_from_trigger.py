"""``end_from_trigger=True``: the arguments, and a run under ``dag.test()`` (whose inline triggers hand the
end event back to the task: one query recovers the result). The path through a real triggerer, where no
worker resumes the task, runs in tests/e2e/distributed (scenario 1 counts the worker runs)."""

from __future__ import annotations

import pytest

from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.operators.kling import KlingTextToVideoOperator
from airflow_provider_kling.sensors.kling import KlingTaskSensor


def test_a_dag_test_run_ends_with_the_same_xcoms(emulator, kling_conn, run_dag_file):
    emulator.configure(task_duration=2)  # every wait defers
    result = run_dag_file("kling_end_from_trigger")

    assert result.state == "success"
    images_id, video_id = str(result.xcom("images", "kling_task_id")), str(result.xcom("submit"))
    images, video = emulator.task(images_id), emulator.task(video_id)
    assert result.xcom("images") == [image["url"] for image in images["task_result"]["images"]]
    assert result.xcom("images", "kling_task") == images
    assert result.xcom("images", "kling_units") == float(images["final_unit_deduction"])
    assert result.xcom("wait") == [video["task_result"]["videos"][0]["url"]]
    assert result.xcom("wait", "kling_task") == video
    # Each wait's end event came back to its task, which looked its task up once more: the operator polled
    # in the trigger and then once; the sensor checked before deferring too.
    queries = emulator.stats()["queries_by_task"]
    assert queries[images_id] >= 2 and queries[video_id] >= 3


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_end_from_trigger_must_be_a_bool(emulator, kling_conn, value):
    message = f"^end_from_trigger must be True or False; got {value!r}$"
    with pytest.raises(KlingValidationError, match=message):
        KlingTextToVideoOperator(task_id="t", prompt="x", end_from_trigger=value)
    with pytest.raises(KlingValidationError, match="^end_from_trigger must be True or False"):
        KlingTaskSensor(task_id="s", kling_task_id="1", task_type="text2video", end_from_trigger=value)
    assert emulator.stats()["requests_total"] == 0


def test_end_from_trigger_is_refused_with_outlets(emulator, kling_conn):
    from airflow.providers.common.compat.sdk import Asset

    message = "^end_from_trigger must be False when the task has outlets"
    with pytest.raises(KlingValidationError, match=message):
        KlingTextToVideoOperator(task_id="t", prompt="x", end_from_trigger=True, outlets=[Asset("videos")])
    KlingTextToVideoOperator(task_id="u", prompt="x", outlets=[Asset("videos")])  # the default is fine
