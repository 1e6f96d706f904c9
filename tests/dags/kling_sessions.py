"""The two-step flows in one DAG: a source video and a TTS voice, then advanced lip-sync (identify-face →
advanced-lip-sync) and multi-elements (init-selection → add-selection → multi-elements), each one Airflow task
with one retry allowed."""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingTextToSpeechOperator, KlingTextToVideoOperator
from airflow_provider_kling.operators.sessions import KlingAdvancedLipSyncOperator, KlingMultiElementsOperator

VIDEO_ID = "{{ ti.xcom_pull(task_ids='video', key='kling_task')['task_result']['videos'][0]['id'] }}"
AUDIO_ID = "{{ ti.xcom_pull(task_ids='voice', key='kling_task')['task_result']['audios'][0]['id'] }}"

with DAG(
    "kling_sessions",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    default_args={"initial_delay": 0, "poll_interval": 0.2, "retries": 1, "retry_delay": 0},
) as dag:
    video = KlingTextToVideoOperator(task_id="video", prompt="Two friends talk on a bench", duration=5)
    voice = KlingTextToSpeechOperator(task_id="voice", text="Good morning!", voice_id="genshin_vindi2")
    lip_sync = KlingAdvancedLipSyncOperator(
        task_id="lip_sync", video_id=VIDEO_ID, audio_id=AUDIO_ID, sound_insert_time=0
    )
    elements = KlingMultiElementsOperator(
        task_id="elements",
        video_id=VIDEO_ID,
        selections=[{"frame_index": 0, "points": [{"x": 0.5, "y": 0.4}]}],
        edit_mode="removal",
        prompt="Remove the hat",
    )
    [video, voice] >> lip_sync >> elements
