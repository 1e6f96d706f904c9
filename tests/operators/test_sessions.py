"""The two-step flows end to end under ``dag.test()`` against the emulator, and idempotent under a retry: a
live session is reused (no second identify-face or init-selection, no repeated add-selection) and one Kling
task is created."""

from __future__ import annotations

import pytest

from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.operators.sessions import KlingAdvancedLipSyncOperator, KlingMultiElementsOperator

#: A harmless one-shot entry: it only lets one create-scope request (a session step) pass before the next.
PASS = {"delay": 0.01, "scope": "create"}
ACCOUNT_ERROR = {"code": 1102, "scope": "create"}


def test_both_flows_run_end_to_end(emulator, kling_conn, run_dag_file):
    result = run_dag_file("kling_sessions")
    assert result.state == "success"
    stats = emulator.stats()
    assert stats["sessions_created"] == {"identify-face": 1, "multi-elements": 1}
    assert stats["selection_calls"] == {"add-selection": 1}
    task = result.xcom("lip_sync", key="kling_task")
    assert task["task_status"] == "succeed"
    assert result.xcom("lip_sync")[0].endswith(".mp4") and result.xcom("elements")[0].endswith(".mp4")
    assert result.ti("lip_sync").try_number == 1


def test_a_retry_reuses_the_session_and_its_selections(emulator, kling_conn, run_dag_file):
    # video, voice: 2 creates pass; identify-face passes and advanced-lip-sync fails (a person must act);
    # init-selection and add-selection pass and multi-elements fails. Each retry must create only the task.
    emulator.configure(
        fail_requests=[PASS, PASS, PASS, ACCOUNT_ERROR, PASS, PASS, ACCOUNT_ERROR],
    )
    result = run_dag_file("kling_sessions")
    assert result.state == "success"
    assert (result.ti("lip_sync").try_number, result.ti("elements").try_number) == (2, 2)
    stats = emulator.stats()
    assert stats["sessions_created"] == {"identify-face": 1, "multi-elements": 1}
    assert stats["selection_calls"] == {"add-selection": 1}
    assert stats["creates"] == 4  # video, voice, lip-sync, multi-elements: no task twice


@pytest.mark.parametrize(
    ("operator", "kwargs", "message"),
    [
        (KlingAdvancedLipSyncOperator, {"audio_id": "a"}, "set exactly one of video_id, video_url"),
        (KlingAdvancedLipSyncOperator, {"video_id": "v"}, "set exactly one of audio_id, sound_file"),
        (
            KlingAdvancedLipSyncOperator,
            {"video_id": "v", "audio_id": "a", "sound_volume": "loud"},
            "face_choose[].sound_volume must be a number",
        ),
        (
            KlingAdvancedLipSyncOperator,
            {"session_id": "s", "video_url": "https://x/v.mp4", "audio_id": "a"},
            "leave them out when session_id is set",
        ),
        (
            KlingAdvancedLipSyncOperator,
            {"video_id": "v", "audio_id": "a", "face_ids": "f1"},
            "face_ids must be",
        ),
        (KlingMultiElementsOperator, {"edit_mode": "removal"}, "set exactly one of video_id, video_url"),
        (KlingMultiElementsOperator, {"video_id": "v"}, "edit_mode is required"),
        (
            KlingMultiElementsOperator,
            {
                "video_id": "v",
                "edit_mode": "removal",
                "selections": [{"frame_index": 0, "points": [{"x": 2}]}],
            },
            "selections[0].points[0].x must be a number from 0 to 1",
        ),
        (
            KlingMultiElementsOperator,
            {"video_id": "v", "edit_mode": "removal", "selections": [{"points": []}]},
            "selections[0].points must have 1 or more items",
        ),
    ],
)
def test_session_arguments_are_refused_when_the_dag_is_parsed(
    emulator, kling_conn, operator, kwargs, message
):
    with pytest.raises(KlingValidationError) as refused:
        operator(task_id="t", **kwargs)
    assert message in str(refused.value)
    assert emulator.stats()["requests_total"] == 0
