"""Every Kling task type through its typed operator, end to end: create, a deferred wait, the result URLs in
XCom, and a download of each result into ``params.media_dir/<task id>/``."""

from __future__ import annotations

import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators import kling as operators
from airflow_provider_kling.operators import sessions
from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.spec import TASK_TYPES
from tests.validation.cases import typed_kwargs, valid_cases, with_video_id

VIDEO_ID = "{{ ti.xcom_pull(task_ids='video', key='kling_task')['task_result']['videos'][0]['id'] }}"
AUDIO_ID = "{{ ti.xcom_pull(task_ids='tts', key='kling_task')['task_result']['audios'][0]['id'] }}"
#: The session types' arguments: they open their session themselves.
SESSION_KWARGS: dict[str, dict[str, Any]] = {
    "advanced-lip-sync": {"video_id": VIDEO_ID, "audio_id": AUDIO_ID},
    "multi-elements": {
        "video_id": VIDEO_ID,
        "selections": [{"frame_index": 0, "points": [{"x": 0.5, "y": 0.5}]}],
        "edit_mode": "removal",
        "prompt": "Remove the umbrella",
    },
}


def task_id(task_type: str) -> str:
    return task_type.replace("/", "_").replace("-", "_")


with DAG(
    "kling_every_task_type",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    default_args={"initial_delay": 0, "poll_interval": 0.2},
    params={"media_dir": "/tmp/kling-every-task-type"},
) as dag:
    video = operators.KlingTextToVideoOperator(task_id="video", prompt="A walk in the rain", duration=5)
    first = {case.task_type: case for case in reversed(valid_cases())}
    generated = {"text2video": video}
    for name, spec in TASK_TYPES.items():
        if name != "text2video":
            cls = getattr(operators, spec.operator, None) or getattr(sessions, spec.operator)
            kwargs = SESSION_KWARGS.get(name) or typed_kwargs(name, with_video_id(first[name].body, VIDEO_ID))
            generated[name] = cls(task_id=task_id(name), **kwargs)
    for name, generate in generated.items():
        generate >> KlingDownloadOperator(
            task_id=f"download_{generate.task_id}",
            urls=generate.output,
            destination="{{ params.media_dir }}/" + task_id(name),
        )
        if name not in ("text2video", "tts"):
            video >> generate
    generated["tts"] >> generated["advanced-lip-sync"]
