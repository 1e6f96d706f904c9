"""A sound bed for a generated video: ``video-to-audio`` scores the video (effects and music), and
``text-to-audio`` makes an extra sound effect to mix in; all files are kept.

``KlingVideoToAudioOperator`` returns the video with its new sound track, then the track alone (MP3; pass
``audio_format="wav"`` for WAV).
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import (
    KlingTextToAudioOperator,
    KlingTextToVideoOperator,
    KlingVideoToAudioOperator,
)

MEDIA_DIR = os.environ.get("KLING_MEDIA_DIR", "/tmp/kling-media")

with DAG(
    dag_id="example_kling_sound_bed",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kling", "example"],
) as dag:
    shore = KlingTextToVideoOperator(
        task_id="shore", prompt="Waves roll onto a rocky shore at dawn, gulls overhead", duration=5
    )
    scored = KlingVideoToAudioOperator(
        task_id="score",
        video_id="{{ ti.xcom_pull(task_ids='shore', key='kling_task')['task_result']['videos'][0]['id'] }}",
        sound_effect_prompt="waves breaking, wind, distant gulls",
        bgm_prompt="calm ambient pads, slow",
    )
    gulls = KlingTextToAudioOperator(task_id="gulls", prompt="A flock of seagulls calling", duration=5.0)

    @task
    def sound_bed_files(scored_urls: list[str], effect_urls: list[str]) -> list[str]:
        """The scored video and its track, then the extra effect."""
        return [*scored_urls, *effect_urls]

    shore >> scored
    KlingDownloadOperator(
        task_id="download",
        urls=sound_bed_files(scored.output, gulls.output),
        destination=MEDIA_DIR + "/{{ dag.dag_id }}/{{ run_id | replace(':', '-') | replace('+', '-') }}",
    )
