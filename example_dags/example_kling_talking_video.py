"""Text -> speech -> lip-sync: a generated presenter speaks a generated voice-over.

``KlingTextToSpeechOperator`` returns the voice-over's MP3 URL; ``KlingLipSyncOperator`` makes the face of the
generated video speak it (``mode="audio2video"`` with ``audio_url``), and the result is kept on disk.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import (
    KlingLipSyncOperator,
    KlingTextToSpeechOperator,
    KlingTextToVideoOperator,
)

MEDIA_DIR = os.environ.get("KLING_MEDIA_DIR", "/tmp/kling-media")
# The id of the presenter's video (lip-sync takes a Kling video id or a URL).
PRESENTER_VIDEO_ID = (
    "{{ ti.xcom_pull(task_ids='presenter', key='kling_task')['task_result']['videos'][0]['id'] }}"
)

with DAG(
    dag_id="example_kling_talking_video",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kling", "example"],
) as dag:
    presenter = KlingTextToVideoOperator(
        task_id="presenter",
        prompt="A news presenter looks into the camera in a bright studio, medium shot, calm expression",
        model_name="kling-v2-6",
        duration=5,
    )
    voice_over = KlingTextToSpeechOperator(
        task_id="voice_over",
        text="Good evening. Here is what our pipeline made today.",
        voice_id="genshin_vindi2",
        voice_language="en",
        voice_speed=1.0,
    )
    talking = KlingLipSyncOperator(
        task_id="lip_sync",
        video_id=PRESENTER_VIDEO_ID,
        mode="audio2video",
        audio_type="url",
        audio_url="{{ ti.xcom_pull(task_ids='voice_over')[0] }}",
    )
    (
        [presenter, voice_over]
        >> talking
        >> KlingDownloadOperator(
            task_id="download",
            urls=talking.output,
            destination=MEDIA_DIR + "/{{ dag.dag_id }}/{{ run_id | replace(':', '-') | replace('+', '-') }}",
        )
    )
